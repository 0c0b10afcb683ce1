"""The docs that map the project stay true to it (no database).

- Every `tests/<file>.py::<name>` in docs/requirements.md names a test function that exists.
- docs/migrations.md has exactly one row per migration file, so a new migration needs its row.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

from socialdb.scripts.files import default_directory

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "docs" / "requirements.md"
MIGRATIONS_DOC = ROOT / "docs" / "migrations.md"

# tests/<path>.py::<name>, or tests/<path>.py::<Class>::<name>; a [param] suffix is not part of the name.
TEST_REFERENCE = re.compile(r"\b(tests/[\w/]+\.py)((?:::\w+)+)")
MIGRATION_FILE = re.compile(r"^(\d+)-[^/]+\.sql$")


def migrations_directory() -> Path:
    """The packaged migrations folder, wherever the package keeps it."""
    return default_directory()


def defined_functions(path: Path) -> set[tuple[str, ...]]:
    """Module-level test functions as (name,), methods as (name,) and (class, name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[tuple[str, ...]] = set()
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    for node in tree.body:
        if isinstance(node, functions):
            names.add((node.name,))
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, functions):
                    names.add((item.name,))
                    names.add((node.name, item.name))
    return names


def test_every_test_named_in_the_requirements_exists() -> None:
    references = TEST_REFERENCE.findall(REQUIREMENTS.read_text(encoding="utf-8"))
    assert references, f"{REQUIREMENTS.name} names no test"
    missing: list[str] = []
    cache: dict[str, set[tuple[str, ...]]] = {}
    for file, name in references:
        path = ROOT / file
        parts = tuple(name.split("::")[1:])
        if not path.is_file():
            missing.append(f"{file}{name}: no such file")
            continue
        if file not in cache:
            cache[file] = defined_functions(path)
        if parts not in cache[file]:
            missing.append(f"{file}{name}: no such test function")
    assert missing == []


def migration_rows(text: str) -> list[tuple[str, str]]:
    """(version, file) of every table row whose first cell is a version number."""
    rows: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].isdigit():
            rows.append((cells[0], cells[1].strip("`")))
    return rows


def test_every_migration_has_exactly_one_row() -> None:
    directory = migrations_directory()
    files = sorted(path.name for path in directory.glob("*.sql"))
    assert files, f"no migrations in {directory}"
    rows = migration_rows(MIGRATIONS_DOC.read_text(encoding="utf-8"))
    named = [file for _, file in rows]
    assert [file for file, count in Counter(named).items() if count > 1] == [], "a file has two rows"
    assert sorted(set(files) - set(named)) == [], f"migrations without a row in {MIGRATIONS_DOC.name}"
    assert sorted(set(named) - set(files)) == [], f"rows in {MIGRATIONS_DOC.name} for no file in {directory}"
    for version, file in rows:
        match = MIGRATION_FILE.match(file)
        assert match is not None and int(match.group(1)) == int(version), f"row {version} names {file}"
