"""Lock-safe DDL on a live database: lock_timeout, retries with backoff, the lock queue."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import psycopg
import pytest

from socialdb.errors import LockNotAvailableError, MigrationFailed
from socialdb.migrate import runner
from socialdb.scripts.events import Event, Retrying, as_lines
from socialdb.scripts.files import default_directory
from socialdb.scripts.options import RunOptions
from tests.helpers import LATEST, NEXT, history, join, wait_for

ALTER = "ALTER TABLE products ADD COLUMN note text;\n-- ROLLBACK\nALTER TABLE products DROP COLUMN note;\n"
FAST = RunOptions(lock_timeout_ms=200, lock_retries=4, retry_base_s=0.05, retry_cap_s=0.2)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "m"
    shutil.copytree(default_directory(), target)
    (target / f"{NEXT}-add-note.sql").write_text(ALTER)
    return target


@pytest.fixture
def blocker(db_url: str) -> psycopg.Connection[tuple[object, ...]]:
    """A session reading products inside a transaction it has not committed."""
    conn = psycopg.connect(db_url, application_name="blocker-test")
    conn.execute("SELECT count(*) FROM products")  # holds ACCESS SHARE until commit
    return conn


def has_note(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'products' AND column_name = 'note'"
        ).fetchone()
    return row == (1,)


def test_retries_until_the_blocking_session_commits(db_url: str, folder: Path, blocker: psycopg.Connection) -> None:  # type: ignore[type-arg]
    reported: list[Event] = []
    options = RunOptions(lock_timeout_ms=200, lock_retries=30, retry_base_s=0.05, retry_cap_s=0.2)
    worker = threading.Thread(target=runner.up, args=(db_url, folder, options, reported.append))
    worker.start()
    wait_for(lambda: any(isinstance(e, Retrying) for e in list(reported)), what="a retry")
    blocker.commit()
    join(worker, 60)
    assert has_note(db_url)
    retry = next(e for e in reported if isinstance(e, Retrying))
    blocking = f"pid {blocker.info.backend_pid} (blocker-test, idle in transaction): SELECT count(*) FROM products"
    assert (retry.file, retry.attempt, retry.attempts, retry.blockers) == (f"{NEXT}-add-note.sql", 1, 30, (blocking,))
    assert str(retry).startswith(f"{NEXT}-add-note.sql: lock not available (attempt 1/30), blocked by {blocking};")
    blocker.close()


def test_gives_up_after_its_attempts_and_applies_nothing(
    db_url: str, folder: Path, blocker: psycopg.Connection
) -> None:  # type: ignore[type-arg]
    lines: list[str] = []
    with pytest.raises(LockNotAvailableError) as caught:
        runner.up(db_url, folder, FAST, as_lines(lines.append))
    message = str(caught.value)
    assert message.startswith(f"{NEXT}-add-note.sql: could not get its locks within lock_timeout after 4 attempts;")
    assert "nothing of it was applied" in message
    assert (
        f"pid {blocker.info.backend_pid} (blocker-test, idle in transaction): SELECT count(*) FROM products" in message
    )
    assert len([line for line in lines if "lock not available" in line]) == 3
    assert not has_note(db_url)
    assert history(db_url)[-1] == (LATEST, "applied")
    blocker.close()


def test_readers_never_queue_behind_the_waiting_migration(
    db_url: str,
    folder: Path,
    blocker: psycopg.Connection,  # type: ignore[type-arg]
) -> None:
    # While the ALTER waits for its ACCESS EXCLUSIVE lock, every later query on the table
    # queues behind it. With lock_timeout the wait is short; a reader whose own
    # statement_timeout is 4x the lock_timeout must never be cancelled.
    options = RunOptions(lock_timeout_ms=300, lock_retries=8, retry_base_s=0.05, retry_cap_s=0.1)
    errors: list[Exception] = []

    def migrate() -> None:
        try:
            runner.up(db_url, folder, options)
        except LockNotAvailableError as exc:
            errors.append(exc)

    worker = threading.Thread(target=migrate)
    with psycopg.connect(db_url, autocommit=True) as reader:
        reader.execute("SET statement_timeout = '1200ms'")
        worker.start()
        reads = 0
        deadline = time.monotonic() + 60  # 8 attempts of 300 ms and short pauses: far less
        while worker.is_alive():
            assert time.monotonic() < deadline, "the migration never gave up"
            assert reader.execute("SELECT count(*) FROM products").fetchone() == (0,)
            reads += 1
        join(worker, 10)
    assert reads > 5
    assert len(errors) == 1  # the migration really was waiting, and gave up, the whole time
    blocker.close()


def test_per_migration_directive_overrides_the_run_setting(
    db_url: str, folder: Path, blocker: psycopg.Connection
) -> None:  # type: ignore[type-arg]
    # The run allows 30 s of lock wait but only 2 s per statement: if the file's 100ms were
    # ignored, the statement timeout would fire first, with another error.
    (folder / f"{NEXT}-add-note.sql").write_text("-- socialdb: lock_timeout=100ms\n" + ALTER)
    options = RunOptions(lock_timeout_ms=30_000, statement_timeout_ms=2000, lock_retries=1)
    with pytest.raises(LockNotAvailableError, match="after 1 attempts"):
        runner.up(db_url, folder, options)
    blocker.close()


def test_statement_timeout_cancels_a_slow_migration(db_url: str, folder: Path) -> None:
    (folder / f"{NEXT}-add-note.sql").write_text(
        "CREATE TABLE slow (id int);\nSELECT pg_sleep(5);\n-- ROLLBACK\nDROP TABLE slow;\n"
    )
    with pytest.raises(MigrationFailed, match=rf"^{NEXT}-add-note.sql:2: canceling statement due to statement timeout"):
        runner.up(db_url, folder, RunOptions(statement_timeout_ms=200))
    assert history(db_url)[-1] == (LATEST, "applied")
