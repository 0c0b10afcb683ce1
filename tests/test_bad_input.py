"""The CLI's bad-input table (issue 11, section 4): every command over every kind of bad input.

Each command runs in-process over a small folder in tmp_path, on a database where that
folder is applied. A refusal is an exit code (1, or 2 for a usage error), exactly one
line on stderr naming the file and line or the value at fault, no traceback, and the
history table exactly as it was. The few inputs a command accepts by design (`status`
shows a missing file; `down` and `resolve` do not care about a pending file older than
the newest applied one; `status` shows a file that does not read as a row of its own) are in
the table too, with what they do instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from socialdb.cli import app
from socialdb.errors import MigrationFailed
from socialdb.migrate import runner
from tests.helpers import write_migrations

BASE = {
    "001-create-a.sql": "CREATE TABLE a (id int);\n-- ROLLBACK\nDROP TABLE a;\n",
    "003-create-c.sql": "CREATE TABLE c (id int);\nINSERT INTO c VALUES (1), (1);\n-- ROLLBACK\nDROP TABLE c;\n",
}
# For `resolve`: a transaction=off migration that failed midway (duplicates in c).
FAILING = {
    "004-unique-c.sql": "-- socialdb: transaction=off\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS c_id ON c (id);\n"
    "-- ROLLBACK\nDROP INDEX CONCURRENTLY IF EXISTS c_id;\n"
}
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/x"


@dataclass(frozen=True)
class Bad:
    """One bad input: files written into (None: removed from) the folder, or a bad argument."""

    files: dict[str, bytes | None] = field(default_factory=dict)
    missing_dir: bool = False
    url: str | None = None  # instead of the test database's
    options: tuple[str, ...] = ()


CASES = {
    "missing folder": Bad(missing_dir=True),
    "duplicate versions": Bad({"0003-again.sql": b"CREATE TABLE again (id int);\n-- ROLLBACK\nDROP TABLE again;\n"}),
    "non-UTF-8 file": Bad({"005-bad.sql": b"SELECT 1;\n-- ROLLBACK\nSELECT '\xe9';\n"}),
    "unknown directive": Bad({"005-bad.sql": b"-- socialdb: retries=3\nSELECT 1;\n-- ROLLBACK\nSELECT 2;\n"}),
    "empty file": Bad({"005-bad.sql": b""}),
    "comment-only file": Bad({"005-bad.sql": b"-- to do\n/* later */\n"}),
    "empty ROLLBACK": Bad({"005-bad.sql": b"CREATE TABLE e (id int);\n-- ROLLBACK\n-- nothing\n"}),
    "syntax error in up": Bad({"005-bad.sql": b"SELECT 1;\nCREATE TABEL e (id int);\n-- ROLLBACK\nSELECT 2;\n"}),
    "syntax error in down": Bad({"005-bad.sql": b"CREATE TABLE e (id int);\n-- ROLLBACK\n\nDROP TABEL e;\n"}),
    "pending older than newest applied": Bad(
        {"002-late.sql": b"CREATE TABLE b (id int);\n-- ROLLBACK\nDROP TABLE b;\n"}
    ),
    # A COMMIT would keep the table when the division fails, with no history row.
    "COMMIT in a migration": Bad({"005-bad.sql": b"CREATE TABLE e (id int);\nCOMMIT;\nSELECT 1 / 0;\n"}),
    "BEGIN in a transaction=off file": Bad({"005-bad.sql": b"-- socialdb: transaction=off\nSELECT 1;\nBEGIN;\n"}),
    "missing applied file": Bad({"001-create-a.sql": None}),
    "bad lock mode": Bad(options=("--lock-mode", "bogus")),
    "empty database URL": Bad(url=""),
    "unreachable server": Bad(url=UNREACHABLE),
}

# What each command does with each input. A refusal: (exit code, text of the one line on stderr).
REFUSED = {
    "missing folder": (1, "nope: migrations folder not found"),
    "duplicate versions": (1, "003-create-c.sql: version 3 is also used by 0003-again.sql"),
    "non-UTF-8 file": (1, "005-bad.sql:3: not valid UTF-8 at byte 30"),
    "unknown directive": (1, "005-bad.sql:1: unknown directive 'retries'"),
    "empty file": (1, "005-bad.sql:1: no SQL statement in the up part"),
    "comment-only file": (1, "005-bad.sql:1: no SQL statement in the up part"),
    "empty ROLLBACK": (1, "005-bad.sql:2: '-- ROLLBACK' is followed by no SQL statement"),
    "syntax error in up": (1, '005-bad.sql:2: syntax error: syntax error at or near "TABEL"'),
    "syntax error in down": (1, '005-bad.sql:4: syntax error: syntax error at or near "TABEL"'),
    "pending older than newest applied": (1, "002-late.sql is pending but version 3 is already applied"),
    "COMMIT in a migration": (1, "005-bad.sql:2: COMMIT: the runner owns the transactions"),
    "BEGIN in a transaction=off file": (1, "005-bad.sql:3: BEGIN: the runner owns the transactions"),
    "missing applied file": (1, "001-create-a.sql: applied on "),
    "bad lock mode": (2, "Invalid value for '--lock-mode': 'bogus' is not one of 'advisory', 'table'"),
    "empty database URL": (2, "--database-url is empty"),
    "unreachable server": (1, f"cannot connect to {UNREACHABLE}: connection failed"),
}
# The inputs a command accepts by design: words of one line it prints, and the history afterwards.
Rows = list[tuple[int, str]]
ACCEPTED: dict[tuple[str, str], tuple[tuple[str, ...], Callable[[Rows], Rows]]] = {
    ("down", "pending older than newest applied"): (("rolled back 003-create-c.sql",), lambda rows: rows[:-1]),
    ("status", "pending older than newest applied"): ((" 002 ", " late ", " pending "), lambda rows: rows),
    ("status", "missing applied file"): ((" 001 ", " create-a ", " missing "), lambda rows: rows),
    ("resolve", "pending older than newest applied"): (
        ("marked 004-unique-c.sql as applied",),
        lambda rows: [*rows[:-1], (4, "applied")],
    ),
}
# `status` shows a file that does not read as a row of its own and every other (issue 24).
UNREADABLE = [
    "non-UTF-8 file",
    "unknown directive",
    "empty file",
    "comment-only file",
    "empty ROLLBACK",
    "syntax error in up",
    "syntax error in down",
    "COMMIT in a migration",
    "BEGIN in a transaction=off file",
]
ACCEPTED |= {("status", name): ((" unreadable ",), lambda rows: rows) for name in UNREADABLE}
OVERRIDES = {("status", "bad lock mode"): (2, "No such option: --lock-mode")}

cli = CliRunner()


def history_rows(url: str) -> list[tuple[object, ...]]:
    """The whole history table: every column of every row."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT * FROM migrations ORDER BY version").fetchall()


def states(url: str) -> Rows:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT version, state FROM migrations ORDER BY version").fetchall()


def applied(folder: Path, url: str, failing: bool) -> None:
    write_migrations(folder, {**BASE, **(FAILING if failing else {})})
    if not failing:
        runner.up(url, folder)
        return
    with pytest.raises(MigrationFailed):
        runner.up(url, folder)


def arguments(command: str, case: Bad, url: str, folder: Path) -> list[str]:
    head = {"up": ["up"], "down": ["down"], "status": ["status"], "resolve": ["resolve", "4", "--mark-applied"]}
    folder_arg = folder.parent / "nope" if case.missing_dir else folder
    database = url if case.url is None else case.url
    return ["migrate", *head[command], "--database-url", database, "--dir", str(folder_arg), *case.options]


def check(command: str, name: str, url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    applied(folder, url, failing=command == "resolve")
    case = CASES[name]
    for filename, content in case.files.items():
        if content is None:
            (folder / filename).unlink()
        else:
            (folder / filename).write_bytes(content)
    before, states_before = history_rows(url), states(url)
    result = cli.invoke(app, arguments(command, case, url, folder), env={"DATABASE_URL": None, "SOCIALDB_DEBUG": None})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "Traceback" not in result.stderr + result.stdout
    if (command, name) in ACCEPTED:
        shown, after = ACCEPTED[(command, name)]
        assert (result.exit_code, result.stderr) == (0, ""), result.stderr
        assert any(all(word in line for word in shown) for line in result.stdout.splitlines()), result.stdout
        assert states(url) == after(states_before)
        return
    code, message = OVERRIDES.get((command, name), REFUSED[name])
    assert result.exit_code == code, result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: "), result.stderr
    assert message in result.stderr, result.stderr
    assert history_rows(url) == before


@pytest.mark.parametrize("name", CASES)
def test_up(name: str, empty_db_url: str, tmp_path: Path) -> None:
    check("up", name, empty_db_url, tmp_path)


@pytest.mark.parametrize("name", CASES)
def test_down(name: str, empty_db_url: str, tmp_path: Path) -> None:
    check("down", name, empty_db_url, tmp_path)


@pytest.mark.parametrize("name", CASES)
def test_status(name: str, empty_db_url: str, tmp_path: Path) -> None:
    check("status", name, empty_db_url, tmp_path)


@pytest.mark.parametrize("name", CASES)
def test_resolve(name: str, empty_db_url: str, tmp_path: Path) -> None:
    check("resolve", name, empty_db_url, tmp_path)
