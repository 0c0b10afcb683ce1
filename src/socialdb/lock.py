"""The runner's lock: one migration run per database at a time.

A PostgreSQL session advisory lock, key LOCK_KEY (the ASCII bytes of "socialdb"
as a signed bigint), taken on a connection of its own that is autocommit and so
never inside an open transaction: CREATE INDEX CONCURRENTLY waits for every open
transaction, and would wait forever on one that holds its own runner's lock.
The lock goes when the session goes, so a killed runner never leaves it behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from socialdb.connection import connect
from socialdb.errors import RunnerLockTimeout
from socialdb.history import Conn

LOCK_KEY = int.from_bytes(b"socialdb", "big", signed=True)  # 8317697869298574434
POLL_S = 0.5

# pg_locks splits a bigint advisory key: classid = high 32 bits, objid = low 32 bits, objsubid = 1.
_HOLDER = """
SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'),
       coalesce(host(a.client_addr), a.client_hostname, 'local socket'),
       to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"')
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.classid = %s::oid AND l.objid = %s::oid
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def holder(conn: Conn) -> str:
    """Who holds the lock, as one phrase for messages."""
    key = LOCK_KEY & 0xFFFFFFFFFFFFFFFF
    row = conn.execute(_HOLDER, (key >> 32, key & 0xFFFFFFFF)).fetchone()
    if row is None:
        return "a session that just released it"
    pid, app, host, since = row
    return f"pid {pid} ({app}) from {host}, connected since {since}"


@contextmanager
def advisory_lock(url: str, wait_s: float, report: Callable[[str], None]) -> Iterator[Conn]:
    """Hold the migration lock for the block; poll up to `wait_s`, then raise RunnerLockTimeout."""
    conn = connect(url, autocommit=True, purpose="migrate lock")
    try:
        _acquire(conn, wait_s, report)
        try:
            yield conn
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    finally:
        conn.close()


def _acquire(conn: Conn, wait_s: float, report: Callable[[str], None]) -> None:
    deadline = time.monotonic() + wait_s
    announced = False
    while True:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
        if row is not None and row[0]:
            return
        who = holder(conn)
        if time.monotonic() >= deadline:
            raise RunnerLockTimeout(
                f"another socialdb run holds the migration lock: {who}; gave up after {wait_s:g}s"
                " (wait for it to finish, raise --lock-wait, or end that session if it is stuck)"
            )
        if not announced:
            report(f"waiting for the migration lock, held by {who}")
            announced = True
        time.sleep(POLL_S)
