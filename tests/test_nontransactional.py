"""transaction=off migrations: statement by statement, failed state, resolve, invalid indexes."""

from __future__ import annotations

import shutil
import threading
from functools import partial
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from socialdb.cli import app
from socialdb.errors import (
    FailedMigrationError,
    MigrationFailed,
    MigrationFileError,
    MissingMigrationError,
    UsageError,
)
from socialdb.migrate import runner
from socialdb.scripts.events import as_lines
from socialdb.scripts.files import default_directory
from socialdb.scripts.options import RunOptions
from tests.helpers import LATEST, history, in_background, join, wait_for, write_migrations

TABLE = "CREATE TABLE t (a int, b int);\nINSERT INTO t VALUES (1, 1), (1, 2);\n-- ROLLBACK\nDROP TABLE t;\n"
INDEXES = """-- socialdb: transaction=off
CREATE INDEX CONCURRENTLY IF NOT EXISTS t_b ON t (b);

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_a_unique ON t (a);
-- ROLLBACK
DROP INDEX CONCURRENTLY IF EXISTS t_a_unique;
DROP INDEX CONCURRENTLY IF EXISTS t_b;
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_migrations(tmp_path / "m", {"001-table.sql": TABLE, "002-indexes.sql": INDEXES})


def indexes(url: str) -> dict[str, bool]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = 't'::regclass"
        ).fetchall()
    return dict(rows)


def fail_midway(url: str, folder: Path) -> MigrationFailed:
    with pytest.raises(MigrationFailed) as caught:
        runner.up(url, folder)
    return caught.value


def test_failure_midway_is_recorded_with_the_statement_and_invalid_index(empty_db_url: str, folder: Path) -> None:
    error = fail_midway(empty_db_url, folder)
    assert str(error).startswith('002-indexes.sql:4: could not create unique index "t_a_unique"')
    assert "invalid indexes left behind: t_a_unique" in str(error)
    assert "socialdb migrate resolve 2 --retry" in str(error)
    assert "so that a rerun skips what is done, e.g. IF NOT EXISTS" in str(error)  # issue 24
    assert error.applied_partially
    assert indexes(empty_db_url) == {"t_b": True, "t_a_unique": False}
    assert history(empty_db_url) == [(1, "applied"), (2, "failed")]
    with psycopg.connect(empty_db_url) as conn:
        row = conn.execute("SELECT failed_statement, error FROM migrations WHERE version = 2").fetchone()
    assert row is not None and row[0].startswith("CREATE UNIQUE INDEX CONCURRENTLY") and "t_a_unique" in row[1]
    rows = runner.status(empty_db_url, folder)
    assert [r.state for r in rows] == ["applied", "failed"]


def test_up_refuses_until_resolved(empty_db_url: str, folder: Path) -> None:
    fail_midway(empty_db_url, folder)
    (folder / "003-more.sql").write_text("CREATE TABLE more (id int);\n-- ROLLBACK\nDROP TABLE more;\n")
    with pytest.raises(FailedMigrationError, match="^002-indexes.sql: failed midway.*IF NOT EXISTS"):
        runner.up(empty_db_url, folder)
    assert history(empty_db_url)[-1] == (2, "failed")


def test_resolve_retry_drops_the_invalid_index_and_finishes(empty_db_url: str, folder: Path) -> None:
    fail_midway(empty_db_url, folder)
    with psycopg.connect(empty_db_url) as conn:
        conn.execute("DELETE FROM t WHERE b = 2")  # the fix: no more duplicates
    lines: list[str] = []
    outcome = runner.resolve(empty_db_url, 2, "retry", folder, report=as_lines(lines.append))
    assert outcome is not None and outcome.migration.version == 2
    assert "dropping invalid index t_a_unique left by an earlier failed build, to build it again" in lines
    assert indexes(empty_db_url) == {"t_b": True, "t_a_unique": True}
    assert history(empty_db_url) == [(1, "applied"), (2, "applied")]


def test_resolve_mark_applied(empty_db_url: str, folder: Path) -> None:
    fail_midway(empty_db_url, folder)
    result = CliRunner().invoke(
        app, ["migrate", "resolve", "2", "--mark-applied", "--database-url", empty_db_url, "--dir", str(folder)]
    )
    assert result.exit_code == 0 and "marked 002-indexes.sql as applied" in result.stdout
    assert [r.state for r in runner.status(empty_db_url, folder)] == ["applied", "applied"]


def test_resolve_refuses_a_migration_that_did_not_fail(empty_db_url: str, folder: Path) -> None:
    (folder / "002-indexes.sql").unlink()
    runner.up(empty_db_url, folder)
    with pytest.raises(UsageError, match="not in the failed state"):
        runner.resolve(empty_db_url, 1, "retry", folder)
    # --retry given, so the exit 2 is the refusal's, not a missing flag's.
    args = ["migrate", "resolve", "1", "--retry", "--database-url", empty_db_url, "--dir", str(folder)]
    result = CliRunner().invoke(app, args, env={"DATABASE_URL": None})
    assert result.exit_code == 2
    assert result.stderr == "error: migration 1 is not in the failed state; nothing to resolve\n"
    assert history(empty_db_url) == [(1, "applied")]


@pytest.mark.parametrize("gone", ["001-table.sql", "002-indexes.sql"])
def test_resolve_refuses_when_an_applied_file_is_missing(empty_db_url: str, folder: Path, gone: str) -> None:
    # Another applied file, or the failed one itself: either way nothing runs and the file is named.
    fail_midway(empty_db_url, folder)
    (folder / gone).unlink()
    for action in ("retry", "mark-applied"):
        with pytest.raises(MissingMigrationError, match=f"^{gone}: applied .* the file is missing; restore it"):
            runner.resolve(empty_db_url, 2, action, folder)
    assert history(empty_db_url) == [(1, "applied"), (2, "failed")]
    assert indexes(empty_db_url) == {"t_b": True, "t_a_unique": False}


def test_rollback_of_a_nontransactional_migration(empty_db_url: str, folder: Path) -> None:
    (folder / "001-table.sql").write_text("CREATE TABLE t (a int, b int);\n-- ROLLBACK\nDROP TABLE t;\n")
    runner.up(empty_db_url, folder)
    assert indexes(empty_db_url) == {"t_b": True, "t_a_unique": True}
    runner.down(empty_db_url, 1, folder)
    assert indexes(empty_db_url) == {}
    assert history(empty_db_url) == [(1, "applied")]


def test_013_builds_concurrently_under_the_runner_lock(db_url: str) -> None:
    # CREATE INDEX CONCURRENTLY waits for every open transaction; if the runner held its
    # lock inside one, 013 would wait on its own runner until the statement timeout.
    runner.down(db_url, LATEST - 12)
    done = runner.up(db_url, options=RunOptions(statement_timeout_ms=20_000))
    assert [o.migration.version for o in done] == list(range(13, LATEST + 1))
    with psycopg.connect(db_url) as conn:
        invalid = conn.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid").fetchone()
    assert invalid == (0,)


def test_013_survives_a_long_transaction_elsewhere(db_url: str, tmp_path: Path) -> None:
    # A concurrent build first waits for every transaction writing to its table. With that
    # wait bounded by lock_timeout, a timed-out build leaves an INVALID index, which the
    # runner drops before retrying, instead of skipping it through IF NOT EXISTS.
    runner.down(db_url, LATEST - 12)
    folder = tmp_path / "m"
    shutil.copytree(default_directory(), folder)
    path = folder / "013-performance-indexes.sql"
    path.write_text(path.read_text().replace("lock_timeout=30s", "lock_timeout=200ms"))
    writer = psycopg.connect(db_url)
    writer.execute("UPDATE messages SET is_read = true WHERE false")  # holds ROW EXCLUSIVE on messages
    lines: list[str] = []
    options = RunOptions(lock_retries=50, retry_base_s=0.05, retry_cap_s=0.1)
    worker = threading.Thread(target=runner.up, args=(db_url, folder, options, as_lines(lines.append)))
    worker.start()
    wait_for(lambda: any("lock not available" in line for line in lines), what="a retry")
    writer.commit()
    join(worker, 60)
    writer.close()
    assert (
        "dropping invalid index idx_messages_conversation_sent left by an earlier failed build, to build it again"
        in lines
    )
    assert history(db_url)[-1] == (LATEST, "applied")
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid").fetchone() == (0,)


# A server connection that never saw the runner's session settings, as PgBouncer in
# transaction mode can hand out: the first statement drops the session's lock_timeout.
LOST_SESSION = """-- socialdb: transaction=off lock_timeout=200ms rollback=none
SELECT set_config('lock_timeout', '0', false);
ALTER TABLE t ADD COLUMN c int;
"""


def test_a_statement_that_may_run_in_a_transaction_carries_its_own_timeouts(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", {"001-table.sql": TABLE, "002-alter.sql": LOST_SESSION})
    runner.up(empty_db_url, folder, to=1)
    with psycopg.connect(empty_db_url) as blocker:
        blocker.execute("LOCK TABLE t IN ACCESS SHARE MODE")
        thread, errors = in_background(partial(runner.up, empty_db_url, folder, RunOptions(lock_retries=1)), "lost")
        try:
            thread.join(30)  # without its own lock_timeout the ALTER would wait for the blocker
            assert not thread.is_alive(), "the ALTER waited without a lock_timeout"
        finally:
            blocker.rollback()
            join(thread)
    assert len(errors) == 1 and isinstance(errors[0], MigrationFailed) and errors[0].sqlstate == "55P03"
    assert str(errors[0]).startswith("002-alter.sql:3: could not get its locks within lock_timeout after 1 attempts")
    assert history(empty_db_url) == [(1, "applied"), (2, "failed")]


def test_its_transaction_commits_without_waiting_for_the_flush(empty_db_url: str, tmp_path: Path) -> None:
    # Fails (division by zero) unless its transaction has the file's settings.
    check = """-- socialdb: transaction=off lock_timeout=300ms rollback=none
SELECT 1 / (current_setting('synchronous_commit') = 'off' AND current_setting('lock_timeout') = '300ms')::int;
"""
    folder = write_migrations(tmp_path / "m", {"001-check.sql": check})
    runner.up(empty_db_url, folder)
    assert history(empty_db_url) == [(1, "applied")]


def test_a_statement_postgres_refuses_in_a_transaction_runs_alone(empty_db_url: str, tmp_path: Path) -> None:
    """CLUSTER without a table may not run in a transaction block; the splitter does not know it."""
    folder = write_migrations(
        tmp_path / "m", {"001-cluster.sql": "-- socialdb: transaction=off rollback=none\nCLUSTER;\n"}
    )
    runner.up(empty_db_url, folder)
    assert history(empty_db_url) == [(1, "applied")]


DEFERRED = "CREATE TABLE d (id int UNIQUE DEFERRABLE INITIALLY DEFERRED);\nINSERT INTO d VALUES (1), (1);\n-- ROLLBACK\nDROP TABLE d;\n"


def test_an_error_at_its_commit_is_the_statements(empty_db_url: str, tmp_path: Path) -> None:
    """A deferred constraint fails at the statement's own COMMIT: its file:line, a failed row."""
    folder = write_migrations(tmp_path / "m", {"001-deferred.sql": "-- socialdb: transaction=off\n" + DEFERRED})
    with pytest.raises(MigrationFailed, match=r"^001-deferred\.sql:3: duplicate key value") as caught:
        runner.up(empty_db_url, folder)
    assert caught.value.sqlstate == "23505"
    assert history(empty_db_url) == [(1, "failed")]
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM d").fetchone() == (0,)


def test_an_error_at_a_migrations_commit_names_its_file(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", {"001-deferred.sql": DEFERRED})
    with pytest.raises(MigrationFailed, match=r"^001-deferred\.sql: at COMMIT: duplicate key value"):
        runner.up(empty_db_url, folder)
    assert history(empty_db_url) == []
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('d')").fetchone() == (None,)


def test_do_blocks_and_procedures_may_commit_in_batches(empty_db_url: str, tmp_path: Path) -> None:
    """A backfill that commits as it goes runs as written: not inside a transaction of the runner's."""
    backfill = """-- socialdb: transaction=off rollback=none
CREATE TABLE n (i int);
DO $$ BEGIN FOR i IN 1..3 LOOP INSERT INTO n VALUES (i); COMMIT; END LOOP; END $$;
CREATE PROCEDURE fill() LANGUAGE plpgsql AS $$ BEGIN INSERT INTO n VALUES (4); COMMIT; END $$;
CALL fill();
"""
    runner.up(empty_db_url, write_migrations(tmp_path / "m", {"001-backfill.sql": backfill}))
    assert history(empty_db_url) == [(1, "applied")]
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT array_agg(i ORDER BY i) FROM n").fetchone() == ([1, 2, 3, 4],)


@pytest.mark.parametrize(
    ("statement", "named"),
    [("LOCK TABLE t IN SHARE MODE;", "LOCK TABLE"), ("SAVEPOINT s;", "a savepoint")],
    ids=["lock", "savepoint"],
)
def test_what_lasts_until_a_transaction_ends_is_refused_statement_by_statement(
    empty_db_url: str, tmp_path: Path, statement: str, named: str
) -> None:
    """Each statement commits on its own: a LOCK would be released at once, silently."""
    body = f"-- socialdb: transaction=off rollback=none\nCREATE TABLE t (a int);\n{statement}\nALTER TABLE t ADD COLUMN b int;\n"
    folder = write_migrations(tmp_path / "m", {"001-lock.sql": body})
    with pytest.raises(MigrationFileError, match=rf"^001-lock\.sql:3: {named} lasts until its transaction ends"):
        runner.up(empty_db_url, folder)
    assert history(empty_db_url) == []
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('t')").fetchone() == (None,)
