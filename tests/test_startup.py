"""Start-up (issue 15): `socialdb --version`, `--help` and `lint` load no database driver;
a command group's module is loaded only when one of its commands runs."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import socialdb
from socialdb.cli import app
from socialdb.cli.common import lazy_commands
from tests.helpers import cli_commands

ROOT = Path(__file__).parent.parent
DRIVERS = ["psycopg", "psycopg_binary", "socialdb.db"]
_RUN = """
import sys
sys.argv = ["socialdb", *sys.argv[1:]]
try:
    from socialdb.cli import main
    main()
except SystemExit:
    pass
print("\\nLOADED", " ".join(sys.modules))
"""


def start(*args: str) -> tuple[str, set[str]]:
    """`socialdb ARGS` in a fresh interpreter: its output, and every module it had loaded at the end."""
    done = subprocess.run([sys.executable, "-c", _RUN, *args], capture_output=True, text=True, timeout=120, check=True)
    out, _, loaded = done.stdout.rpartition("\nLOADED ")
    return out, set(loaded.split())


def _under(loaded: set[str], names: list[str]) -> list[str]:
    return sorted(n for n in names if n in loaded or any(m.startswith(f"{n}.") for m in loaded))


def test_version_prints_the_packages_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"socialdb {socialdb.__version__}\n")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert socialdb.__version__ == project["version"]


@pytest.mark.processes
@pytest.mark.parametrize("args", [["--version"], ["--help"], ["lint", "--help"]], ids=" ".join)
def test_version_and_help_load_no_database_driver_nor_any_command(args: list[str]) -> None:
    out, loaded = start(*args)
    assert out.strip()
    assert _under(loaded, DRIVERS) == []
    commands = {module for module, _ in lazy_commands().values()}
    if args[0] == "lint":
        commands.discard("socialdb.cli.lint")
    assert _under(loaded, sorted(commands)) == []


@pytest.mark.processes
def test_lint_runs_without_a_database_driver() -> None:
    out, loaded = start("lint")
    assert out.strip().splitlines()[-1].endswith("waived")
    assert _under(loaded, DRIVERS) == []


@pytest.mark.processes
def test_a_command_still_runs_when_its_module_was_not_loaded_first() -> None:
    out, loaded = start("migrate", "new", "--help")
    assert "Create the next migration file" in out
    assert "socialdb.cli.migrate" in loaded and "socialdb.cli.tokens" not in loaded


@pytest.mark.processes
def test_root_help_reads_the_same_before_and_after_the_commands_load() -> None:
    # Listed unloaded, each command shows its registered line; loaded, its own help's first paragraph.
    modules = sorted({module for module, _ in lazy_commands().values()})
    loading = "".join(f"import {module}\n" for module in modules)
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    outputs = []
    for script in (_RUN, loading + _RUN):
        done = subprocess.run(
            [sys.executable, "-c", script, "--help"], capture_output=True, text=True, timeout=120, env=env
        )
        out, _, loaded = done.stdout.rpartition("\nLOADED ")
        outputs.append((out, _under(set(loaded.split()), modules)))
    (before, none), (after, every) = outputs
    assert (none, every) == ([], modules)
    assert "migrate" in before and sorted(before.splitlines()) == sorted(after.splitlines())  # in load order


def test_every_command_and_group_has_a_help_line_that_is_not_another_ones() -> None:
    seen: dict[str, str] = {}
    for words, command in cli_commands():
        line = (command.help or "").split("\n\n")[0].strip()
        assert line and line not in seen, f"{' '.join(words)}: help {line!r}, as {seen.get(line)!r}"
        seen[line] = " ".join(words)
    assert len(seen) >= 30


def test_usage_errors_still_name_and_suggest_commands_not_loaded_yet() -> None:
    result = CliRunner().invoke(app, ["migarte"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: No such command 'migarte'. Did you mean 'migrate'?"
    # A group's commands are built when asked for; a typo of one is still suggested.
    for words, suggestion in [(["migrate", "upp"], "up"), (["db", "bootstrp"], "bootstrap")]:
        result = CliRunner().invoke(app, words)
        assert result.exit_code == 2
        assert result.stderr.strip() == f"error: No such command {words[1]!r}. Did you mean {suggestion!r}?"


_BUILT = """
import sys
import typer.main
built = []
original = typer.main.get_command_from_info
def spy(*args, **settings):
    built.append((args[0] if args else settings["command_info"]).name)
    return original(*args, **settings)
typer.main.get_command_from_info = spy
sys.argv = ["socialdb", *sys.argv[1:]]
from socialdb.cli import main
try:
    main()
except SystemExit:
    pass
print("\\nBUILT", " ".join(map(str, built)))
"""


@pytest.mark.processes
def test_a_command_of_a_group_is_built_alone() -> None:
    """Typer builds a command from its function's signature; building all ten of `migrate`'s was
    a fifth of a no-op `migrate up` (docs/performance.md): only the one that runs is built."""
    done = subprocess.run(
        [sys.executable, "-c", _BUILT, "migrate", "new", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.rpartition("\nBUILT ")[2].split() == ["new"]
