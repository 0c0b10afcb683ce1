"""Concurrent runners: the advisory lock, the table lease, and PgBouncer in transaction mode."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from typer.testing import CliRunner

from socialdb.cli import app
from socialdb.errors import RunnerLockTimeout
from socialdb.migrate import runner
from socialdb.migrate.lease import LOCK_KEY, migration_lock
from socialdb.scripts.events import Event, WaitingForLock
from socialdb.scripts.options import RunOptions
from tests.helpers import LATEST, finish, history, join, socialdb, wait_for


def finish_all(procs: list[subprocess.Popen[str]], timeout_s: float) -> list[tuple[int, str, str]]:
    """Exit code, stdout and stderr of each; a run still going after `timeout_s` fails the test."""
    outputs = [finish(p, timeout_s) for p in procs]
    return [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs, strict=True)]


def assert_each_applied_once(url: str, results: list[tuple[int, str, str]]) -> None:
    codes = [code for code, _, _ in results]
    assert codes == [0] * len(results), [err for _, _, err in results]
    applied = [line.split()[1] for _, out, _ in results for line in out.splitlines() if line.startswith("applied ")]
    assert sorted(applied) == sorted(set(applied)) and len(applied) == LATEST
    assert history(url) == [(v, "applied") for v in range(1, LATEST + 1)]


@pytest.mark.parametrize("mode", ["advisory", "table"])
def test_eight_runners_at_once_apply_each_migration_once(empty_db_url: str, mode: str) -> None:
    procs = [
        socialdb("migrate", "up", "--database-url", empty_db_url, "--lock-wait", "120s", "--lock-mode", mode)
        for _ in range(8)
    ]
    results = finish_all(procs, 180)
    assert_each_applied_once(empty_db_url, results)


def test_runners_creating_the_lease_table_at_once_all_get_a_clean_answer(empty_db_url: str) -> None:
    # CREATE TABLE IF NOT EXISTS races itself ("type ... already exists"); seen in CI
    # as one runner in eight failing. Each round drops the table and starts eight at once.
    def enter(barrier: threading.Barrier, outcomes: list[str]) -> None:
        barrier.wait(timeout=60)  # a thread that never arrives breaks it: reported as BrokenBarrierError
        try:
            with migration_lock(empty_db_url, "table", 0, lambda _: None):
                outcomes.append("held")
        except RunnerLockTimeout:
            outcomes.append("busy")
        except Exception as error:  # the failure under test, reported by its type
            outcomes.append(f"{type(error).__name__}: {error}")

    for _ in range(25):
        with psycopg.connect(empty_db_url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS migrations_lock")
        barrier, outcomes = threading.Barrier(8), []
        threads = [threading.Thread(target=enter, args=(barrier, outcomes)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            join(thread, 60)
        assert set(outcomes) <= {"held", "busy"} and "held" in outcomes, outcomes


def test_second_runner_names_the_holder_and_gives_up(empty_db_url: str) -> None:
    with psycopg.connect(empty_db_url, autocommit=True, application_name="deploy-42") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        reported: list[Event] = []
        with pytest.raises(RunnerLockTimeout) as caught:
            runner.up(empty_db_url, options=RunOptions(lock_wait_s=1), report=reported.append)
        pid = holder.info.backend_pid
        assert len(reported) == 1 and isinstance(reported[0], WaitingForLock)  # said once, however long the wait
        assert reported[0].holder.startswith(f"pid {pid} (deploy-42) from local socket, connected since")
        assert str(reported[0]) == f"waiting for the migration lock, held by {reported[0].holder}"
        assert f"another socialdb run holds the migration lock: pid {pid} (deploy-42)" in str(caught.value)
        assert "gave up after 1s" in str(caught.value)
        result = CliRunner().invoke(app, ["migrate", "up", "--database-url", empty_db_url, "--lock-wait", "1s"])
        assert result.exit_code == 1 and "deploy-42" in result.stderr
    assert history(empty_db_url) == []


def test_runner_waits_for_the_lock_then_proceeds(empty_db_url: str) -> None:
    holder = psycopg.connect(empty_db_url, autocommit=True, application_name="deploy-41")
    holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    proc = socialdb("migrate", "up", "--database-url", empty_db_url, "--lock-wait", "60s")

    def runner_is_polling() -> bool:
        row = holder.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'socialdb migrate lock'")
        return row.fetchone() == (1,)

    wait_for(runner_is_polling, 60, "the second runner to poll")
    polled = "SELECT query_start FROM pg_stat_activity WHERE application_name = 'socialdb migrate lock'"
    first = holder.execute(polled).fetchone()
    # It polls again, still waiting: a later query_start, not a fixed sleep.
    wait_for(lambda: holder.execute(polled).fetchone() not in (first, None), 30, "the runner to poll again")
    assert proc.poll() is None and history(empty_db_url) == []
    holder.close()
    out, _ = finish(proc, 120)
    assert proc.returncode == 0
    assert out.splitlines()[0].startswith("waiting for the migration lock, held by pid")
    assert history(empty_db_url)[-1] == (LATEST, "applied")


def test_table_lease_is_respected_until_it_expires(empty_db_url: str) -> None:
    runner.up(empty_db_url, options=RunOptions(lock_mode="table"))  # creates migrations_lock
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO migrations_lock (owner, acquired_at, expires_at)"
            " VALUES ('ci-runner-7 pid 99', now(), now() + interval '1 hour')"
        )
        with pytest.raises(RunnerLockTimeout, match="ci-runner-7 pid 99, since .* lease until"):
            runner.down(empty_db_url, 1, options=RunOptions(lock_mode="table", lock_wait_s=1))
        conn.execute("UPDATE migrations_lock SET expires_at = now() - interval '1 second'")  # the owner died
        done = runner.down(empty_db_url, 1, options=RunOptions(lock_mode="table", lock_wait_s=5))
        assert [o.migration.version for o in done] == [LATEST]
        assert conn.execute("SELECT count(*) FROM migrations_lock").fetchone() == (0,)  # released


# --- PgBouncer in transaction-pooling mode ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pgbouncer(server_url: str) -> Iterator[str]:
    """A real PgBouncer in transaction mode in front of the test server; yields its URL."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        pytest.skip("pgbouncer is not installed (Debian package pgbouncer; .ci/run installs it)")
    params = conninfo_to_dict(server_url)
    host, port = str(params.get("host") or "localhost"), str(params.get("port") or 5432)
    work = Path(tempfile.mkdtemp(prefix="socialdb-pgbouncer-"))
    listen = _free_port()
    (work / "pgbouncer.ini").write_text(
        f"[databases]\n* = host={host} port={port} user={params.get('user', 'postgres')}\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {listen}\nauth_type = any\n"
        "pool_mode = transaction\nmax_client_conn = 200\ndefault_pool_size = 10\nunix_socket_dir =\n"
        f"logfile = {work}/pgbouncer.log\n"
    )
    command = [binary, str(work / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer will not run as root: run it as the server's own user
        owner = pwd.getpwuid(os.stat(host).st_uid).pw_name if host.startswith("/") else "postgres"
        shutil.chown(work, owner)
        command = ["runuser", "-u", owner, "--", *command]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = make_conninfo("", host="127.0.0.1", port=listen, user="postgres", dbname="postgres")

    def ready() -> bool:
        try:
            psycopg.connect(url, connect_timeout=1).close()
            return True
        except psycopg.OperationalError:
            return False

    wait_for(ready, 20, "pgbouncer")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("pgbouncer did not stop within 10 s of SIGTERM; killed") from None
    shutil.rmtree(work, ignore_errors=True)


def test_eight_runners_through_pgbouncer_in_table_mode(empty_db_url: str, pgbouncer: str) -> None:
    name = str(conninfo_to_dict(empty_db_url)["dbname"])
    through = make_conninfo(pgbouncer, dbname=name)
    procs = [
        socialdb("migrate", "up", "--database-url", through, "--lock-wait", "120s", "--lock-mode", "table")
        for _ in range(8)
    ]
    results = finish_all(procs, 180)
    assert_each_applied_once(empty_db_url, results)
