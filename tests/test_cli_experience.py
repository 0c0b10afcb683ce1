"""The CLI as people expect it (issue 14): every command's --help shows an example; `migrate up`
draws its progress on a terminal, writes plain lines elsewhere or with --no-color / NO_COLOR,
and ends with a summary."""

from __future__ import annotations

import inspect
import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest
from typer.core import TyperGroup as Group
from typer.testing import CliRunner

from socialdb.cli import app
from tests.helpers import LATEST, cli_commands

MODULES = ["migrate", "lint", "seed", "tokens", "summary", "database", "bench", "schema", "citus"]
SUMMARY = re.compile(r"\d+ migration\(s\) applied in \d+\.\d s")


def _commands() -> list[list[str]]:
    """Every runnable command, as its words (`["migrate", "up"]`), groups left out."""
    return [words for words, command in cli_commands() if not isinstance(command, Group)]


def test_every_commands_help_shows_an_example() -> None:
    commands = _commands()
    assert ["migrate", "up"] in commands and ["schema", "diff"] in commands and len(commands) >= 20
    missing = []
    for words in commands:
        result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (words, result.output)
        if "Example: " not in result.stdout:
            missing.append(" ".join(words))
    assert missing == []


def test_help_text_keeps_its_brackets_and_its_paragraphs_unbroken() -> None:
    """Rich reads `[...]` as markup (escape it: `\\[`), and keeps a paragraph's line breaks after
    the first paragraph: a hard-wrapped docstring prints lines broken mid-sentence."""
    broken: list[str] = []
    unescaped: list[str] = []
    for path, command in cli_commands():
        words = " ".join(path)
        paragraphs = inspect.cleandoc(command.help or "").split("\n\n")
        broken.extend(words for p in paragraphs[1:] if "\n" in p and not p.startswith("\b"))
        texts = [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
        unescaped.extend(words for t in texts if re.search(r"(?<!\\)\[[a-z]", t))
    assert broken == [] and unescaped == []
    down = CliRunner().invoke(app, ["migrate", "down", "--help"], env={"COLUMNS": "200"})
    assert "[default: 1]" in down.stdout


def test_up_writes_plain_lines_and_a_summary_when_not_on_a_terminal(empty_db_url: str) -> None:
    result = CliRunner().invoke(app, ["migrate", "up", "--database-url", empty_db_url], env={"DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "\x1b" not in result.stdout
    assert lines[0] == "applying 001-create-users-table.sql" and SUMMARY.fullmatch(lines[-1])
    assert lines[-1].startswith(f"{LATEST} migration(s) applied in ")


def _on_a_terminal(args: list[str], env: dict[str, str], timeout_s: float = 120) -> str:
    """Run `python -m socialdb ARGS` with a pseudo-terminal as its output; everything it wrote."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "socialdb", *args], stdout=follower, stderr=follower, env=env, close_fds=True
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # the terminal closed: the process ended
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        else:
            raise AssertionError(f"{args} still running after {timeout_s} s")
        assert proc.wait(timeout=30) == 0, b"".join(chunks).decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(leader)
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.processes
@pytest.mark.parametrize("plain", [None, "NO_COLOR", "--no-color"])
def test_up_draws_progress_on_a_terminal_unless_asked_not_to(empty_db_url: str, plain: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NO_COLOR")}
    env |= {"TERM": "xterm-256color", "COLUMNS": "120", **({"NO_COLOR": "1"} if plain == "NO_COLOR" else {})}
    extra = ["--no-color"] if plain == "--no-color" else []
    out = _on_a_terminal(["migrate", "up", "--database-url", empty_db_url, *extra], env)
    lines = [line.strip() for line in out.replace("\r", "\n").splitlines() if line.strip()]
    assert SUMMARY.fullmatch(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", lines[-1])), lines[-3:]
    assert f"applied {LATEST:03d}-" in out
    if plain is None:
        assert "\x1b[" in out and f"/{LATEST}" in out  # the live line: cursor control and "done/total"
    else:
        assert "\x1b[" not in out and "applying 001-create-users-table.sql" in lines
