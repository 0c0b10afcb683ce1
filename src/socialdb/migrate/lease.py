"""The runner's lock: one migration run per database at a time. Two modes.

advisory (default): a PostgreSQL session advisory lock, key LOCK_KEY (the ASCII
bytes of "socialdb" as a signed bigint, 8317976341033804898), taken on a
connection of its own that is autocommit, so never inside an open transaction:
CREATE INDEX CONCURRENTLY waits for every open transaction, and would wait
forever on one holding its own runner's lock. The lock goes with the session,
so a killed runner never leaves it behind.

table: a lease row in `migrations_lock` with an owner and an expiry, renewed
while the run lasts and taken over only once expired. For PgBouncer in
transaction-pooling mode, where a session lock would stay on whichever server
connection took it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from socialdb.db import Conn, connect
from socialdb.errors import Interrupted, RunnerLockTimeout, SocialdbError
from socialdb.migrate import interrupts
from socialdb.scripts.events import Listener, WaitingForLock

LOCK_KEY = int.from_bytes(b"socialdb", "big", signed=True)
# Serialises creating the lease table; its own key, so it never waits on an advisory-mode run.
_CREATE_KEY = int.from_bytes(b"sdbtable", "big", signed=True)
POLL_S = 0.5
LEASE_S = 30  # a lease not renewed for this long is free to take
JOIN_S = 10  # a renewal in flight is a single UPDATE; past this, something is wrong: go on without it

# pg_locks splits a bigint advisory key: classid = high 32 bits, objid = low 32 bits, objsubid = 1.
_ADVISORY_HOLDER = """
SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'),
       coalesce(host(a.client_addr), a.client_hostname, 'local socket'),
       to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"')
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.classid = %s::oid AND l.objid = %s::oid
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
_LEASE_TABLE = """
CREATE TABLE IF NOT EXISTS migrations_lock (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  owner text NOT NULL,
  acquired_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
)
"""
# The lease's own commits wait for the local disk only, never for a synchronous standby: one
# that stopped answering would hold the lease (and the run's exit) past any signal. The
# setting is the statement's own (its implicit transaction's), read before the row is written.
_LOCAL_COMMIT = "WITH local_commit AS (SELECT set_config('synchronous_commit', 'local', true))\n"
_TAKE_LEASE = (
    _LOCAL_COMMIT
    + """INSERT INTO migrations_lock (owner, acquired_at, expires_at)
SELECT %(owner)s, now(), now() + make_interval(secs => %(ttl)s) FROM local_commit
ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, acquired_at = now(), expires_at = EXCLUDED.expires_at
WHERE migrations_lock.expires_at < now()
RETURNING owner
"""
)
_RENEW_LEASE = (
    _LOCAL_COMMIT
    + """UPDATE migrations_lock SET expires_at = now() + make_interval(secs => %(ttl)s)
FROM local_commit WHERE owner = %(owner)s
"""
)
_RELEASE_LEASE = _LOCAL_COMMIT + "DELETE FROM migrations_lock USING local_commit WHERE owner = %(owner)s"
_LEASE_HOLDER = """
SELECT owner, to_char(acquired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
       to_char(expires_at AT TIME ZONE 'UTC', 'HH24:MI:SS "UTC"')
FROM migrations_lock
"""


_LEASE_LIVE = "SELECT EXISTS (SELECT FROM migrations_lock WHERE expires_at > now())"


def _advisory_row(conn: Conn) -> tuple[object, ...] | None:
    """The session holding the advisory lock (_ADVISORY_HOLDER's row), or None."""
    key = LOCK_KEY & 0xFFFFFFFFFFFFFFFF
    return conn.execute(_ADVISORY_HOLDER, (key >> 32, key & 0xFFFFFFFF)).fetchone()


def held(conn: Conn) -> bool:
    """Whether a run holds the migration lock now, in either mode: read-only, takes nothing."""
    if _advisory_row(conn) is not None:
        return True
    exists = conn.execute("SELECT to_regclass('migrations_lock') IS NOT NULL").fetchone()
    if exists is None or not exists[0]:
        return False
    live = conn.execute(_LEASE_LIVE).fetchone()
    return bool(live and live[0])


def advisory_holder(conn: Conn) -> str:
    row = _advisory_row(conn)
    if row is None:
        return "a session that just released it"
    pid, app, host, since = row
    return f"pid {pid} ({app}) from {host}, connected since {since}"


def lease_holder(conn: Conn) -> str:
    row = conn.execute(_LEASE_HOLDER).fetchone()
    if row is None:
        return "a runner that just released it"
    owner, since, expires = row
    return f"{owner}, since {since}, lease until {expires}"


@contextmanager
def migration_lock(url: str, mode: str, wait_s: float, report: Listener) -> Iterator[Conn]:
    """Hold the migration lock for the block; yields the lock's own (autocommit) connection.

    SIGINT and SIGTERM are deferred for the whole run (interrupts.py): acted on in sleeps,
    running statements and safe points, never between a commit and its report.
    """
    with interrupts.deferred():
        conn = connect(url, autocommit=True, purpose="migrate lock")
        try:
            if mode == "advisory":
                with _advisory(conn, wait_s, report):
                    yield conn
            elif mode == "table":
                with _lease(conn, wait_s, report):
                    yield conn
            else:
                raise SocialdbError(f"unknown lock mode {mode!r}: use advisory or table")
        finally:
            conn.close()


@contextmanager
def _advisory(conn: Conn, wait_s: float, report: Listener) -> Iterator[None]:
    def take() -> bool:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
        return bool(row and row[0])

    _poll(take, lambda: advisory_holder(conn), wait_s, report)
    try:
        yield
    finally:
        # A broken connection has lost the lock already; never hide the run's own error.
        with contextlib.suppress(psycopg.Error):
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


@contextmanager
def _lease(conn: Conn, wait_s: float, report: Listener) -> Iterator[None]:
    owner = f"{socket.gethostname()} pid {os.getpid()} run {uuid.uuid4().hex[:8]}"
    _create_lease_table(conn)
    params = {"owner": owner, "ttl": LEASE_S}
    _poll(lambda: conn.execute(_TAKE_LEASE, params).fetchone() is not None, lambda: lease_holder(conn), wait_s, report)
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(conn, params, stop), name="socialdb-lease", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join(timeout=JOIN_S)
        with contextlib.suppress(psycopg.Error):  # unreleased, it expires after LEASE_S
            conn.execute(_RELEASE_LEASE, params)


def _renew(conn: Conn, params: dict[str, object], stop: threading.Event) -> None:
    while not stop.wait(LEASE_S / 3):
        try:
            conn.execute(_RENEW_LEASE, params)
        except psycopg.Error:
            return  # the run's own statements will fail on a dead connection


def _create_lease_table(conn: Conn) -> None:
    # CREATE TABLE IF NOT EXISTS is not safe against itself: two sessions creating
    # the table at once can both pass the check, and the loser fails on pg_type's
    # unique index ("type ... already exists"). A transaction-level advisory lock
    # makes them take turns and works through PgBouncer's transaction pooling too.
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_KEY,))
        conn.execute(_LEASE_TABLE)


def _poll(take: Callable[[], bool], who: Callable[[], str], wait_s: float, report: Listener) -> None:
    deadline = time.monotonic() + wait_s
    announced = False
    try:
        interrupts.check()  # a signal during connect
        while not take():
            holder = who()
            if time.monotonic() >= deadline:
                raise RunnerLockTimeout(
                    f"another socialdb run holds the migration lock: {holder}; gave up after {wait_s:g}s"
                    " (wait for it to finish, raise --lock-wait, or end that session if it is stuck)"
                )
            if not announced:
                report(WaitingForLock(holder))
                announced = True
            interrupts.sleep(POLL_S)
    except KeyboardInterrupt as exc:
        number = interrupts.signal_number(exc)
        name = signal.Signals(number).name
        raise Interrupted(
            f"interrupted by {name} while waiting for the migration lock; nothing was changed", number
        ) from None
