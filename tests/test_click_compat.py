"""The CLI's one door to Typer's private, vendored Click (socialdb/cli/click_compat.py, issue 25).

When a Typer upgrade moves what the door imports, these tests fail naming the name and the Typer
version, before a user meets a broken `socialdb`; and no other module may open a second door.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
import typer
from typer.core import TyperCommand, TyperGroup
from typer.testing import CliRunner

import socialdb
from socialdb.cli import app, click_compat

PACKAGE = Path(socialdb.__file__).parent
PRIVATE = "typer._click"


def _private_imports(path: Path) -> list[str]:
    """Each import of typer._click (or of a module under it) in `path`, at any depth of the code."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        found += [n for n in names if n == PRIVATE or n.startswith(f"{PRIVATE}.")]
    return found


@pytest.mark.parametrize("name", click_compat.__all__)
def test_typer_still_has_what_the_door_imports(name: str) -> None:
    origins = {"Command": "core", "Context": "core", "ClickException": "exceptions", "NoArgsIsHelpError": "exceptions"}
    module = importlib.import_module(f"{PRIVATE}.{origins[name]}")
    assert hasattr(module, name), f"typer {typer.__version__} moved {PRIVATE}.{origins[name]}.{name}: fix click_compat"


def test_the_door_fits_what_typer_builds_on_it() -> None:
    # The root group overrides Click's methods and catches Click's usage errors: same classes as Typer's own.
    assert issubclass(TyperGroup, click_compat.Command) and issubclass(TyperCommand, click_compat.Command)
    assert issubclass(typer.BadParameter, click_compat.ClickException)
    assert issubclass(click_compat.NoArgsIsHelpError, click_compat.ClickException)
    root = typer.main.get_command(app)
    assert isinstance(root.make_context("socialdb", ["--help"], resilient_parsing=True), click_compat.Context)


def test_a_usage_error_is_still_one_line_and_no_args_still_shows_the_help() -> None:
    result = CliRunner().invoke(app, ["migrate", "up", "--lock-retries", "zero"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 2 and "Usage: " in result.output and "migrate" in result.output


def test_no_other_module_imports_typers_private_click() -> None:
    door = PACKAGE / "cli" / "click_compat.py"
    assert _private_imports(door), "the door itself no longer imports typer._click: update this test"
    others = {str(p.relative_to(PACKAGE)): _private_imports(p) for p in PACKAGE.rglob("*.py") if p != door}
    assert {path: names for path, names in others.items() if names} == {}
