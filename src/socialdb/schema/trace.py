"""`migrate plan --trace`: the physical truth, on a copy (docs/runner.md, "The plan", "--trace").

A scratch database is built from the same migrations, up to the target's newest applied version,
on the target's server (as `schema diff` does) or at `--scratch-url`. Each pending file then runs
there as the runner runs it, in one transaction with its history row, and each statement first
in a savepoint: before the savepoint is rolled back, pg_locks lists the relation locks it took
(held to the end) that the transaction did not hold yet, and pg_class.relfilenode shows what it
rewrote. Relations are mapped back to the target by name. The statement then runs for real, so
the next one sees its effect; the scratch database is dropped at the end, whatever happened.
A lock an earlier statement of the same file already holds is not taken again: the trace cannot
see it, the static plan still shows it.

A statement that cannot run in a transaction (CONCURRENTLY, VACUUM) or a transaction=off file is
not traced: it is applied and its plan says why. An empty copy takes no lock that depends on rows
(foreign-key actions, triggers fired for matching rows) nor on partitions `maintain` makes later.

tests/reality.py checks the static planner against real servers with these same reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from socialdb import planner
from socialdb.db import Conn, connect, mask_url
from socialdb.errors import ScratchDatabaseError, TraceError
from socialdb.planner import LockLevel, Observed, Plan
from socialdb.schema import scratch
from socialdb.scripts import history
from socialdb.scripts.files import Migration, load_checked, load_named
from socialdb.scripts.splitting import Statement

RELATIONS = """
SELECT c.oid, n.nspname || '.' || c.relname, c.relkind::text, c.relfilenode,
       (SELECT tn.nspname || '.' || t.relname FROM pg_index AS i JOIN pg_class AS t ON t.oid = i.indrelid
          JOIN pg_namespace AS tn ON tn.oid = t.relnamespace WHERE i.indexrelid = c.oid)
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
  AND n.nspname NOT LIKE 'pg\\_temp%' AND c.relkind IN ('r', 'p', 'i', 'I', 'v', 'm', 'S', 'f')
"""
LOCKS = """
SELECT relation, mode FROM pg_locks
WHERE pid = %s AND locktype = 'relation' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
SCANS = "SELECT schemaname || '.' || relname, seq_scan + coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables"
SERVER_MAJOR = "SELECT current_setting('server_version_num')::int / 10000"


@dataclass(frozen=True)
class Rel:
    name: str
    kind: str  # pg_class.relkind
    filenode: int
    table: str | None  # an index's table


@dataclass
class Observation:
    """What one statement did: the relation locks it held, what it rewrote and scanned."""

    before: dict[int, Rel]
    locks: dict[str, set[LockLevel]] = field(default_factory=lambda: defaultdict(set))
    rewritten: set[str] = field(default_factory=set)
    scanned: dict[str, int] | None = None  # None: not measurable (the statement ran in several transactions)

    def by_name(self) -> dict[str, Rel]:
        return {rel.name: rel for rel in self.before.values()}


def relations(conn: Conn) -> dict[int, Rel]:
    """Every relation of the database's own schemas, by oid."""
    return {int(oid): Rel(str(n), str(k), int(f), t) for oid, n, k, f, t in conn.execute(RELATIONS)}


def record(observation: Observation, held: Sequence[tuple[object, ...]]) -> None:
    """Add pg_locks rows (relation oid, mode) on relations that existed before the statement."""
    for oid, mode in held:
        rel = observation.before.get(int(str(oid)))
        if rel is not None:
            observation.locks[rel.name].add(LockLevel.from_pg(str(mode)))


def rewrites(before: dict[int, Rel], after: dict[int, Rel]) -> set[str]:
    """Tables and materialized views whose relfilenode changed: rewritten (or truncated)."""
    return {
        r.name for oid, r in before.items() if r.kind in "rmp" and oid in after and after[oid].filenode != r.filenode
    }


def in_transaction(conn: Conn, statement: str, keep: bool) -> Observation:
    """Run `statement` in a transaction of its own on an autocommit connection; commit it if `keep`."""
    observation = Observation(relations(conn))
    conn.execute("BEGIN")
    try:
        # The counters are the backend's stats not yet flushed, which may still hold earlier
        # transactions' scans: only what the statement adds is its own.
        before = _scans(conn)
        conn.execute(statement.encode())
        record(observation, conn.execute(LOCKS, (conn.info.backend_pid,)).fetchall())
        observation.scanned = {n: c - before.get(n, 0) for n, c in _scans(conn).items()}
        observation.rewritten = rewrites(observation.before, relations(conn))
    finally:
        conn.execute("COMMIT" if keep else "ROLLBACK")
    return observation


def _scans(conn: Conn) -> dict[str, int]:
    return {str(n): int(str(c)) for n, c in conn.execute(SCANS)}


# -- the trace of a plan -----------------------------------------------------------------------


def trace(
    plan: Plan,
    url: str | None,
    *,
    scratch_server: str | None = None,
    directory: Path | None = None,
    files: Sequence[Path] = (),
) -> Plan:
    """`plan` joined with what its statements really lock on a scratch copy of the database at `url`
    (None: a new, empty database), built on `scratch_server` (default: the server of `url`)."""
    server = scratch_server or url
    if server is None:
        raise TraceError("--trace needs a server for its scratch copy: give --database-url or --scratch-url")
    _same_major_version(plan, server)
    applied = _applied(url)
    todo = _migrations(plan, directory, files)
    fresh = applied is None
    building = scratch.database(server) if fresh else scratch.migrated(server, to=applied, directory=directory)
    with building as built, connect(built, autocommit=True, purpose="plan --trace") as conn:
        observed, untraced = _run(conn, todo)
    return planner.with_trace(plan, observed, untraced)


def _same_major_version(plan: Plan, server: str) -> None:
    with connect(server, autocommit=True, purpose="plan --trace") as conn:
        row = conn.execute(SERVER_MAJOR).fetchone()
    major = int(str(row[0])) if row else 0
    if major != plan.server_version // 10000:
        raise ScratchDatabaseError(
            f"the plan is for PostgreSQL {plan.server_version // 10000} and the scratch server"
            f" {mask_url(server)} runs {major}: locks differ across versions; give a server of the same major version"
        )


def _applied(url: str | None) -> int | None:
    """The target's newest applied version: what the scratch copy is built up to."""
    if url is None:
        return None
    with connect(url, autocommit=True, purpose="plan --trace") as conn:
        rows = history.read(conn) if history.exists(conn) else []
    return max((r.version for r in rows), default=None)


def _migrations(plan: Plan, directory: Path | None, files: Sequence[Path]) -> list[Migration]:
    """The plan's migrations, as files: their statements, exactly as `up` runs them."""
    known = {m.filename: m for m in [*load_checked(directory), *load_named(files)]}
    return [known[m.filename] for m in plan.migrations]


def _run(conn: Conn, todo: list[Migration]) -> tuple[dict[tuple[int, int], Observed], dict[tuple[int, int], str]]:
    observed: dict[tuple[int, int], Observed] = {}
    untraced: dict[tuple[int, int], str] = {}
    history.ensure_table(conn)  # as the runner has it: migrations may name it (grants)
    for migration in todo:
        transactional = migration.directives.transaction
        if transactional:  # the file's statements in one transaction, as the runner runs them
            conn.execute("BEGIN")
        for statement in migration.up_statements:
            key = (migration.version, statement.line)
            reason = _untraceable(migration, statement)
            if reason:
                untraced[key] = reason
            else:
                observed[key] = _observed(_guarded(migration, statement, conn, trace=True))
            _guarded(migration, statement, conn, trace=False)
        history.record_applied(conn, migration, 0)
        if transactional:
            conn.execute("COMMIT")
    return observed, untraced


def _untraceable(migration: Migration, statement: Statement) -> str | None:
    if statement.needs_no_transaction:
        what = "CONCURRENTLY" if "CONCURRENTLY" in statement.sql.upper() else statement.kind or "this statement"
        return f"{what} cannot run in a transaction"
    return "a transaction=off file" if not migration.directives.transaction else None


def _guarded(migration: Migration, statement: Statement, conn: Conn, *, trace: bool) -> Observation:
    """Trace the statement (in a savepoint, rolled back to), or apply it; a PostgreSQL error becomes
    one line naming the file and line."""
    try:
        if trace:
            return in_savepoint(conn, statement.sql)
        conn.execute(statement.sql.encode())
        return Observation({})
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        position = exc.diag.statement_position
        line = statement.line_of(int(position) if position else None)
        raise TraceError(
            f"{migration.filename}:{line}: {first} (on the scratch copy for --trace; the target is unchanged)"
        ) from None


def in_savepoint(conn: Conn, statement: str) -> Observation:
    """Run `statement` in a savepoint of the open transaction and roll back to it: the relation locks
    it took that the transaction did not already hold, and what it rewrote."""
    observation = Observation(relations(conn))
    pid = (conn.info.backend_pid,)
    held = set(conn.execute(LOCKS, pid).fetchall())
    conn.execute("SAVEPOINT socialdb_trace")
    try:
        conn.execute(statement.encode())
        record(observation, [row for row in conn.execute(LOCKS, pid).fetchall() if row not in held])
        observation.rewritten = rewrites(observation.before, relations(conn))
    finally:
        conn.execute("ROLLBACK TO SAVEPOINT socialdb_trace")
    return observation


def _observed(observation: Observation) -> Observed:
    rels = observation.by_name()
    locked = {name: frozenset(levels) for name, levels in observation.locks.items()}
    names = set(locked) | observation.rewritten
    kinds = {n: rels[n].kind for n in names if n in rels}
    tables = {n: t for n in names if n in rels and (t := rels[n].table) is not None}
    return Observed(locked, frozenset(observation.rewritten), kinds, tables)
