"""The numbers and the map the docs give are today's (no database).

- Every "N tables" / "N-table" of ten or more in README.md and docs/*.md is the schema's table
  count (docs/schema/schema.sql), or says whose tables it counts: "the spec's" (the spec's
  schema, src/socialdb/bench/spec_schema). Smaller numbers count a few tables of a sentence
  ("a `user_id` column on five tables"), not the schema, and are left alone.
- Every "N migrations" / "N-migrations" of ten or more is the number of migration files (or is
  said without a number); "29 migration(s) applied", a command's output, is not a claim.
- docs/runner.md's file map, "Where things are", names every module and package under
  src/socialdb, and nothing that is not there.

docs/decisions.md and docs/performance.md record history (their numbers are those of their
day) and docs/schema is generated: none of them is read here (tests/test_docs.py checks the
statuses of docs/decisions.md and its index of the rules in force).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from socialdb.scripts.files import default_directory
from tests.helpers import LOOKUP_TABLES, SUMMARY_TABLES, TABLES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SRC = ROOT / "src" / "socialdb"
SCHEMA_SQL = DOCS / "schema" / "schema.sql"
SPEC_SCHEMA = SRC / "bench" / "spec_schema"
RUNNER_DOC = DOCS / "runner.md"
HISTORY = {"decisions.md", "performance.md"}

WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}  # fmt: skip
NUMBER = r"(\d+|" + "|".join(WORDS) + r")"
# "the spec's 12 tables", "a 15-table schema", "48 migrations"; not "29 migration(s) applied".
TABLE_CLAIM = re.compile(r"(?:(the spec's)\s+)?\b" + NUMBER + r"[- ]tables?\b", re.I)
MIGRATION_CLAIM = re.compile(r"\b" + NUMBER + r"[- ]migrations\b", re.I)
SMALL = 10  # below this, a count is of a few tables or migrations in a sentence, not of them all


def documents() -> list[Path]:
    """README.md and every docs/*.md but the records of history."""
    return [ROOT / "README.md", *sorted(p for p in DOCS.glob("*.md") if p.name not in HISTORY)]


def number(text: str) -> int:
    return int(text) if text.isdigit() else WORDS[text.lower()]


def schema_tables() -> int:
    """Tables of the schema as committed: `CREATE TABLE public.x (`, partitions not counted."""
    sql = SCHEMA_SQL.read_text(encoding="utf-8")
    return len(re.findall(r"^CREATE TABLE public\.\w+ \($", sql, re.M))


def spec_tables() -> int:
    return sum(
        len(re.findall(r"^CREATE TABLE\b", path.read_text(encoding="utf-8"), re.M | re.I))
        for path in SPEC_SCHEMA.glob("*.sql")
    )


def migration_files() -> int:
    return len(list(default_directory().glob("[0-9]*.sql")))


def table_claims(text: str) -> list[tuple[str, int, int]]:
    """(the claim, its number, what it must be) for every count of tables in text."""
    total, spec = schema_tables(), spec_tables()
    claims = []
    for match in TABLE_CLAIM.finditer(text):
        said = number(match.group(2))
        if said >= SMALL:
            claims.append((match.group(0), said, spec if match.group(1) else total))
    return claims


def test_the_counts_are_read() -> None:
    """Guards the readers: a format change must not make every claim vacuously true."""
    assert schema_tables() == len(TABLES | SUMMARY_TABLES | LOOKUP_TABLES)  # the tables tests/test_schema.py finds
    assert spec_tables() == len(TABLES)  # the spec's twelve
    assert migration_files() >= 48


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_count_of_tables_is_today_s(path: Path) -> None:
    wrong = [
        f"{claim!r}: {said}, but it is {want}"
        for claim, said, want in table_claims(path.read_text(encoding="utf-8"))
        if said != want
    ]
    assert wrong == [], f"{path.name} counts tables wrong (docs/schema/schema.sql has {schema_tables()})"


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_count_of_migrations_is_today_s(path: Path) -> None:
    files = migration_files()
    wrong = [
        match.group(0)
        for match in MIGRATION_CLAIM.finditer(path.read_text(encoding="utf-8"))
        if number(match.group(1)) >= SMALL and number(match.group(1)) != files
    ]
    assert wrong == [], f"{path.name}: there are {files} migration files (or say it without a number)"


def test_the_readme_states_the_table_count() -> None:
    claims = table_claims((ROOT / "README.md").read_text(encoding="utf-8"))
    assert any(want == schema_tables() for _, _, want in claims), "README.md no longer says how many tables"


MAP_ENTRY = re.compile(r"^( +)([\w.]+/?)(?: {2,}|$)")
MODULE = re.compile(r"(?<![\w/.])(\w+\.py)\b")


def file_map(text: str) -> str:
    """The code block under "## Where things are"."""
    section = text.split("## Where things are", 1)[1]
    block = re.search(r"^```\n(src/socialdb/\n.*?)^```$", section, re.M | re.S)
    assert block is not None, "no src/socialdb/ block under 'Where things are'"
    return block.group(1)


def mapped_paths(block: str) -> tuple[set[str], set[str]]:
    """(files, folders) the map names, as paths under src/socialdb.

    An entry (indented two spaces a level) is a file or a folder/; every `name.py` in its
    description, and in the lines continuing it, is a file of the entry's folder (of the
    entry itself when it is a folder)."""
    files: set[str] = set()
    folders: set[str] = set()
    parents: list[str] = []  # the folder at each level
    here = ""
    for line in block.splitlines()[1:]:
        entry = MAP_ENTRY.match(line)
        description = line
        if entry and len(entry.group(1)) % 2 == 0 and len(entry.group(1)) <= 2 * (len(parents) + 1):
            level = len(entry.group(1)) // 2 - 1
            parents = parents[:level]
            name = entry.group(2)
            prefix = "".join(parents)
            description = line[entry.end() :]
            if name.endswith("/"):
                folders.add(prefix + name)
                parents.append(name)
                here = prefix + name
            else:
                files.add(prefix + name)
                here = prefix
        files.update(here + module for module in MODULE.findall(description))
    return files, folders


def test_the_file_map_is_the_source_tree() -> None:
    files, folders = mapped_paths(file_map(RUNNER_DOC.read_text(encoding="utf-8")))
    packages = {str(p.parent.relative_to(SRC)) + "/" for p in SRC.rglob("__init__.py") if p.parent != SRC}
    modules = {
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if "__pycache__" not in p.parts and not (p.name == "__init__.py" and p.parent != SRC)
    }
    named_files = {f for f in files if not (f.endswith("/__init__.py") and f.count("/") >= 1)}
    assert sorted(modules - named_files) == [], "modules the map of docs/runner.md does not name"
    assert sorted(packages - folders) == [], "packages the map of docs/runner.md does not name"
    assert sorted(f for f in files if not (SRC / f).is_file()) == [], "the map names files that do not exist"
    assert sorted(f for f in folders if not (SRC / f).is_dir()) == [], "the map names folders that do not exist"
