"""What the lock planner reads from a live database: relations with their estimated sizes, foreign
keys, triggers, functions, the server's version, and the sessions holding relation locks now.

Read-only and lock-free: catalog queries inside one READ ONLY transaction; sizes come from
pg_class (reltuples, relpages; for a table never analysed, the statistics system's live row
count), never from pg_relation_size(), which would take a lock on every relation and queue
behind a migration holding one.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict

from socialdb.db import Conn
from socialdb.planner.facts import RELKINDS, Facts, ForeignKey, Function, Kind, Relation, Trigger
from socialdb.planner.lock_modes import LockLevel, Server
from socialdb.planner.lock_plan import Holder

_USER = """n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"""

_RELATIONS = f"""
SELECT n.nspname || '.' || c.relname, c.relkind::text,
       CASE WHEN c.relkind IN ('p', 'I') THEN NULL  -- no storage of its own: its partitions' sum (_summed)
            WHEN c.reltuples >= 0 THEN c.reltuples::bigint ELSE s.n_live_tup END,
       CASE WHEN c.reltuples < 0 OR c.relkind IN ('p', 'I') THEN NULL
            ELSE (c.relpages::bigint + coalesce(t.relpages, 0)) * current_setting('block_size')::bigint END,
       (SELECT tn.nspname || '.' || tc.relname FROM pg_index AS i
          JOIN pg_class AS tc ON tc.oid = i.indrelid JOIN pg_namespace AS tn ON tn.oid = tc.relnamespace
         WHERE i.indexrelid = c.oid),
       o.owner, o.attname, c.relpersistence::text, CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END,
       (SELECT dn.nspname || '.' || dc.relname FROM pg_partitioned_table AS pt
          JOIN pg_class AS dc ON dc.oid = pt.partdefid JOIN pg_namespace AS dn ON dn.oid = dc.relnamespace
         WHERE pt.partrelid = c.oid),
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
       (SELECT array_agg(a.attname) FROM pg_index AS i
          JOIN pg_depend AS d ON d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
           AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid AND d.refobjsubid > 0
          JOIN pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE i.indexrelid = c.oid AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL))
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_class AS t ON t.oid = c.reltoastrelid
LEFT JOIN pg_stat_user_tables AS s ON s.relid = c.oid
LEFT JOIN LATERAL (
  SELECT dn.nspname || '.' || dc.relname AS owner, a.attname FROM pg_depend AS d
  JOIN pg_class AS dc ON dc.oid = d.refobjid JOIN pg_namespace AS dn ON dn.oid = dc.relnamespace
  LEFT JOIN pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
  WHERE c.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = c.oid
    AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1
) AS o ON true
WHERE {_USER} AND c.relkind IN ('r', 'p', 'i', 'I', 'v', 'm', 'S', 'f')
"""
_HAS_CITUS = "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus'"
# Each Citus table's rows and bytes, summed over its shards (one placement each): every shard's
# pg_class row on its node, as _RELATIONS reads the coordinator's (lock-free: no
# pg_relation_size(), which citus_shards calls). A shard never analysed makes its table unknown.
_SHARD_SIZES = """
SELECT n.nspname || '.' || c.relname,
       CASE WHEN bool_and(split_part(r.result, ' ', 1)::bigint >= 0) THEN sum(split_part(r.result, ' ', 1)::bigint) END,
       CASE WHEN bool_and(split_part(r.result, ' ', 1)::bigint >= 0) THEN sum(split_part(r.result, ' ', 2)::bigint) END
FROM pg_dist_partition AS p JOIN pg_class AS c ON c.oid = p.logicalrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace,
LATERAL run_command_on_shards(p.logicalrelid::regclass,
  $q$SELECT s.reltuples::bigint || ' '
            || (s.relpages::bigint + coalesce(t.relpages, 0)) * current_setting('block_size')::bigint
     FROM pg_catalog.pg_class AS s LEFT JOIN pg_catalog.pg_class AS t ON t.oid = s.reltoastrelid
     WHERE s.oid = '%s'::pg_catalog.regclass$q$) AS r
WHERE c.relkind = 'r' AND r.success
GROUP BY 1
"""
_COLUMNS = f"""
SELECT n.nspname || '.' || c.relname, a.attname, format_type(a.atttypid, a.atttypmod), pg_get_expr(d.adbin, d.adrelid)
FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE {_USER} AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'm', 'f')
ORDER BY 1, a.attnum
"""
_CHECKS = f"""
SELECT n.nspname || '.' || c.relname, k.conname, pg_get_constraintdef(k.oid), k.convalidated
FROM pg_constraint AS k JOIN pg_class AS c ON c.oid = k.conrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE {_USER} AND k.contype = 'c'
"""
_READS = f"""
SELECT DISTINCT vn.nspname || '.' || v.relname, dn.nspname || '.' || dep.relname
FROM pg_depend AS d JOIN pg_rewrite AS r ON r.oid = d.objid
JOIN pg_class AS v ON v.oid = r.ev_class JOIN pg_namespace AS vn ON vn.oid = v.relnamespace
JOIN pg_class AS dep ON dep.oid = d.refobjid JOIN pg_namespace AS dn ON dn.oid = dep.relnamespace
JOIN pg_namespace AS n ON n.oid = v.relnamespace
WHERE {_USER} AND d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
  AND dep.oid <> v.oid AND d.deptype = 'n' AND dep.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
"""
# Inheritance: a table's partitions and children (the planner's recursion), and a partitioned
# table's or index's partitions (its size, _summed). One query, split by the parent's kind.
_INHERITS = f"""
SELECT pn.nspname || '.' || p.relname, cn.nspname || '.' || c.relname, p.relkind::text
FROM pg_inherits AS i JOIN pg_class AS p ON p.oid = i.inhparent JOIN pg_namespace AS pn ON pn.oid = p.relnamespace
JOIN pg_class AS c ON c.oid = i.inhrelid JOIN pg_namespace AS cn ON cn.oid = c.relnamespace
JOIN pg_namespace AS n ON n.oid = p.relnamespace
WHERE {_USER} AND p.relkind IN ('r', 'p', 'I')
"""
_KEYS = f"""
SELECT k.conname, n.nspname || '.' || c.relname, rn.nspname || '.' || r.relname,
       ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = k.conrelid AND attnum = ANY (k.conkey)),
       ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = k.confrelid AND attnum = ANY (k.confkey)),
       k.confdeltype::text, k.convalidated, k.confupdtype::text
FROM pg_constraint AS k JOIN pg_class AS c ON c.oid = k.conrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_class AS r ON r.oid = k.confrelid JOIN pg_namespace AS rn ON rn.oid = r.relnamespace
WHERE {_USER} AND k.contype = 'f'
"""
_TRIGGERS = f"""
SELECT g.tgname, n.nspname || '.' || c.relname, p.proname, g.tgtype::int, g.tgenabled::text,
       array_remove(ARRAY[g.tgoldtable::text, g.tgnewtable::text], NULL)
FROM pg_trigger AS g JOIN pg_class AS c ON c.oid = g.tgrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_proc AS p ON p.oid = g.tgfoid
WHERE {_USER} AND NOT g.tgisinternal
"""
_FUNCTIONS = f"""
SELECT p.proname, l.lanname,
       CASE WHEN l.lanname IN ('sql', 'plpgsql') THEN pg_get_functiondef(p.oid) END, p.provolatile::text
FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang JOIN pg_namespace AS n ON n.oid = p.pronamespace
WHERE {_USER} AND p.prokind IN ('f', 'p')
"""
_DOMAINS = """
WITH RECURSIVE chain (domain, base) AS (
  SELECT t.oid, t.oid FROM pg_type AS t WHERE t.typtype = 'd'
  UNION ALL
  SELECT c.domain, t.typbasetype FROM chain AS c JOIN pg_type AS t ON t.oid = c.base
  WHERE t.typtype = 'd' AND t.typbasetype <> 0
)
SELECT DISTINCT d.typname FROM chain AS c JOIN pg_type AS b ON b.oid = c.base JOIN pg_type AS d ON d.oid = c.domain
WHERE b.typtype = 'd' AND (b.typnotnull OR EXISTS (SELECT FROM pg_constraint AS k WHERE k.contypid = b.oid))
"""
# What a DROP ... CASCADE reaches (pg_depend): for each object another depends on ('rel:' a relation,
# 'col:' a column, 'con:' a table's constraint, 'fn:' a function, 'type:' a type), the dependent's own
# key (to follow further; NULL for a default, a trigger, a policy) and the relation it is on, which
# the drop locks ACCESS EXCLUSIVE. A foreign key is on both its tables.
_DEPENDS = f"""
WITH rel AS (
  SELECT c.oid, n.nspname || '.' || c.relname AS name
  FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE {_USER}
), ref AS (
  SELECT d.classid, d.objid, d.objsubid,
         CASE d.refclassid
           WHEN 'pg_class'::regclass THEN CASE WHEN d.refobjsubid = 0 THEN 'rel:' || r.name
                                               ELSE 'col:' || r.name || '.' || a.attname END
           WHEN 'pg_proc'::regclass THEN 'fn:' || p.proname
           WHEN 'pg_type'::regclass THEN 'type:' || ty.typname
           WHEN 'pg_constraint'::regclass THEN 'con:' || kr.name || '.' || k.conname
         END AS key
  FROM pg_depend AS d
  LEFT JOIN rel AS r ON d.refclassid = 'pg_class'::regclass AND r.oid = d.refobjid
  LEFT JOIN pg_attribute AS a ON d.refclassid = 'pg_class'::regclass AND a.attrelid = d.refobjid
   AND a.attnum = d.refobjsubid
  LEFT JOIN pg_proc AS p ON d.refclassid = 'pg_proc'::regclass AND p.oid = d.refobjid
  LEFT JOIN pg_type AS ty ON d.refclassid = 'pg_type'::regclass AND ty.oid = d.refobjid
  LEFT JOIN pg_constraint AS k ON d.refclassid = 'pg_constraint'::regclass AND k.oid = d.refobjid
  LEFT JOIN rel AS kr ON kr.oid = k.conrelid
  WHERE d.deptype IN ('n', 'a', 'i', 'P', 'S')
)
SELECT DISTINCT ref.key, dep.key, dep.locked FROM ref JOIN LATERAL (
  SELECT CASE WHEN ref.objsubid = 0 THEN 'rel:' || o.name ELSE 'col:' || o.name || '.' || oa.attname END, o.name
  FROM rel AS o LEFT JOIN pg_attribute AS oa ON oa.attrelid = o.oid AND oa.attnum = ref.objsubid
  WHERE ref.classid = 'pg_class'::regclass AND o.oid = ref.objid
  UNION ALL
  SELECT 'rel:' || v.name, v.name FROM pg_rewrite AS w JOIN rel AS v ON v.oid = w.ev_class
  WHERE ref.classid = 'pg_rewrite'::regclass AND w.oid = ref.objid
  UNION ALL
  SELECT NULL, t.name FROM pg_attrdef AS f JOIN rel AS t ON t.oid = f.adrelid
  WHERE ref.classid = 'pg_attrdef'::regclass AND f.oid = ref.objid
  UNION ALL
  SELECT 'con:' || kt.name || '.' || k.conname, t.name FROM pg_constraint AS k JOIN rel AS kt ON kt.oid = k.conrelid
  JOIN rel AS t ON t.oid IN (k.conrelid, k.confrelid)
  WHERE ref.classid = 'pg_constraint'::regclass AND k.oid = ref.objid
  UNION ALL
  SELECT NULL, t.name FROM pg_trigger AS g JOIN rel AS t ON t.oid = g.tgrelid
  WHERE ref.classid = 'pg_trigger'::regclass AND g.oid = ref.objid
  UNION ALL
  SELECT NULL, t.name FROM pg_policy AS y JOIN rel AS t ON t.oid = y.polrelid
  WHERE ref.classid = 'pg_policy'::regclass AND y.oid = ref.objid
) AS dep (key, locked) ON true
WHERE ref.key IS NOT NULL AND ref.key IS DISTINCT FROM dep.key
"""
_VOLATILE = "SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace AND provolatile = 'v'"
_HOLDERS = f"""
SELECT n.nspname || '.' || c.relname, l.mode, coalesce(l.pid, 0), a.application_name, a.state,
       extract(epoch FROM clock_timestamp() - a.xact_start)::float8
FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.granted AND l.pid IS DISTINCT FROM pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND {_USER}
ORDER BY 1, 3
"""
_NOT_NULL = re.compile(r'^CHECK \(\(?("?)(?P<col>[^"()]+)\1 IS NOT NULL\)?\)$')
_EVENT_BITS = {4: "INSERT", 8: "DELETE", 16: "UPDATE", 32: "TRUNCATE"}  # TRIGGER_TYPE_*


def server(conn: Conn) -> Server:
    row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    return Server(int(row[0]) if row else 0)


def facts(conn: Conn) -> Facts:
    """Everything the planner knows of this database; call inside a READ ONLY transaction."""
    return Facts(
        server=server(conn),
        relations=_relations(conn),
        foreign_keys=tuple(
            ForeignKey(n, t, tuple(c), r, tuple(rc), d, v, u) for n, t, r, c, rc, d, v, u in conn.execute(_KEYS)
        ),
        triggers=tuple(_trigger(*row) for row in conn.execute(_TRIGGERS)),
        functions=_functions(conn),
        volatile_functions=frozenset(row[0] for row in conn.execute(_VOLATILE)),
        constrained_domains=frozenset(str(row[0]) for row in conn.execute(_DOMAINS)),
        dependents=_dependents(conn),
        complete=True,
        live=True,
    )


def _relations(conn: Conn) -> dict[str, Relation]:
    columns, defaults = _columns(conn)
    checks: dict[str, dict[str, tuple[str, bool]]] = defaultdict(dict)
    for table, name, definition, valid in conn.execute(_CHECKS):
        match = _NOT_NULL.match(definition)
        if match:
            checks[table][name] = (match.group("col"), bool(valid))
    reads: dict[str, list[str]] = defaultdict(list)
    for view, base in conn.execute(_READS):
        reads[view].append(base)
    children: dict[str, list[str]] = defaultdict(list)
    parts: dict[str, list[str]] = defaultdict(list)
    for parent, child, relkind in conn.execute(_INHERITS):
        if relkind in ("r", "p", "I"):  # a partitioned index's children: its partitions' indexes
            children[parent].append(child)
        if relkind in ("p", "I"):
            parts[parent].append(child)
    found = {}
    for row in conn.execute(_RELATIONS).fetchall():
        name, relkind, rows, size, index_of, owner, column, persistence, query, default, key, bound, exprs = row
        found[name] = Relation(
            name, RELKINDS.get(relkind, Kind.OTHER), index_of or owner, rows, size, False, columns.get(name, {}),
            checks.get(name, {}), tuple(sorted(reads.get(name, ()))), tuple(sorted(children.get(name, ()))), column,
            persistence, frozenset(exprs or ()), defaults.get(name, {}), query, default, key, bound,
        )  # fmt: skip
    return _summed(_on_shards(conn, found), parts)


def _on_shards(conn: Conn, found: dict[str, Relation]) -> dict[str, Relation]:
    """On a Citus coordinator a distributed or reference table is an empty shell: its rows and
    bytes are its shards', read from the pg_class of the node that holds each (decision 243).
    Elsewhere, and for every other relation, what pg_class said here."""
    if conn.execute(_HAS_CITUS).fetchone() is None:
        return found
    for name, rows, size in conn.execute(_SHARD_SIZES).fetchall():
        if name in found:
            found[name] = dataclasses.replace(found[name], rows=rows, bytes=size)
    return found


def _columns(conn: Conn) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """Each table's columns with their types, and those with a default, with it."""
    columns: dict[str, dict[str, str]] = defaultdict(dict)
    defaults: dict[str, dict[str, str]] = defaultdict(dict)
    for table, column, kind, default in conn.execute(_COLUMNS):
        columns[table][column] = kind
        if default is not None:
            defaults[table][column] = default
    return columns, defaults


def _summed(found: dict[str, Relation], parts: dict[str, list[str]]) -> dict[str, Relation]:
    """A partitioned table or index has no storage (relpages -1): its size is its partitions'
    sum, recursively; unknown only where every partition's is."""

    def total(name: str, depth: int = 0) -> tuple[int | None, int | None]:
        if name not in parts or depth > 32:  # a leaf (or a cycle, which the catalog cannot hold)
            relation = found.get(name)
            return (relation.rows, relation.bytes) if relation else (None, None)
        sums = [total(child, depth + 1) for child in parts[name]]
        rows = [r for r, _ in sums if r is not None]
        sizes = [b for _, b in sums if b is not None]
        return (sum(rows) if rows else None, sum(sizes) if sizes else None)

    for name in parts:
        if name in found:
            rows, size = total(name)
            found[name] = dataclasses.replace(found[name], rows=rows, bytes=size)
    return found


def _dependents(conn: Conn) -> dict[str, tuple[tuple[str | None, str], ...]]:
    found: dict[str, list[tuple[str | None, str]]] = defaultdict(list)
    for key, dependent, locked in conn.execute(_DEPENDS):
        found[str(key)].append((dependent, str(locked)))
    return {key: tuple(sorted(pairs, key=repr)) for key, pairs in found.items()}


def _trigger(name: str, table: str, function: str, kind: int, enabled: str, tables: list[str]) -> Trigger:
    events = frozenset(event for bit, event in _EVENT_BITS.items() if kind & bit)
    return Trigger(name, table, function, events, bool(kind & 1), tuple(tables), enabled in ("O", "A"))


def _functions(conn: Conn) -> dict[str, tuple[Function, ...]]:
    found: dict[str, list[Function]] = defaultdict(list)
    for name, language, definition, volatility in conn.execute(_FUNCTIONS):
        found[name].append(Function(name, language, definition, volatility))
    return {name: tuple(functions) for name, functions in found.items()}


def holders(conn: Conn) -> list[Holder]:
    """Every granted relation lock of another session in this database, with who holds it."""
    return [
        Holder(relation, LockLevel.from_pg(mode), pid, app, state, age)
        for relation, mode, pid, app, state, age in conn.execute(_HOLDERS)
        if mode in _PG_MODES
    ]


_PG_MODES = {"".join(w.capitalize() for w in level.value.split()) + "Lock" for level in LockLevel}
