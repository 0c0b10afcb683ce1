"""Who a waiting migration is waiting for, read from pg_blocking_pids while it waits.

Once lock_timeout fires the wait is over and the blockers can no longer be
asked for, so a background thread samples them during the statement.
"""

from __future__ import annotations

import threading
from types import TracebackType

import psycopg

from socialdb.db import Conn

JOIN_S = 10  # how long the end of a statement waits for a sample in flight
_BLOCKERS = """
SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'), coalesce(a.state, '?'),
       left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 160)
FROM pg_stat_activity a
WHERE a.pid = ANY (pg_blocking_pids(%s))
ORDER BY a.pid
"""


def blockers_of(conn: Conn, pid: int) -> list[str]:
    """One phrase per session blocking `pid`: its pid, application_name, state and query."""
    rows = conn.execute(_BLOCKERS, (pid,)).fetchall()
    return [f"pid {p} ({app}, {state}): {query}" for p, app, state, query in rows]


class BlockerWatch:
    """Samples the blockers of `pid` on `conn` (not the waiting connection) while a block runs."""

    def __init__(self, conn: Conn, pid: int, lock_timeout_ms: int) -> None:
        self._conn = conn
        self._pid = pid
        self._interval = min(max(lock_timeout_ms / 4000, 0.02), 0.25) if lock_timeout_ms else 0.25
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="socialdb-blockers", daemon=True)
        self.blockers: list[str] = []

    def __enter__(self) -> BlockerWatch:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        # A sample in flight is one short query; never let the advice hold up the run.
        self._thread.join(timeout=JOIN_S)

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                found = blockers_of(self._conn, self._pid)
            except psycopg.Error:
                return  # the watch is advice; never let it break a migration
            if found:
                self.blockers = found
