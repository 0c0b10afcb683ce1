"""A runner killed or interrupted mid-migration leaves nothing half-applied and no lock behind."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import psycopg
import pytest

from socialdb.lock import LOCK_KEY
from tests.helpers import history, sessions_running, socialdb, tables, wait_for, write_migrations

QUICK = "CREATE TABLE a (id int);\n-- ROLLBACK\nDROP TABLE a;\n"
SLOW = "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\nSELECT pg_sleep(60);\n-- ROLLBACK\nDROP TABLE b;\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_migrations(tmp_path / "m", {"001-a.sql": QUICK, "002-slow.sql": SLOW})


def start_and_wait_for_sleep(url: str, folder: Path) -> subprocess.Popen[str]:
    proc = socialdb("migrate", "up", "--database-url", url, "--dir", str(folder))
    wait_for(lambda: sessions_running(url, "pg_sleep(60)") == 1, 60, "the slow migration to start")
    return proc


def lock_is_free(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
        return row == (True,)


def test_kill_9_mid_migration_leaves_nothing_and_a_rerun_completes(empty_db_url: str, folder: Path) -> None:
    proc = start_and_wait_for_sleep(empty_db_url, folder)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # The server notices the dead client within client_connection_check_interval and rolls back.
    wait_for(lambda: sessions_running(empty_db_url, "pg_sleep(60)") == 0, 20, "the orphaned statement to end")
    assert "b" not in tables(empty_db_url)
    assert history(empty_db_url) == [(1, "applied")]
    assert lock_is_free(empty_db_url)
    (folder / "002-slow.sql").write_text(SLOW.replace("SELECT pg_sleep(60);\n", ""))  # not applied: editable
    rerun = socialdb("migrate", "up", "--database-url", empty_db_url, "--dir", str(folder))
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert "applied 002-slow.sql" in out
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM b").fetchone() == (1,)


@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_signal_cancels_rolls_back_and_says_what_happened(
    empty_db_url: str, folder: Path, signum: int, code: int, name: str
) -> None:
    proc = start_and_wait_for_sleep(empty_db_url, folder)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert err.strip().splitlines() == [
        f"error: interrupted by {name}: 002-slow.sql was rolled back, nothing of it applied;"
        " applied before it: 001-a.sql"
    ]
    assert sessions_running(empty_db_url, "pg_sleep(60)") == 0  # cancelled, not left running
    assert "b" not in tables(empty_db_url)
    assert history(empty_db_url) == [(1, "applied")]
    assert lock_is_free(empty_db_url)


def test_signal_during_a_nontransactional_migration_records_it_as_failed(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(
        tmp_path / "m",
        {
            "001-a.sql": QUICK,
            "002-slow.sql": "-- socialdb: transaction=off\nCREATE TABLE b (id int);\nSELECT pg_sleep(60);\n",
        },
    )
    proc = start_and_wait_for_sleep(empty_db_url, folder)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert "002-slow.sql stopped midway and is recorded as failed" in err
    assert history(empty_db_url) == [(1, "applied"), (2, "failed")]
    assert lock_is_free(empty_db_url)
