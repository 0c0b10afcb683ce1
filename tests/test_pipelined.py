"""A transactional migration's statements are sent in one pipeline (issue 15): the error of any
one of them still names its own file line, and nothing of the migration is applied."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from socialdb.errors import MigrationFailed
from socialdb.migrate import runner
from tests.helpers import history, tables, write_migrations

pytestmark = pytest.mark.db


def _migration(bad: str, at: int, count: int = 6) -> str:
    """`count` statements, one per line, the one on line `at` being `bad`."""
    up = "".join(bad if n == at else f"CREATE TABLE t{n} (id int);\n" for n in range(1, count + 1))
    return up + "-- ROLLBACK\n" + "".join(f"DROP TABLE IF EXISTS t{n};\n" for n in range(count, 0, -1))


@pytest.mark.parametrize("at", [1, 3, 6])
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("SELECT 1 / 0;\n", "division by zero (SQLSTATE 22012)"),  # the server gives no position
        ("SELECT no_such_column FROM pg_class;\n", 'column "no_such_column" does not exist (SQLSTATE 42703)'),
        ("DO $$ BEGIN RAISE EXCEPTION 'refused here'; END $$;\n", "refused here (SQLSTATE P0001)"),
    ],
    ids=["no-position", "position", "raise"],
)
def test_the_failed_statement_is_named_and_nothing_is_applied(
    empty_db_url: str, tmp_path: Path, bad: str, message: str, at: int
) -> None:
    files = {
        "001-ok.sql": "CREATE TABLE ok (id int);\n-- ROLLBACK\nDROP TABLE ok;\n",
        "002-bad.sql": _migration(bad, at),
    }
    with pytest.raises(MigrationFailed) as caught:
        runner.up(empty_db_url, write_migrations(tmp_path / "m", files))
    assert str(caught.value) == f"002-bad.sql:{at}: {message}"
    assert history(empty_db_url) == [(1, "applied")]
    assert tables(empty_db_url) & {f"t{n}" for n in range(1, 7)} == set()


def test_a_long_migration_runs_every_statement_once_in_order(empty_db_url: str, tmp_path: Path) -> None:
    body = "CREATE TABLE seq (id serial PRIMARY KEY, n int);\n"
    body += "".join(f"INSERT INTO seq (n) VALUES ({n});\n" for n in range(500)) + "-- ROLLBACK\nDROP TABLE seq;\n"
    runner.up(empty_db_url, write_migrations(tmp_path / "m", {"001-many.sql": body}))
    with psycopg.connect(empty_db_url) as conn:
        rows = conn.execute("SELECT n FROM seq ORDER BY id").fetchall()
    assert [n for (n,) in rows] == list(range(500))


# What a migration records of its own transaction: where the WAL was, and its commit setting.
_NOTE = (
    "CREATE TABLE IF NOT EXISTS note (version int, lsn pg_lsn, sync text);\n"
    "INSERT INTO note SELECT {v}, pg_current_wal_insert_lsn(), current_setting('synchronous_commit');\n"
    "-- ROLLBACK\nDELETE FROM note WHERE version = {v};\n"
)


@pytest.mark.parametrize("fails", [False, True], ids=["success", "failure"])
def test_migrations_commit_without_waiting_and_the_run_ends_flushed(
    empty_db_url: str, tmp_path: Path, fails: bool
) -> None:
    """A transactional migration commits with synchronous_commit off (its locks go at once,
    no wait for the disk or a synchronous standby); the run then waits once, so that what it
    reports applied, on success or failure, is flushed when it returns."""
    files = {f"00{v}-note.sql": _NOTE.format(v=v) for v in (1, 2)}
    files["003-last.sql"] = "-- socialdb: rollback=none\nSELECT 1 / 0;\n" if fails else _NOTE.format(v=3)
    folder = write_migrations(tmp_path / "m", files)
    if fails:
        with pytest.raises(MigrationFailed):
            runner.up(empty_db_url, folder)
    else:
        runner.up(empty_db_url, folder)
    with psycopg.connect(empty_db_url) as conn:
        # Each note comes after the commit records of the migrations before it: the flush must
        # cover every note, so every commit but the last, whose record follows the last note.
        # (Without the run's final wait this fails as long as the WAL writer, every 200 ms by
        # default, has not flushed yet: it did, 3 runs in 3, when the wait was taken out.)
        notes = conn.execute(
            "SELECT version, sync, pg_current_wal_flush_lsn() >= lsn FROM note ORDER BY version"
        ).fetchall()
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)  # the session's own is untouched
    assert notes == [(v, "off", True) for v in ((1, 2) if fails else (1, 2, 3))]


def test_a_transaction_off_statement_commits_in_a_transaction_of_its_own(empty_db_url: str, tmp_path: Path) -> None:
    """Each statement of a `transaction=off` file that may run in a transaction gets one of its
    own, with synchronous_commit off for it alone (SET LOCAL, decision 108): nothing is left
    on the session for PgBouncer to hand on, and the run's final wait covers it too."""
    files = {"001-off.sql": "-- socialdb: transaction=off\n" + _NOTE.format(v=1), "002-on.sql": _NOTE.format(v=2)}
    runner.up(empty_db_url, write_migrations(tmp_path / "m", files))
    with psycopg.connect(empty_db_url) as conn:
        rows = conn.execute("SELECT version, sync, pg_current_wal_flush_lsn() >= lsn FROM note ORDER BY version")
        assert rows.fetchall() == [(1, "off", True), (2, "off", True)]
