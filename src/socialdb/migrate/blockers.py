"""Who a waiting migration is waiting for, read from pg_blocking_pids while it waits.

Once lock_timeout fires the wait is over and the blockers can no longer be
asked for, so a background thread samples them during the statement. One thread
serves the whole run: starting one per statement cost more than the statements of
a small migration (docs/performance.md, issue 15).

On a Citus coordinator a statement also waits on the workers, for locks on shards, where
pg_blocking_pids does not look: those blockers come from Citus's distributed wait graph
(`citus_lock_waits`, readable by every role), named by global pid and node (decision 190).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType

import psycopg

from socialdb.db import Conn

JOIN_S = 10  # how long the end of a block, or of the run, waits for a sample in flight
IDLE_S = 1.0  # between statements the thread waits for the next one, waking this often to see if the run is over
_BLOCKERS = """
SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'), coalesce(a.state, '?'),
       left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 160)
FROM pg_stat_activity a
WHERE a.pid = ANY (pg_blocking_pids(%s))
ORDER BY a.pid
"""


# Whether this database has Citus's wait graph (the citus extension).
_HAS_CITUS = "SELECT pg_catalog.to_regclass('pg_catalog.citus_lock_waits') IS NOT NULL"
# Blockers on other nodes of the backend `pid` of this node; a query another role runs reads
# '<insufficient privilege>', as in pg_stat_activity.
_CITUS_BLOCKERS = """
WITH here AS (SELECT pg_catalog.citus_nodeid_for_gpid(pg_catalog.citus_backend_gpid()) AS nodeid),
activity AS MATERIALIZED (SELECT global_pid, nodeid, pid, application_name, state FROM pg_catalog.citus_stat_activity)
SELECT w.blocking_gpid,
       pg_catalog.citus_nodename_for_nodeid(w.blocking_nodeid) || ':'
       || pg_catalog.citus_nodeport_for_nodeid(w.blocking_nodeid),
       coalesce(nullif(a.application_name, ''), '?'), coalesce(a.state, '?'),
       left(regexp_replace(coalesce(w.current_statement_in_blocking_process, ''), '\\s+', ' ', 'g'), 160)
FROM pg_catalog.citus_lock_waits AS w
CROSS JOIN here
LEFT JOIN activity AS a
  ON a.global_pid = w.blocking_gpid AND a.nodeid = w.blocking_nodeid
 AND a.pid = pg_catalog.citus_pid_for_gpid(w.blocking_gpid)
WHERE w.waiting_gpid = pg_catalog.citus_calculate_gpid(here.nodeid, %s) AND w.blocking_nodeid <> here.nodeid
ORDER BY 1
"""


def blockers_of(conn: Conn, pid: int, *, citus: bool = False) -> list[str]:
    """One phrase per session blocking `pid`: its pid, application_name, state and query; with
    `citus` (a Citus node), also those on other nodes, by global pid and node."""
    rows = conn.execute(_BLOCKERS, (pid,)).fetchall()
    found = [f"pid {p} ({app}, {state}): {query}" for p, app, state, query in rows]
    if citus:
        remote = conn.execute(_CITUS_BLOCKERS, (pid,)).fetchall()
        found += [f"gpid {g} on {node} ({app}, {state}): {query}" for g, node, app, state, query in remote]
    return found


@dataclass
class Watched:
    """One watched block (a migration's attempt, or a statement): the blockers last seen while it ran."""

    interval_s: float
    blockers: list[str] = field(default_factory=list)


class BlockerWatch:
    """Samples the blockers of `pid` on `conn` (not the waiting connection) during `watching()` blocks.

    Enter it once for the run; each block whose blockers may be wanted runs in `watching()`.
    """

    def __init__(self, conn: Conn, pid: int) -> None:
        self._conn = conn
        self._pid = pid
        self._current: Watched | None = None
        self._citus: bool | None = None  # whether the database has Citus: asked at the first sample
        self._sampling = threading.Lock()  # held for a sample: the end of a block waits for one in flight
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="socialdb-blockers", daemon=True)

    def __enter__(self) -> BlockerWatch:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._wake.set()
        # A sample in flight is one short query; never let the advice hold up the run.
        self._thread.join(timeout=JOIN_S)

    @contextlib.contextmanager
    def watching(self, lock_timeout_ms: int) -> Iterator[Watched]:
        """Sample while the block runs, a few times per lock_timeout (at most every 0.25 s, at least every 20 ms)."""
        interval = min(max(lock_timeout_ms / 4000, 0.02), 0.25) if lock_timeout_ms else 0.25
        watched = Watched(interval)
        self._current = watched
        self._wake.set()
        try:
            yield watched
        finally:
            # A sample in flight is one short query; never let the advice hold up the run.
            got = self._sampling.acquire(timeout=JOIN_S)
            self._current = None
            if got:
                self._sampling.release()

    def _sample(self) -> None:
        while not self._stop.is_set():
            watched = self._current
            if watched is None:
                self._wake.wait(IDLE_S)
                self._wake.clear()
                continue
            if self._stop.wait(watched.interval_s):
                continue
            with self._sampling:
                if self._current is not watched:
                    continue  # that block is over: look again
                try:
                    if self._citus is None:
                        row = self._conn.execute(_HAS_CITUS).fetchone()
                        self._citus = bool(row and row[0])
                    found = blockers_of(self._conn, self._pid, citus=self._citus)
                except psycopg.Error:
                    return  # the watch is advice; never let it break a migration
                if found:
                    watched.blockers = found
