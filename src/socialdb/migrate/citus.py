"""Distribute socialdb's tables on a Citus coordinator (issue 26, docs/scaling.md, decision 210).

Every table that holds a seller's rows is hash-distributed by `user_id` (`users` by `id`), all in
one co-location group led by `users`, so that a seller's rows of every table share a node; the
planned lookup tables that span sellers (`user_emails`, `platform_accounts`, `short_links`)
become reference tables when they exist. Any other table (the runner's history and lease)
stays local to the coordinator.

Nothing is changed until everything was checked: a database without Citus, without the
schema, with a table already distributed otherwise, or with a unique key that Citus cannot
enforce per shard (one without the distribution column) is refused in one line that names
what is at fault. A second run finds everything done and does nothing.

Two database defaults come with it: `citus.enable_unsafe_triggers = on` (Citus refuses to
distribute a table with triggers, and later migrations create and drop triggers on them) and
`citus.propagate_set_commands = 'local'` (a transaction's SET LOCAL then reaches the workers:
the runner's timeouts, the seller of socialdb.app.tenant).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from socialdb.db import Conn, connect, database_of
from socialdb.errors import CitusError

TENANT = "users"  # the tenant's own table: distributed by its id, every other one co-located with it
TENANT_KEY = "id"
SELLER_KEY = "user_id"
# The lookups of the rules across sellers (migration 054, decision 220): reference tables.
REFERENCE = ("user_emails", "platform_accounts", "short_links")
SHARD_COUNT = 64  # docs/scaling.md, "Co-location": the FAQ's 32 to 128 for multi-tenant applications
# Functions that take the seller: each call runs on the node of that seller's shards, where the
# seller it sets with set_config() is the shards' own (decision 212). Signatures as regprocedure prints them.
DELEGATED = (
    ("public.seller_inbox_page(uuid,uuid,integer,timestamp with time zone,uuid)", "p_seller"),
    ("public.seller_message_page(uuid,uuid,integer,timestamp with time zone,uuid)", "p_seller"),
    # The library's other hot calls on Citus (migration 057, decisions 230-233).
    ("public.seller_ingest_message(uuid,uuid,text,text,text,text,text,text,text,timestamp with time zone)", "p_seller"),
    ("public.seller_mark_read(uuid,uuid)", "p_seller"),
    ("public.seller_search_products(uuid,text,integer)", "p_seller"),
    (
        "public.seller_ingest_batch(uuid,uuid[],text[],text[],text[],text[],text[],text[],text[],"
        "timestamp with time zone[])",
        "p_seller",
    ),
    (
        "public.seller_record_events(uuid,uuid[],text[],text[],timestamp with time zone[],numeric[],text[],uuid[])",
        "p_seller",
    ),
)
# Delegated inside a transaction block too (`force_delegation`): the SECURITY DEFINER functions
# owned by a NOLOGIN role. Run on the coordinator, Citus would connect to the workers as their
# owner, who may not log in; delegated, every statement runs on the seller's node, locally
# (decision 231). Citus checks that each statement of a forced call names the same seller.
FORCE_DELEGATED = frozenset(
    {
        "public.seller_ingest_message(uuid,uuid,text,text,text,text,text,text,text,timestamp with time zone)",
        "public.seller_search_products(uuid,text,integer)",
    }
)
DEFAULTS = (("citus.enable_unsafe_triggers", "on"), ("citus.propagate_set_commands", "local"))

_HAS_CITUS = "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'citus'"
# Tables of schema public that are not partitions (Citus distributes those with their parent)
# nor objects of an extension, and whether each has the seller column.
_TABLES = """
SELECT c.relname::text,
       EXISTS (SELECT FROM pg_catalog.pg_attribute AS a WHERE a.attrelid = c.oid AND a.attname = 'user_id'
               AND a.atttypid = 'pg_catalog.uuid'::pg_catalog.regtype AND NOT a.attisdropped)
FROM pg_catalog.pg_class AS c
WHERE c.relnamespace = 'public'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1
"""
# What Citus already holds: 'h' hash-distributed (with its column), 'n' with repmodel 't' a reference table.
_CITUS_TABLES = """
SELECT c.relname::text, p.partmethod::text, p.repmodel::text, p.colocationid,
       CASE WHEN p.partmethod = 'h' THEN pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) END
FROM pg_catalog.pg_dist_partition AS p JOIN pg_catalog.pg_class AS c ON c.oid = p.logicalrelid
WHERE c.relnamespace = 'public'::pg_catalog.regnamespace
"""
# Unique indexes (primary keys included) of the given tables whose columns lack the table's
# distribution column: Citus cannot enforce them shard by shard, and refuses to distribute.
_BLOCKERS = """
SELECT t.name, i.relname::text,
       pg_catalog.regexp_replace(pg_catalog.pg_get_indexdef(x.indexrelid), '^.* USING \\w+ ', '')
FROM ROWS FROM (pg_catalog.unnest(%s::text[]), pg_catalog.unnest(%s::text[])) AS t (name, key)
JOIN pg_catalog.pg_class AS c ON c.relname = t.name AND c.relnamespace = 'public'::pg_catalog.regnamespace
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attname = t.key
JOIN pg_catalog.pg_index AS x ON x.indrelid = c.oid AND x.indisunique
JOIN pg_catalog.pg_class AS i ON i.oid = x.indexrelid
WHERE NOT (a.attnum = ANY (x.indkey::pg_catalog.int2[]))
ORDER BY 1, 2
"""
_FOREIGN_KEYS = """
SELECT DISTINCT c.relname::text, f.relname::text
FROM pg_catalog.pg_constraint AS k
JOIN pg_catalog.pg_class AS c ON c.oid = k.conrelid JOIN pg_catalog.pg_class AS f ON f.oid = k.confrelid
WHERE k.contype = 'f' AND k.connamespace = 'public'::pg_catalog.regnamespace AND NOT c.relispartition
"""
_DELEGATED = """
SELECT o.objid::pg_catalog.int8 FROM pg_catalog.pg_dist_object AS o
WHERE o.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND o.distribution_argument_index IS NOT NULL
"""
_DEFAULTS_SET = """
SELECT pg_catalog.unnest(s.setconfig) FROM pg_catalog.pg_db_role_setting AS s
JOIN pg_catalog.pg_database AS d ON d.oid = s.setdatabase
WHERE d.datname = pg_catalog.current_database() AND s.setrole = 0
"""


@dataclass(frozen=True)
class Distribution:
    """What a run did (empty tuples when it found everything done) and what it found."""

    distributed: tuple[str, ...] = ()  # hash-distributed now, in order: users first
    reference: tuple[str, ...] = ()  # made reference tables now
    defaults: tuple[str, ...] = ()  # database defaults set now, as `name = value`
    delegated: tuple[str, ...] = ()  # functions delegated now to the node of their seller argument
    already: tuple[str, ...] = ()  # tables that were distributed (or reference) as planned before the run
    local: tuple[str, ...] = ()  # tables left local to the coordinator
    shard_count: int = SHARD_COUNT
    colocation: int | None = field(default=None)  # the co-location group of the distributed tables

    @property
    def changed(self) -> bool:
        return bool(self.distributed or self.reference or self.defaults or self.delegated)


@dataclass(frozen=True)
class _Work:
    """What a run finds to do, read before anything changes."""

    pending: dict[str, str]  # table -> distribution column, not yet distributed
    order: list[str]  # the pending tables, referenced before referencing
    reference: tuple[str, ...]  # lookup tables to make reference tables now
    settings: list[tuple[str, str]]  # database defaults missing
    to_delegate: list[tuple[str, str]]  # (function, seller argument) not yet delegated
    done: tuple[str, ...]
    local: tuple[str, ...]
    colocation: int | None

    @property
    def empty(self) -> bool:
        return not (self.order or self.reference or self.settings or self.to_delegate)


def distribute(url: str, shard_count: int = SHARD_COUNT) -> Distribution:
    """Distribute the database at `url` (a Citus coordinator's) as docs/scaling.md plans; idempotent."""
    if shard_count < 1:
        raise CitusError(f"--shard-count must be at least 1, not {shard_count}")
    database = database_of(url)
    with connect(url, autocommit=True, purpose="citus distribute") as conn:
        work = _plan(conn, database)
        if work.empty:
            return Distribution(
                already=work.done, local=work.local, shard_count=shard_count, colocation=work.colocation
            )
        _apply(conn, database, work, shard_count)
        row = conn.execute(
            "SELECT colocationid FROM pg_catalog.pg_dist_partition"
            " WHERE logicalrelid = 'public.users'::pg_catalog.regclass"
        ).fetchone()
        return Distribution(
            distributed=tuple(work.order),
            reference=work.reference,
            defaults=tuple(f"{name} = {value}" for name, value in work.settings),
            delegated=tuple(f for f, _ in work.to_delegate),
            already=work.done,
            local=work.local,
            shard_count=shard_count,
            colocation=None if row is None else int(row[0]),
        )


def _plan(conn: Conn, database: str) -> _Work:
    """Everything checked and read; nothing changed. Refuses in one line what cannot be done."""
    if conn.execute(_HAS_CITUS).fetchone() is None:
        raise CitusError(
            f"database {database} has no citus extension: distribution runs on a Citus coordinator"
            " (CREATE EXTENSION citus there, add the workers, then run this again)"
        )
    tables: dict[str, bool] = dict(conn.execute(_TABLES).fetchall())  # name -> has user_id
    if TENANT not in tables:
        raise CitusError(
            f"database {database} has no socialdb schema (no table {TENANT}): run `socialdb migrate up` first"
        )
    # The lookups name a seller per row but hold a rule across sellers: reference tables, not distributed.
    keys = {
        name: TENANT_KEY if name == TENANT else SELLER_KEY
        for name, seller in tables.items()
        if (seller or name == TENANT) and name not in REFERENCE
    }
    reference = [name for name in REFERENCE if name in tables and name not in keys]
    existing = {row[0]: row[1:] for row in conn.execute(_CITUS_TABLES).fetchall()}
    done, colocation = _check_existing(keys, reference, existing)
    pending = {name: key for name, key in keys.items() if name not in done}
    _refuse_blockers(conn, pending)
    delegated = {row[0] for row in conn.execute(_DELEGATED).fetchall()}
    return _Work(
        pending=pending,
        order=_in_key_order(conn, pending),
        reference=tuple(name for name in reference if name not in done),
        settings=_missing_defaults(conn),
        to_delegate=[(f, arg) for f, arg in DELEGATED if _oid(conn, f) not in {None, *delegated}],
        done=tuple(sorted(done)),
        local=tuple(name for name in tables if name not in keys and name not in reference),
        colocation=colocation,
    )


def _apply(conn: Conn, database: str, work: _Work, shard_count: int) -> None:
    for name, value in work.settings:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET {} = {}").format(sql.Identifier(database), sql.SQL(name), sql.Literal(value))
        )
    conn.execute("SET citus.enable_unsafe_triggers = on")  # for this session too: the default applies to new ones
    for name in work.reference:
        conn.execute("SELECT pg_catalog.create_reference_table(%s)", (f"public.{name}",))
    for name in work.order:
        if name == TENANT:
            _distribute_one(conn, name, TENANT_KEY, "none", shard_count)
        else:
            _distribute_one(conn, name, work.pending[name], f"public.{TENANT}", None)
    for function, argument in work.to_delegate:
        conn.execute(
            "SELECT pg_catalog.create_distributed_function(%s, %s, colocate_with => %s, force_delegation => %s)",
            (function, argument, f"public.{TENANT}", function in FORCE_DELEGATED),
        )


def _distribute_one(conn: Conn, name: str, key: str, colocate_with: str, shard_count: int | None) -> None:
    """One table, in a transaction of its own. A table with rows has them copied to its shards,
    and the copy fires the shards' triggers: the unread counters would count each message again
    (and their trigger fails on Citus). The rows' effects are already in the copied rows, so the
    copy runs with session_replication_role = replica, propagated to the workers, where ordinary
    triggers do not fire; PostgreSQL lets only a superuser set it."""
    table = f"public.{name}"
    with conn.transaction():
        if conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.Identifier(name))).fetchone() != (False,):
            conn.execute("SET LOCAL citus.propagate_set_commands = 'local'")
            try:
                conn.execute("SET LOCAL session_replication_role = replica")
            except psycopg.errors.InsufficientPrivilege:
                raise CitusError(
                    f"{name} has rows, which distributing copies through its triggers: run this as a superuser,"
                    " who may turn them off for the copy (session_replication_role)"
                ) from None
        try:
            if shard_count is None:
                conn.execute(
                    "SELECT pg_catalog.create_distributed_table(%s, %s, colocate_with => %s)",
                    (table, key, colocate_with),
                )
            else:
                conn.execute(
                    "SELECT pg_catalog.create_distributed_table(%s, %s, colocate_with => %s, shard_count => %s)",
                    (table, key, colocate_with, shard_count),
                )
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise CitusError(f"distributing {name} by {key} failed: {first}") from None


def _check_existing(
    keys: dict[str, str], reference: list[str], existing: dict[str, tuple[Any, ...]]
) -> tuple[set[str], int | None]:
    """The tables already as planned; refuses one that Citus holds otherwise."""
    done: set[str] = set()
    tenant = existing.get(TENANT)
    colocation = None if tenant is None or tenant[0] != "h" else tenant[2]
    for name, (method, model, group, column) in sorted(existing.items()):
        if name in reference:
            if method != "n" or model != "t":
                raise CitusError(
                    f"{name} is already a Citus table, but not a reference table:"
                    f" SELECT undo_distribute_table('{name}') first"
                )
            done.add(name)
        elif name in keys:
            if method != "h" or column != keys[name]:
                how = f"by {column}" if method == "h" else "as a reference or local table"
                raise CitusError(
                    f"{name} is already a Citus table {how}, not distributed by {keys[name]}:"
                    f" SELECT undo_distribute_table('{name}') first"
                )
            if group != colocation:
                raise CitusError(
                    f"{name} is distributed by {column} but not co-located with {TENANT}:"
                    f" SELECT update_distributed_table_colocation('{name}', colocate_with => '{TENANT}')"
                )
            done.add(name)
    return done, colocation


def _refuse_blockers(conn: Conn, pending: dict[str, str]) -> None:
    if not pending:
        return
    names, columns = list(pending), [pending[name] for name in pending]
    found = conn.execute(_BLOCKERS, (names, columns)).fetchall()
    if found:
        listed = "; ".join(f"{table}.{index} {definition}" for table, index, definition in found)
        raise CitusError(
            f"cannot distribute: Citus enforces a unique key only if it includes the distribution column,"
            f" and {len(found)} do not: {listed}. Nothing was distributed: each needs the migration that"
            " docs/scaling.md's exceptions table plans for it"
        )


def _in_key_order(conn: Conn, pending: dict[str, str]) -> list[str]:
    """The tables to distribute, each after those its foreign keys reference (users first):
    Citus refuses a foreign key from a distributed table to a local one."""
    parents: dict[str, set[str]] = {name: set() for name in pending}
    for child, parent in conn.execute(_FOREIGN_KEYS).fetchall():
        if child in parents and parent in pending and parent != child:
            parents[child].add(parent)
    order: list[str] = []
    while parents:
        ready = sorted(name for name, needs in parents.items() if not needs - set(order))
        if TENANT in ready:
            ready = [TENANT]
        if not ready:
            cycle = ", ".join(sorted(parents))
            raise CitusError(f"cannot order the distribution: a cycle of foreign keys among {cycle}")
        for name in ready:
            order.append(name)
            del parents[name]
    return order


def _oid(conn: Conn, function: str) -> int | None:
    """The function's oid, or None if it does not exist."""
    row = conn.execute("SELECT pg_catalog.to_regprocedure(%s)::pg_catalog.oid::pg_catalog.int8", (function,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _missing_defaults(conn: Conn) -> list[tuple[str, str]]:
    current = {entry.partition("=")[0]: entry.partition("=")[2] for (entry,) in conn.execute(_DEFAULTS_SET).fetchall()}
    return [(name, value) for name, value in DEFAULTS if current.get(name) != value]
