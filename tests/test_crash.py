"""A runner killed or interrupted mid-migration leaves nothing half-applied and no lock behind."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import typer
from typer.testing import CliRunner

from socialdb import cli
from socialdb.cli import migrate as cli_migrate
from socialdb.errors import Interrupted
from socialdb.migrate import interrupts, runner
from socialdb.migrate.lease import LOCK_KEY
from tests.helpers import (
    finish,
    history,
    join,
    sessions_running,
    sessions_waiting,
    socialdb,
    tables,
    wait_for,
    write_migrations,
)

QUICK = "CREATE TABLE a (id int);\n-- ROLLBACK\nDROP TABLE a;\n"
SLOW = "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\nSELECT pg_sleep(60);\n-- ROLLBACK\nDROP TABLE b;\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_migrations(tmp_path / "m", {"001-a.sql": QUICK, "002-slow.sql": SLOW})


def start_and_wait_for_sleep(url: str, folder: Path, sigint_ignored: bool = False) -> subprocess.Popen[str]:
    proc = socialdb("migrate", "up", "--database-url", url, "--dir", str(folder), sigint_ignored=sigint_ignored)
    try:
        wait_for(lambda: sessions_running(url, "pg_sleep(60)") == 1, 60, "the slow migration to start")
    except AssertionError:
        proc.kill()
        raise
    return proc


def lock_is_free(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
        return row == (True,)


def test_kill_9_mid_migration_leaves_nothing_and_a_rerun_completes(empty_db_url: str, folder: Path) -> None:
    proc = start_and_wait_for_sleep(empty_db_url, folder)
    proc.send_signal(signal.SIGKILL)
    finish(proc, 30)
    # The server notices the dead client within client_connection_check_interval and rolls back.
    wait_for(lambda: sessions_running(empty_db_url, "pg_sleep(60)") == 0, 20, "the orphaned statement to end")
    assert "b" not in tables(empty_db_url)
    assert history(empty_db_url) == [(1, "applied")]
    assert lock_is_free(empty_db_url)
    (folder / "002-slow.sql").write_text(SLOW.replace("SELECT pg_sleep(60);\n", ""))  # not applied: editable
    rerun = socialdb("migrate", "up", "--database-url", empty_db_url, "--dir", str(folder))
    out, err = finish(rerun, 60)
    assert rerun.returncode == 0, err
    assert "applied 002-slow.sql" in out
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM b").fetchone() == (1,)


@pytest.mark.parametrize(
    ("signum", "sigint_ignored"),
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)],
    # A background job of a non-interactive shell starts with SIGINT ignored; a suite run so
    # once saw `migrate up` sleep on through its SIGINT (issue 11, the lost cancel).
    ids=["SIGINT", "SIGTERM", "SIGINT-inherited-as-ignored"],
)
def test_signal_cancels_rolls_back_and_says_what_happened(
    empty_db_url: str, folder: Path, signum: int, sigint_ignored: bool
) -> None:
    proc = start_and_wait_for_sleep(empty_db_url, folder, sigint_ignored)
    proc.send_signal(signum)
    _, err = finish(proc, 30)
    assert proc.returncode == 128 + signum, err
    assert err.strip().splitlines() == [
        f"error: interrupted by {signal.Signals(signum).name}: 002-slow.sql was rolled back, nothing of it applied;"
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
            "002-slow.sql": "-- socialdb: transaction=off rollback=none\nCREATE TABLE b (id int);\nSELECT pg_sleep(60);\n",
        },
    )
    proc = start_and_wait_for_sleep(empty_db_url, folder)
    proc.send_signal(signal.SIGTERM)
    _, err = finish(proc, 30)
    assert proc.returncode == 143
    assert "002-slow.sql stopped midway and is recorded as failed" in err
    assert history(empty_db_url) == [(1, "applied"), (2, "failed")]
    assert lock_is_free(empty_db_url)


OFF = "-- socialdb: transaction=off rollback=none\nCREATE TABLE IF NOT EXISTS b (id int);\nSELECT pg_sleep(60);\n"


def test_kill_9_inside_a_nontransactional_migration_leaves_it_recorded_as_not_finished(
    empty_db_url: str, tmp_path: Path
) -> None:
    folder = write_migrations(tmp_path / "m", {"001-a.sql": QUICK, "002-slow.sql": OFF})
    proc = start_and_wait_for_sleep(empty_db_url, folder)
    # While the run holds the lock, the row's "not finished" is a run under way, not a failure.
    assert [r.state for r in runner.status(empty_db_url, folder)] == ["applied", "running"]
    assert runner.verify(empty_db_url, folder) == []
    proc.send_signal(signal.SIGKILL)
    finish(proc, 30)
    wait_for(lambda: sessions_running(empty_db_url, "pg_sleep(60)") == 0, 20, "the orphaned statement to end")
    assert [r.state for r in runner.status(empty_db_url, folder)] == ["applied", "failed"]
    assert [p.state for p in runner.verify(empty_db_url, folder)] == ["failed"]
    assert "b" in tables(empty_db_url)  # its first statement stays committed
    assert history(empty_db_url) == [(1, "applied"), (2, "failed")]
    assert lock_is_free(empty_db_url)
    rerun = socialdb("migrate", "up", "--database-url", empty_db_url, "--dir", str(folder))
    _, err = finish(rerun, 60)  # refused, not run again from the top
    assert rerun.returncode == 1
    assert err.strip().splitlines() == [
        "error: 002-slow.sql: failed midway (not finished: a run is applying it now, or one ended inside it without"
        " a word (killed, its connection lost); the statements it had run stay committed); fix it so that a rerun"
        " skips what is done (e.g. IF NOT EXISTS), then run `socialdb migrate resolve 2 --retry` or `--mark-applied`"
    ]
    (folder / "002-slow.sql").write_text(OFF.replace("SELECT pg_sleep(60);\n", "SELECT 1;\n"))
    retry = socialdb("migrate", "resolve", "2", "--retry", "--database-url", empty_db_url, "--dir", str(folder))
    _, err = finish(retry, 60)
    assert retry.returncode == 0, err
    assert history(empty_db_url) == [(1, "applied"), (2, "applied")]


SLOW_COMMIT = """-- socialdb: transaction=off rollback=none
CREATE TABLE b (id int);
CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER b_slow AFTER INSERT ON b DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow();
INSERT INTO b VALUES (1);
"""


def test_a_signal_cancels_the_work_a_statements_commit_does(empty_db_url: str, tmp_path: Path) -> None:
    """A deferred trigger runs at the statement's COMMIT (decision 108): the signal cancels it there."""
    folder = write_migrations(tmp_path / "m", {"001-slow-commit.sql": SLOW_COMMIT})
    proc = socialdb("migrate", "up", "--database-url", empty_db_url, "--dir", str(folder))
    try:
        wait_for(lambda: sessions_waiting(empty_db_url, "Timeout", "PgSleep") == 1, 60, "the deferred trigger")
    except AssertionError:
        proc.kill()
        raise
    proc.send_signal(signal.SIGTERM)
    _, err = finish(proc, 30)  # not the trigger's 60 s
    assert proc.returncode == 143, err
    assert "001-slow-commit.sql stopped midway and is recorded as failed" in err
    assert history(empty_db_url) == [(1, "failed")]
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM b").fetchone() == (0,)


@pytest.mark.parametrize(
    ("after", "message", "applied"),
    [
        (
            "001-a.sql",
            "interrupted by SIGTERM: 002-b.sql was rolled back, nothing of it applied; applied before it: 001-a.sql",
            [(1, "applied")],
        ),
        (
            "002-b.sql",
            "interrupted by SIGTERM as the run ended, after its work was done",
            [(1, "applied"), (2, "applied")],
        ),
    ],
    ids=["between-migrations", "after-the-last"],
)
def test_a_signal_right_after_a_commit_is_not_reported_as_a_rollback(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: str, message: str, applied: list[object]
) -> None:
    # The signal lands between a migration's COMMIT and the report of it: the run must not
    # call that migration rolled back (before, it said "001-a.sql was rolled back" of a committed one).
    folder = write_migrations(
        tmp_path / "m", {"001-a.sql": QUICK, "002-b.sql": "CREATE TABLE b (id int);\n-- ROLLBACK\nDROP TABLE b;\n"}
    )

    def say(line: str) -> None:
        typer.echo(line)
        if line.startswith(f"applied {after} "):
            signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(cli_migrate, "say", say)  # what `migrate up` reports through
    result = CliRunner().invoke(cli.app, ["migrate", "up", "--database-url", empty_db_url, "--dir", str(folder)])
    assert result.exit_code == 143, result.output
    assert result.stderr.strip().splitlines() == [f"error: {message}"]
    assert history(empty_db_url) == applied
    assert lock_is_free(empty_db_url)


# --- signals at random moments ------------------------------------------------------------------

# Each table is created and filled by its own migration: a migration is applied exactly
# when its table exists with its row and its history row says so.
STRESS = {
    "001-a.sql": "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n-- ROLLBACK\nDROP TABLE a;\n",
    "002-b.sql": "CREATE TABLE b (id int);\nSELECT pg_sleep(0.05);\nINSERT INTO b VALUES (1);\n-- ROLLBACK\nDROP TABLE b;\n",
    "003-c.sql": "CREATE TABLE c (id int);\nINSERT INTO c VALUES (1);\nSELECT pg_sleep(60);\n-- ROLLBACK\nDROP TABLE c;\n",
    "004-d.sql": "CREATE TABLE d (id int);\nINSERT INTO d VALUES (1);\n-- ROLLBACK\nDROP TABLE d;\n",
}
TABLE_OF = {1: "a", 2: "b", 3: "c", 4: "d"}
FILE_OF = {int(name[:3]): name for name in STRESS}
RUNS = 30
PROMPT_S = 20  # liveness only: a cancel is retried every second, and escalated after 10 s


@dataclass(frozen=True)
class Shot:
    signum: int
    delay_s: float  # after the runner's lock connection appears: lock, connect, plan, 001, 002, into 003's sleep
    sigint_ignored: bool

    def __str__(self) -> str:
        ignored = ", SIGINT inherited as ignored" if self.sigint_ignored else ""
        return f"{signal.Signals(self.signum).name} {self.delay_s * 1000:.0f} ms in{ignored}"


def _shots(rng: random.Random) -> list[Shot]:
    shots = []
    for n in range(RUNS):
        signum = (signal.SIGINT, signal.SIGTERM)[n % 2]
        # Most in the first 150 ms, where the run connects, plans, applies 001 and 002 and starts 003.
        delay = rng.uniform(0, 0.15) if rng.random() < 0.75 else rng.uniform(0.15, 0.4)
        shots.append(Shot(signum, delay, signum == signal.SIGINT and n % 4 == 0))
    return shots


def _fire(url: str, folder: Path, watcher: psycopg.Connection[tuple[object, ...]], shot: Shot) -> tuple[int, str]:
    proc = socialdb("migrate", "up", "--database-url", url, "--dir", str(folder), sigint_ignored=shot.sigint_ignored)

    deadline = time.monotonic() + 60
    while _runner_sessions(watcher) == 0:  # polled finely: the delay counts from here
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise AssertionError(f"{shot}: the runner never connected; {finish(proc, 10)}")
        time.sleep(0.002)
    time.sleep(shot.delay_s)
    proc.send_signal(shot.signum)
    try:
        _, err = finish(proc, PROMPT_S)
    except AssertionError as exc:
        raise AssertionError(f"{shot}: {exc}") from None
    return proc.returncode, err


def _runner_sessions(watcher: psycopg.Connection[tuple[object, ...]]) -> int:
    row = watcher.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'socialdb%'"
    ).fetchone()
    return int(row[0]) if row else 0  # type: ignore[call-overload]


_ROLLED_BACK = re.compile(
    r"interrupted by (\w+): (\S+) was rolled back, nothing of it applied; applied before it: (.+)"
)
_BETWEEN = re.compile(r"interrupted by (\w+); applied before it: (.+)")
_LOCK = re.compile(r"interrupted by (\w+) (?:while waiting for|before) the migration lock; nothing was changed")


def _claimed(line: str) -> tuple[str, list[str], str | None]:
    """(signal name, files the message says were applied, file it says was rolled back) of the one line."""
    assert line.startswith("error: "), line
    if m := _ROLLED_BACK.fullmatch(line[7:]):
        return m[1], ([] if m[3] == "none" else m[3].split(", ")), m[2]
    if m := _BETWEEN.fullmatch(line[7:]):
        return m[1], ([] if m[2] == "none" else m[2].split(", ")), None
    if m := _LOCK.fullmatch(line[7:]):
        return m[1], [], None
    raise AssertionError(f"not a message about an interruption: {line!r}")


def _assert_consistent(url: str, shot: Shot, code: int, err: str) -> None:
    lines = err.strip().splitlines()
    assert code == 128 + shot.signum and len(lines) == 1, (str(shot), code, err)
    name, claimed, rolled_back = _claimed(lines[0])
    rows = history(url)
    applied = [version for version, _ in rows]
    assert name == signal.Signals(shot.signum).name
    assert all(state == "applied" for _, state in rows) and applied == list(range(1, len(applied) + 1)), rows
    assert len(applied) <= 2, rows  # 003 sleeps for a minute: it can only have been interrupted
    assert tables(url) & set(TABLE_OF.values()) == {TABLE_OF[v] for v in applied}, (str(shot), rows)
    with psycopg.connect(url) as conn:
        for version in applied:
            assert conn.execute(f"SELECT count(*) FROM {TABLE_OF[version]}").fetchone() == (1,)
    assert claimed == [FILE_OF[v] for v in applied], (str(shot), lines[0], rows)
    assert rolled_back in (None, FILE_OF[len(applied) + 1]), (str(shot), lines[0])


def _reset(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    conn.execute("DROP TABLE IF EXISTS a, b, c, d, migrations, migrations_lock")


def test_signals_at_random_moments_end_the_run_promptly_and_leave_it_consistent(
    empty_db_url: str, tmp_path: Path
) -> None:
    folder = write_migrations(tmp_path / "m", STRESS)
    seed = int.from_bytes(os.urandom(4), "big")
    with psycopg.connect(empty_db_url, autocommit=True) as watcher:
        for shot in _shots(random.Random(seed)):
            code, err = _fire(empty_db_url, folder, watcher, shot)
            _assert_consistent(empty_db_url, shot, code, err)
            # Cancelled on the server, not left to run on; every session of the run gone, the lock with it.
            wait_for(lambda: sessions_running(empty_db_url, "pg_sleep(") == 0, 5, f"the cancel ({shot}, seed {seed})")
            wait_for(lambda: _runner_sessions(watcher) == 0, 5, f"the runner's sessions to end ({shot})")
            assert lock_is_free(empty_db_url)
            _reset(watcher)


# --- the cancel itself, in this process ---------------------------------------------------------


def _signal_main_thread(signum: int, after_s: float) -> threading.Thread:
    main = threading.main_thread().ident
    assert main is not None

    def send() -> None:
        time.sleep(after_s)
        signal.pthread_kill(main, signum)

    sender = threading.Thread(target=send, name="signal-sender")
    sender.start()
    return sender


def test_a_signal_cancels_the_statement_on_the_server_and_leaves_the_connection_usable(empty_db_url: str) -> None:
    with psycopg.connect(empty_db_url, autocommit=True) as conn, interrupts.handled(), interrupts.deferred():
        sender = _signal_main_thread(signal.SIGTERM, 0.3)
        with pytest.raises(KeyboardInterrupt) as caught, interrupts.cancellable(conn):
            conn.execute("SELECT pg_sleep(60)")
        join(sender, 10)
        assert interrupts.signal_number(caught.value) == signal.SIGTERM
        assert isinstance(caught.value.__context__, psycopg.errors.QueryCanceled)  # the server ended it
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the cancelled statement's answer was read


def test_a_signal_outside_a_statement_waits_for_the_next_safe_point() -> None:
    with interrupts.handled(), interrupts.deferred():
        join(_signal_main_thread(signal.SIGINT, 0), 10)
        wait_for(lambda: interrupts.pending() == signal.SIGINT, 10, "the signal to be recorded")
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()


def test_a_cancel_the_server_never_gets_still_ends_the_wait(empty_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every cancel request lost: after CANCEL_GIVE_UP_S the wait itself is interrupted, and
    # psycopg, its own cancel lost too, closes the connection.
    monkeypatch.setattr(psycopg.Connection, "cancel_safe", lambda self, timeout=30.0: None)
    monkeypatch.setattr(interrupts, "CANCEL_GIVE_UP_S", 0.5)
    with psycopg.connect(empty_db_url, autocommit=True) as conn, interrupts.handled(), interrupts.deferred():
        conn.execute("SET client_connection_check_interval = '200ms'")  # as the runner sets it
        sender = _signal_main_thread(signal.SIGINT, 0.3)
        with pytest.raises(KeyboardInterrupt), interrupts.cancellable(conn):
            conn.execute("SELECT pg_sleep(60)")
        join(sender, 10)
        assert conn.closed
    wait_for(lambda: sessions_running(empty_db_url, "pg_sleep(60)") == 0, 10, "the server to end the statement")


def test_a_signal_before_the_lock_says_nothing_was_changed(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quick answer's read comes before the lock (decision 270): a signal there ends the run
    with its own line, not a bare "interrupted" (found by the random-signal test above)."""
    folder = write_migrations(tmp_path / "m", {"001-a.sql": QUICK})
    runner.up(empty_db_url, folder)

    def signalled(*args: object, **kwargs: object) -> None:
        raise interrupts.interruption(signal.SIGTERM)

    monkeypatch.setattr(runner.history_mod, "read", signalled)
    with pytest.raises(Interrupted) as caught:
        runner.up(empty_db_url, folder)
    assert str(caught.value) == "interrupted by SIGTERM before the migration lock; nothing was changed"
    assert caught.value.exit_code == 143
