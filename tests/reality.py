"""What a statement really locks and does, read from a real server, and its comparison with the plan.

A statement that can run in a transaction runs in one: afterwards, still inside it, pg_locks
lists every relation lock it took (they are held to the end), pg_class.relfilenode shows a
rewrite, and pg_stat_xact_user_tables counts its scans. A statement that cannot (CREATE INDEX
CONCURRENTLY, DROP INDEX CONCURRENTLY, VACUUM ...) commits on its own as it goes; it is held
at its wait by a blocking session and its locks read from pg_locks while it waits, and an
event trigger logs the locks it holds when it ends (ddl_command_end, sql_drop). Together
they are what it held.

The reads inside a transaction are socialdb.schema.trace's, which `migrate plan --trace` uses
on its scratch copy: one machinery for both. Only relations that existed before the statement count: locks on what it creates are its own
business. An index the plan does not name may be locked no more strongly than its table (the
planner opens every index of a table it reads, the executor every index of a table it writes).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import psycopg
from psycopg import sql

from socialdb.planner.lock_modes import Analysis, DataEffect, LockLevel, When
from socialdb.schema.trace import LOCKS, Observation, Rel, in_transaction, relations
from socialdb.schema.trace import record as _record
from socialdb.schema.trace import rewrites as _rewrites

__all__ = ["Observation", "Rel", "in_transaction", "relations"]

LOG_SETUP = [
    "CREATE TABLE socialdb_lock_log (relation oid, mode text)",
    """CREATE FUNCTION socialdb_lock_log() RETURNS event_trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO socialdb_lock_log SELECT relation, mode FROM pg_locks
         WHERE pid = pg_backend_pid() AND locktype = 'relation'
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database());
       END $$""",
    "CREATE EVENT TRIGGER socialdb_lock_end ON ddl_command_end EXECUTE FUNCTION socialdb_lock_log()",
    "CREATE EVENT TRIGGER socialdb_lock_drop ON sql_drop EXECUTE FUNCTION socialdb_lock_log()",
]
LOG_TEARDOWN = [
    "DROP EVENT TRIGGER IF EXISTS socialdb_lock_end",
    "DROP EVENT TRIGGER IF EXISTS socialdb_lock_drop",
    "DROP FUNCTION IF EXISTS socialdb_lock_log()",
    "DROP TABLE IF EXISTS socialdb_lock_log",
]
WAIT_S = 30


def outside_transaction(url: str, statement: str, blocker: tuple[str, LockLevel] | None) -> Observation:
    """Run a statement that cannot run in a transaction, held at its first wait by `blocker`
    (a table and the lock a second session holds on it), logging its locks while it waits and
    when it ends."""
    with psycopg.connect(url, autocommit=True) as admin:
        observation = Observation(relations(admin))
        for step in LOG_SETUP:
            admin.execute(step)  # type: ignore[arg-type]
        try:
            _run_held(url, admin, statement, blocker, observation)
            _record(observation, admin.execute("SELECT relation, mode FROM socialdb_lock_log").fetchall())  # type: ignore[arg-type]
        finally:
            for step in LOG_TEARDOWN:
                admin.execute(step)  # type: ignore[arg-type]
        observation.rewritten = _rewrites(observation.before, relations(admin))
    return observation


def _run_held(
    url: str,
    admin: psycopg.Connection[tuple[object, ...]],
    statement: str,
    blocker: tuple[str, LockLevel] | None,
    observation: Observation,
) -> None:
    with psycopg.connect(url, autocommit=True) as holder, psycopg.connect(url, autocommit=True) as worker:
        if blocker is not None:
            table, level = blocker
            schema, name = table.split(".", 1)
            holder.execute("BEGIN")
            target = sql.Identifier(schema, name)
            if level == LockLevel.SHARE_UPDATE_EXCLUSIVE:  # ANALYZE holds it to commit, on a materialized view too
                holder.execute(sql.SQL("ANALYZE {}").format(target))
            elif level == LockLevel.ACCESS_SHARE:
                holder.execute(sql.SQL("SELECT FROM {} LIMIT 0").format(target))
            else:
                holder.execute(
                    sql.SQL("LOCK TABLE {} IN {} MODE").format(sql.Identifier(schema, name), sql.SQL(level.value))
                )
        failure: list[BaseException] = []
        thread = threading.Thread(target=_execute, args=(worker, statement, failure), daemon=True)
        thread.start()
        if blocker is not None:
            _wait_until_waiting(admin, worker.info.backend_pid, thread)
            _record(observation, admin.execute(LOCKS, (worker.info.backend_pid,)).fetchall())  # type: ignore[arg-type]
            holder.execute("ROLLBACK")
        thread.join(WAIT_S * 2)
        assert not thread.is_alive(), f"{statement!r} still running after {WAIT_S * 2} s"
        if failure:
            raise failure[0]


def _execute(conn: psycopg.Connection[tuple[object, ...]], statement: str, failure: list[BaseException]) -> None:
    try:
        conn.execute(statement)  # type: ignore[arg-type]
    except BaseException as exc:
        failure.append(exc)


def _wait_until_waiting(admin: psycopg.Connection[tuple[object, ...]], pid: int, thread: threading.Thread) -> None:
    deadline = time.monotonic() + WAIT_S
    query = "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s"
    while thread.is_alive():
        row = admin.execute(query, (pid,)).fetchone()
        if row is not None and row[0] == "Lock":
            return
        assert time.monotonic() < deadline, f"pid {pid} never waited for the blocking session"
        time.sleep(0.01)


# -- comparing -----------------------------------------------------------------------------


def compare(analysis: Analysis, observation: Observation) -> list[str]:
    """Every difference between what the plan says and what the server did; [] when they agree."""
    rels = observation.by_name()
    created = set(analysis.creates)
    allowed: dict[str, set[LockLevel]] = defaultdict(set)
    required: dict[str, set[LockLevel]] = defaultdict(set)
    problems: list[str] = []
    for take in analysis.takes:
        if take.relation in created:
            continue
        if take.relation not in rels:
            problems.append(f"predicted {take.level} on {take.relation}, which does not exist")
            continue
        allowed[take.relation].add(take.level)
        if take.when == When.ALWAYS:
            required[take.relation].add(take.level)
    problems += _unexpected(observation, rels, allowed)
    for name, levels in required.items():
        missing = levels - observation.locks.get(name, set())
        problems += [f"predicted {level} on {name}, not taken" for level in sorted(missing, key=lambda lv: lv.rank)]
    return problems + _effects(analysis, observation, rels)


def _unexpected(observation: Observation, rels: dict[str, Rel], allowed: dict[str, set[LockLevel]]) -> list[str]:
    problems = []
    for name, levels in observation.locks.items():
        rel = rels[name]
        if name in allowed:
            extra = levels - allowed[name]
        elif rel.table is not None and rel.table in allowed:  # an index follows its table
            top = max(level.rank for level in allowed[rel.table])
            extra = {level for level in levels if level.rank > top}
        else:
            extra = levels
        problems += [f"took {level} on {name}, not predicted" for level in sorted(extra, key=lambda lv: lv.rank)]
    return problems


def _effects(analysis: Analysis, observation: Observation, rels: dict[str, Rel]) -> list[str]:
    """A rewrite (or TRUNCATE) changes relfilenode; a scan shows in pg_stat_xact_user_tables."""
    effects = {e.relation: e.effect for e in analysis.effects if e.relation in rels}
    predicted = {n for n, e in effects.items() if e in (DataEffect.REWRITE, DataEffect.EMPTIES)}
    problems = [f"predicted a rewrite of {n}, none happened" for n in sorted(predicted - observation.rewritten)]
    problems += [f"rewrote {n}, not predicted" for n in sorted(observation.rewritten - predicted)]
    # ANALYZE reads a sample of each table, which no scan counter counts (PostgreSQL's heapam
    # counts sequential scans only): its predicted scans cannot be checked.
    if observation.scanned is not None and analysis.command != "ANALYZE":
        for name, effect in effects.items():
            if effect == DataEffect.SCAN and not observation.scanned.get(name):
                problems.append(f"predicted a scan of {name}, none happened")
    return problems


_BLOCKERS = {
    "CREATE INDEX CONCURRENTLY": LockLevel.ROW_EXCLUSIVE,
    "REINDEX CONCURRENTLY": LockLevel.ROW_EXCLUSIVE,
    "DROP INDEX CONCURRENTLY": LockLevel.ACCESS_SHARE,
    "VACUUM": LockLevel.SHARE_UPDATE_EXCLUSIVE,
    "VACUUM FULL": LockLevel.ACCESS_SHARE,
}


def blocker_for(analysis: Analysis, before: dict[int, Rel]) -> tuple[str, LockLevel] | None:
    """The lock a second session holds so that the statement waits, on the table it works on:
    one that conflicts with what it waits for (CREATE INDEX CONCURRENTLY waits for writers, DROP
    INDEX CONCURRENTLY for every session using the table), or, where it waits for nobody (VACUUM),
    one that conflicts with the lock it asks for."""
    level = _BLOCKERS.get(analysis.command)
    kinds = {rel.name: rel.kind for rel in before.values()}
    tables = [t.relation for t in analysis.takes if kinds.get(t.relation) in ("r", "p", "m")]
    if level is None or not tables:
        return None
    if kinds[tables[0]] == "m" and level == LockLevel.ROW_EXCLUSIVE:  # nobody writes a materialized view
        level = LockLevel.SHARE_UPDATE_EXCLUSIVE
    return tables[0], level
