"""The docs that map the project stay true to it (no database).

- Every `tests/<file>.py::<name>` in docs/requirements.md names a test function that exists.
- docs/migrations.md has exactly one row per migration file, so a new migration needs its row.
- docs/decisions.md: every decision has a status (accepted, amended by N, superseded by N) naming
  decisions that exist, ids are unique, and "Rules in force, by topic" names exactly the decisions
  in force (accepted or amended), each at least once.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from socialdb.scripts.files import default_directory

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "docs" / "requirements.md"
MIGRATIONS_DOC = ROOT / "docs" / "migrations.md"
DECISIONS_DOC = ROOT / "docs" / "decisions.md"

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


# docs/decisions.md. A decision table is one whose header's first cell is `#`; its status is the
# cell under the header `status`, wherever that column stands. Ids are numbers, or S/R/L/D and a
# number for the rows of Seed, Runner, Lint and Dependencies, which had none.
INDEX_HEADING = "## Rules in force, by topic"
DECISION_ID = r"[SRLD]?\d+"
ANCHOR = re.compile(r'<a id="d(' + DECISION_ID + r')"></a>')
LINK = re.compile(r"\[([^\[\]]*)\]\(#d([^)]*)\)")
STATUS = re.compile(r"(accepted)|(amended|superseded) by (" + DECISION_ID + r"(?:, " + DECISION_ID + r")*)")


@dataclass(frozen=True)
class Decision:
    ident: str
    anchored: bool
    cells: int  # the row's cells
    columns: int  # its table's
    status: str | None  # the status cell with its links as their text; None when the row has none

    @property
    def kind(self) -> str:
        match = STATUS.fullmatch(self.status or "")
        return "" if match is None else match.group(1) or match.group(2)

    @property
    def names(self) -> list[str]:
        """The decisions its status names."""
        match = STATUS.fullmatch(self.status or "")
        return [] if match is None or match.group(3) is None else match.group(3).split(", ")


def table_cells(line: str) -> list[str]:
    """The cells of a table line; `\\|` is a pipe inside a cell."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def decisions(text: str) -> list[Decision]:
    rows: list[Decision] = []
    header: list[str] | None = None  # of the table being read, None between tables
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = table_cells(line)
        if header is None:
            header = cells
            continue
        if header[0] != "#" or set(line) <= set("|-: "):
            continue
        anchor = ANCHOR.match(cells[0])
        at = header.index("status") if "status" in header else len(header)
        status = LINK.sub(r"\1", cells[at]) if at < len(cells) else None
        ident = ANCHOR.sub("", cells[0]).strip()
        rows.append(Decision(ident, anchor is not None and anchor.group(1) == ident, len(cells), len(header), status))
    return rows


def rules_in_force(text: str) -> str:
    """The section "Rules in force, by topic", up to the next section."""
    assert INDEX_HEADING in text, f"{DECISIONS_DOC.name} has no {INDEX_HEADING!r}"
    return re.split(r"^## ", text.split(INDEX_HEADING, 1)[1], flags=re.M)[0]


def test_every_decision_has_a_status() -> None:
    rows = decisions(DECISIONS_DOC.read_text(encoding="utf-8"))
    assert len(rows) >= 170, "the decision tables were not read: a header's first cell must be #"
    ids = [row.ident for row in rows]
    assert [i for i, count in Counter(ids).items() if count > 1] == [], "ids used twice"
    assert [i for i in ids if re.fullmatch(DECISION_ID, i) is None] == [], "ids that are not a number (or S/R/L/D1...)"
    assert [r.ident for r in rows if r.status is None] == [], "decisions without a status: add the status cell"
    assert [f"{r.ident}: {r.status!r}" for r in rows if r.status is not None and not r.kind] == [], (
        "statuses not understood: accepted, amended by N or superseded by N (N, M for several)"
    )
    assert [f"{r.ident}: {r.cells} cells" for r in rows if r.cells != r.columns] == [], "rows of the wrong width"
    known = set(ids)
    wrong = [f"{r.ident}: {r.status}" for r in rows for n in r.names if n not in known or n == r.ident]
    assert wrong == [], "statuses naming a decision that does not exist, or the row itself"
    assert [r.ident for r in rows if not r.anchored] == [], 'rows without their anchor: <a id="dN"></a>N'


def test_the_index_names_exactly_the_decisions_in_force() -> None:
    text = DECISIONS_DOC.read_text(encoding="utf-8")
    rows = {row.ident: row for row in decisions(text)}
    links = LINK.findall(rules_in_force(text))
    assert links, f"{INDEX_HEADING!r} links no decision"
    assert [f"[{said}](#d{to})" for said, to in links if said != to] == [], "links whose text is not their target"
    named = {to for _, to in links}
    assert sorted(named - set(rows)) == [], "the index names decisions that do not exist"
    superseded = sorted(n for n in named if rows[n].kind == "superseded")
    assert superseded == [], "superseded decisions listed as rules in force"
    in_force = {i for i, row in rows.items() if row.kind in ("accepted", "amended")}
    assert sorted(in_force - named, key=lambda i: (len(i), i)) == [], (
        f"decisions in force missing from {INDEX_HEADING!r}: add a line, or the number to a line"
    )
