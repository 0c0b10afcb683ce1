"""The run's one wait for its commits (decision 106), attacked with a synchronous standby that
never answers: `synchronous_standby_names` names a standby that does not exist, the server's
default `synchronous_commit` is `local` (nothing else waits), and socialdb's own session asks
for `on` through its URL, so its run's final commit waits until something ends it.
(Found in review: a signal there once went unheard in table lock mode, the lease's release
waiting for the same standby; a failed migration's error was lost to a signal; a dropped
connection gave a three-line error.)
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from socialdb.migrate import runner
from tests.helpers import finish, socialdb, wait_for, write_migrations

pytestmark = pytest.mark.db

WAITING = "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND datname = current_database()"
FILES = {
    "001-a.sql": "CREATE TABLE a (id int);\n-- ROLLBACK\nDROP TABLE a;\n",
    "002-b.sql": "CREATE TABLE b (id int);\n-- ROLLBACK\nDROP TABLE b;\n",
}


@pytest.fixture
def silent_standby(server_url: str) -> Iterator[None]:
    _configure(
        server_url,
        "ALTER SYSTEM SET synchronous_standby_names = 'nobody'",
        "ALTER SYSTEM SET synchronous_commit = 'local'",
    )
    try:
        yield
    finally:
        _configure(server_url, "ALTER SYSTEM RESET synchronous_standby_names", "ALTER SYSTEM RESET synchronous_commit")


def _configure(server_url: str, *statements: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as admin:
        for statement in statements:
            admin.execute(statement)
        admin.execute("SELECT pg_reload_conf()")
        # Reloaded: a new session sees the new default.
        expected = "on" if "RESET synchronous_commit" in statements[-1] else "local"

        def reloaded() -> bool:
            with psycopg.connect(server_url) as probe:
                return probe.execute("SHOW synchronous_commit").fetchone() == (expected,)

        wait_for(reloaded, 10, "the server to reload its configuration")


def _migrate(url: str, folder: Path, *extra: str, command: str = "up") -> subprocess.Popen[str]:
    """`socialdb migrate COMMAND` whose session waits for the standby (the history and the
    lease tables made beforehand, at the server's default)."""
    runner.up(url, write_migrations(folder.parent / "none", {}), runner.RunOptions(lock_mode="table"))
    params = conninfo_to_dict(url)
    params["options"] = "-csynchronous_commit=on"
    return socialdb("migrate", command, "--database-url", make_conninfo("", **params), "--dir", str(folder), *extra)


def _waiting(url: str, timeout_s: float = 30) -> int:
    """The pid of the session that waits for the standby (bounded)."""
    found: list[int] = []
    with psycopg.connect(url, autocommit=True) as conn:

        def waits() -> bool:
            row = conn.execute(WAITING).fetchone()
            found.extend([int(row[0])] if row else [])
            return bool(row)

        wait_for(waits, timeout_s, "a session waiting for the standby")
    return found[0]


@pytest.mark.parametrize("how", ["cancel", "terminate"])
def test_a_wait_the_server_ends_fails_the_run_in_one_line(
    silent_standby: None, empty_db_url: str, tmp_path: Path, how: str
) -> None:
    proc = _migrate(empty_db_url, write_migrations(tmp_path / "m", FILES))
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(f"SELECT pg_{how}_backend(%s)", (_waiting(empty_db_url),))
    _, err = finish(proc, 30)
    assert proc.returncode == 1
    assert err.strip().splitlines() == [err.strip().splitlines()[0]], err  # one line
    assert err.startswith("error: 2 migration(s) applied and committed, but the wait for their flush failed: "), err


@pytest.mark.parametrize("lock_mode", ["advisory", "table"])
def test_a_signal_ends_the_wait(silent_standby: None, empty_db_url: str, tmp_path: Path, lock_mode: str) -> None:
    """In table mode the lease is released after the wait: its commit must not wait for the
    standby too, or the process would not end."""
    proc = _migrate(empty_db_url, write_migrations(tmp_path / "m", FILES), "--lock-mode", lock_mode)
    _waiting(empty_db_url)
    proc.send_signal(signal.SIGINT)
    _, err = finish(proc, 30)
    assert proc.returncode == 130
    assert err.strip() == "error: interrupted by SIGINT; applied before it: 001-a.sql, 002-b.sql"


def test_a_signal_in_the_wait_after_a_failed_migration_keeps_its_error(
    silent_standby: None, empty_db_url: str, tmp_path: Path
) -> None:
    files = {**FILES, "003-c.sql": "-- socialdb: rollback=none\nSELECT 1 / 0;\n"}
    proc = _migrate(empty_db_url, write_migrations(tmp_path / "m", files))
    _waiting(empty_db_url)
    proc.send_signal(signal.SIGTERM)
    _, err = finish(proc, 30)
    assert proc.returncode == 1
    assert err.strip() == "error: 003-c.sql:2: division by zero (SQLSTATE 22012)"


def test_a_session_that_does_not_wait_still_flushes_its_run(empty_db_url: str, tmp_path: Path) -> None:
    """synchronous_commit = off for the whole database: the run's last commit waits for the
    local disk all the same (decision 106)."""
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{conn.info.dbname}" SET synchronous_commit = off')
    note = (
        "-- socialdb: rollback=none\n"
        "CREATE TABLE IF NOT EXISTS note (v int, lsn pg_lsn);\nINSERT INTO note SELECT {v}, pg_current_wal_insert_lsn();\n"
    )
    runner.up(empty_db_url, write_migrations(tmp_path / "m", {f"00{v}-n.sql": note.format(v=v) for v in (1, 2)}))
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT bool_and(pg_current_wal_flush_lsn() >= lsn), count(*) FROM note").fetchone() == (
            True,
            2,
        )
