"""Read a database's schema from its catalog into `model.Catalog`.

Everything is named, never numbered (no OID reaches a value) and sorted, so two reads of
the same schema are equal, whichever database and session they come from: the session's
`search_path` is fixed to `public` first, since PostgreSQL prints names qualified or not
by it. Left out: the system schemas, the objects an extension creates (the extension itself
is listed), and the runner's own tables (`migrations`, `migrations_lock`) with everything
that hangs off them. Not-null constraints, which PostgreSQL 18 also lists in
`pg_constraint`, are read as the column's `not_null` only, as PostgreSQL 15 has them. A
view over one table is printed without its column qualifiers, as PostgreSQL 16 and later
print it (`SELECT user_id FROM t`, where 15 prints `SELECT t.user_id FROM t`): with these
two, the same schema reads the same on PostgreSQL 15 and 18.

The queries are static text: the fragments below are constants joined at import time.

tests/catalog.py is a second reader, written apart on purpose: the round-trip tests' oracle,
which must not share this code (or one mistake would hide itself in both).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, TypeVar

from pglast import ast, parse_sql
from pglast.parser import ParseError
from pglast.visitors import Visitor
from psycopg import sql
from psycopg.rows import dict_row

from socialdb.db import Conn, connect
from socialdb.schema.model import (
    Catalog,
    Column,
    Constraint,
    ConstraintKind,
    DefaultPrivilege,
    Extension,
    Function,
    Index,
    Namespace,
    Policy,
    Relation,
    RelationKind,
    Sequence,
    TextSearchConfig,
    Trigger,
    Type,
)
from socialdb.scripts import history as history_table
from socialdb.scripts.options import DEFAULT_HISTORY, HistoryTable

T = TypeVar("T")

RUNNER_TABLES = ("migrations", "migrations_lock")

# Schemas created by initdb, never by a migration.
_USER_NAMESPACE = """n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'"""

# The runner's tables and what hangs off them: their indexes, sequences and row types (the
# history table is the configured one, set for the reading transaction by `read_connection`). And the
# partitions of a partitioned table (analytics_events, migration 034): `socialdb maintain`
# creates and drops them month by month, so the schema is the parent's (its partition key, its
# keys, indexes, triggers and policies, which every partition has), not a list of months.
_SKIP = """
WITH runner_table AS (
  SELECT c.oid FROM pg_class AS c
  WHERE c.oid IN (to_regclass(current_setting('socialdb.history_table')), to_regclass('public.migrations_lock'))
  UNION SELECT c.oid FROM pg_class AS c WHERE c.relispartition AND c.relkind IN ('r', 'p')
), skip AS (
  SELECT oid FROM runner_table
  UNION SELECT i.indexrelid FROM pg_index AS i WHERE i.indrelid IN (SELECT oid FROM runner_table)
  UNION SELECT d.objid FROM pg_depend AS d
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.refobjid IN (SELECT oid FROM runner_table) AND d.deptype IN ('a', 'i')
  UNION SELECT c.reltype FROM pg_class AS c WHERE c.oid IN (SELECT oid FROM runner_table)
  UNION SELECT t.typarray FROM pg_type AS t JOIN pg_class AS c ON c.reltype = t.oid
    WHERE c.oid IN (SELECT oid FROM runner_table)
)"""


def _not_member(catalog: str, oid: str) -> str:
    """SQL: the object was not created by an extension."""
    return (
        "NOT EXISTS (SELECT 1 FROM pg_depend AS e WHERE e.classid = '"
        + catalog
        + "'::regclass AND e.objid = "
        + oid
        + " AND e.deptype = 'e')"
    )


def _acl(acl: str, kind: str | None = None, owner: str | None = None) -> str:
    """SQL: an ACL as a text array of `grantee:PRIVILEGE[*]`; NULL is the kind's default when one is given."""
    source = acl if kind is None else "coalesce(" + acl + ", acldefault('" + kind + "', " + str(owner) + "))"
    return (
        "(SELECT coalesce(array_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END"
        " || ':' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END), '{}')"
        " FROM aclexplode(" + source + ") AS a)"
    )


_RELATIONS = (
    _SKIP
    + """
SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, pg_get_userbyid(c.relowner) AS owner,
       c.relpersistence::text AS persistence, coalesce(c.reloptions, '{}') AS options,
       c.relrowsecurity AS row_security, c.relforcerowsecurity AS forced_row_security,
       obj_description(c.oid, 'pg_class') AS comment,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS definition,
       """
    + _acl("c.relacl", "r", "c.relowner")
    + """ AS grants,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
       (SELECT pn.nspname || '.' || p.relname FROM pg_inherits AS i JOIN pg_class AS p ON p.oid = i.inhparent
        JOIN pg_namespace AS pn ON pn.oid = p.relnamespace WHERE c.relispartition AND i.inhrelid = c.oid)
         AS partition_of,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND """
    + _USER_NAMESPACE
    + " AND c.oid NOT IN (SELECT oid FROM skip) AND "
    + _not_member("pg_class", "c.oid")
)

_COLUMNS = (
    _SKIP
    + """
SELECT n.nspname || '.' || c.relname AS relation, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity::text AS identity,
       a.attgenerated::text AS generated,
       CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END AS collation,
       col_description(c.oid, a.attnum) AS comment, """
    + _acl("a.attacl")
    + """ AS grants
FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace JOIN pg_type AS t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped AND """
    + _USER_NAMESPACE
    + """ AND c.oid NOT IN (SELECT oid FROM skip)
ORDER BY 1, a.attnum"""
)

_CONSTRAINTS = (
    _SKIP
    + """
SELECT n.nspname || '.' || c.relname AS relation, k.conname AS name, k.contype::text AS kind,
       pg_get_constraintdef(k.oid) AS definition, k.convalidated AS validated,
       coalesce((SELECT array_agg(a.attname ORDER BY u.i) FROM unnest(k.conkey) WITH ORDINALITY AS u (num, i)
                 JOIN pg_attribute AS a ON a.attrelid = k.conrelid AND a.attnum = u.num), '{}') AS columns,
       (SELECT fn.nspname || '.' || f.relname FROM pg_class AS f JOIN pg_namespace AS fn ON fn.oid = f.relnamespace
        WHERE f.oid = k.confrelid) AS references,
       coalesce((SELECT array_agg(a.attname ORDER BY u.i) FROM unnest(k.confkey) WITH ORDINALITY AS u (num, i)
                 JOIN pg_attribute AS a ON a.attrelid = k.confrelid AND a.attnum = u.num), '{}') AS referenced_columns,
       obj_description(k.oid, 'pg_constraint') AS comment
FROM pg_constraint AS k JOIN pg_class AS c ON c.oid = k.conrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE k.contype <> 'n' AND """
    + _USER_NAMESPACE
    + " AND c.oid NOT IN (SELECT oid FROM skip)"
)

_INDEXES = (
    _SKIP
    + """
SELECT n.nspname || '.' || t.relname AS relation, c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition,
       i.indisvalid AS valid, i.indisunique AS unique, i.indisprimary AS primary,
       (SELECT k.conname FROM pg_constraint AS k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid
          AND k.contype IN ('p', 'u', 'x')) AS constraint,
       obj_description(c.oid, 'pg_class') AS comment
FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid JOIN pg_class AS t ON t.oid = i.indrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
WHERE """
    + _USER_NAMESPACE
    + " AND c.oid NOT IN (SELECT oid FROM skip) AND "
    + _not_member("pg_class", "c.oid")
)

_TRIGGERS = (
    _SKIP
    + """
SELECT n.nspname || '.' || c.relname AS relation, g.tgname AS name, pg_get_triggerdef(g.oid) AS definition,
       g.tgenabled::text AS enabled, obj_description(g.oid, 'pg_trigger') AS comment
FROM pg_trigger AS g JOIN pg_class AS c ON c.oid = g.tgrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE NOT g.tgisinternal AND """
    + _USER_NAMESPACE
    + " AND c.oid NOT IN (SELECT oid FROM skip)"
)

_POLICIES = (
    """
SELECT n.nspname || '.' || c.relname AS relation, p.polname AS name, p.polpermissive AS permissive,
       (SELECT array_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END) FROM unnest(p.polroles) AS r)
         AS roles,
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE'
                     ELSE 'ALL' END AS command,
       pg_get_expr(p.polqual, p.polrelid) AS using, pg_get_expr(p.polwithcheck, p.polrelid) AS with_check,
       obj_description(p.oid, 'pg_policy') AS comment
FROM pg_policy AS p JOIN pg_class AS c ON c.oid = p.polrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE NOT c.relispartition AND """
    + _USER_NAMESPACE
)

_FUNCTIONS = (
    """
SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS arguments,
       pg_get_function_arguments(p.oid) AS full_arguments, p.prokind::text AS kind,
       pg_get_function_result(p.oid) AS result, l.lanname AS language, p.provolatile::text AS volatility,
       p.prosecdef AS security_definer, p.proisstrict AS strict, p.proleakproof AS leakproof,
       p.proparallel::text AS parallel, coalesce(p.proconfig, '{}') AS settings, coalesce(p.prosrc, '') AS body,
       CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition,
       pg_get_userbyid(p.proowner) AS owner, """
    + _acl("p.proacl", "f", "p.proowner")
    + """ AS grants,
       obj_description(p.oid, 'pg_proc') AS comment
FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace JOIN pg_language AS l ON l.oid = p.prolang
WHERE """
    + _USER_NAMESPACE
    + " AND "
    + _not_member("pg_proc", "p.oid")
)

_SEQUENCES = (
    _SKIP
    + """
SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type, s.seqstart AS start,
       s.seqincrement AS increment, s.seqmin AS minimum, s.seqmax AS maximum, s.seqcache AS cache,
       s.seqcycle AS cycle,
       (SELECT tn.nspname || '.' || t.relname || '.' || a.attname
        FROM pg_depend AS d JOIN pg_class AS t ON t.oid = d.refobjid JOIN pg_namespace AS tn ON tn.oid = t.relnamespace
        JOIN pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
          AND d.deptype IN ('a', 'i')) AS owned_by,
       pg_get_userbyid(c.relowner) AS owner, """
    + _acl("c.relacl", "s", "c.relowner")
    + """ AS grants,
       obj_description(c.oid, 'pg_class') AS comment
FROM pg_sequence AS s JOIN pg_class AS c ON c.oid = s.seqrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE """
    + _USER_NAMESPACE
    + " AND c.oid NOT IN (SELECT oid FROM skip) AND "
    + _not_member("pg_class", "c.oid")
)

# Types of the schema's own: a table's row type and array types follow their table or element.
_TYPES = (
    _SKIP
    + """
SELECT n.nspname AS schema, t.typname AS name, t.typtype::text AS kind,
       CASE t.typtype
         WHEN 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                        FROM pg_enum AS e WHERE e.enumtypid = t.oid)
         WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
                       || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
                       || coalesce(' DEFAULT ' || t.typdefault, '')
                       || coalesce((SELECT ' ' || string_agg(pg_get_constraintdef(k.oid), ' ' ORDER BY k.conname)
                                    FROM pg_constraint AS k WHERE k.contypid = t.oid), '')
         WHEN 'r' THEN (SELECT format_type(r.rngsubtype, NULL) FROM pg_range AS r WHERE r.rngtypid = t.oid)
         WHEN 'c' THEN (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', '
                                          ORDER BY a.attnum)
                        FROM pg_attribute AS a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
         ELSE '' END AS definition,
       pg_get_userbyid(t.typowner) AS owner, """
    + _acl("t.typacl", "T", "t.typowner")
    + """ AS grants,
       obj_description(t.oid, 'pg_type') AS comment
FROM pg_type AS t JOIN pg_namespace AS n ON n.oid = t.typnamespace
WHERE """
    + _USER_NAMESPACE
    + """ AND t.oid NOT IN (SELECT oid FROM skip) AND t.typtype <> 'm'
  AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class AS c WHERE c.oid = t.typrelid) = 'c')
  AND NOT EXISTS (SELECT 1 FROM pg_type AS e WHERE e.typarray = t.oid) AND """
    + _not_member("pg_type", "t.oid")
)

_EXTENSIONS = """
SELECT x.extname AS name, x.extversion AS version, x.extnamespace::regnamespace::text AS schema
FROM pg_extension AS x WHERE x.extname <> 'plpgsql'"""

_TEXT_SEARCH = (
    """
SELECT n.nspname AS schema, c.cfgname AS name, (SELECT prsname FROM pg_ts_parser WHERE oid = c.cfgparser) AS parser,
       coalesce((SELECT array_agg(tt.alias || ': ' || m.dicts ORDER BY tt.alias)
                 FROM (SELECT maptokentype, string_agg(mapdict::regdictionary::text, ', ' ORDER BY mapseqno) AS dicts
                       FROM pg_ts_config_map WHERE mapcfg = c.oid GROUP BY maptokentype) AS m
                 JOIN ts_token_type(c.cfgparser) AS tt ON tt.tokid = m.maptokentype), '{}') AS mappings,
       pg_get_userbyid(c.cfgowner) AS owner, obj_description(c.oid, 'pg_ts_config') AS comment
FROM pg_ts_config AS c JOIN pg_namespace AS n ON n.oid = c.cfgnamespace
WHERE """
    + _USER_NAMESPACE
    + " AND "
    + _not_member("pg_ts_config", "c.oid")
)

_NAMESPACES = (
    """
SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner, """
    + _acl("n.nspacl", "n", "n.nspowner")
    + """ AS grants,
       obj_description(n.oid, 'pg_namespace') AS comment
FROM pg_namespace AS n
WHERE """
    + _USER_NAMESPACE
    + " AND "
    + _not_member("pg_namespace", "n.oid")
)

_DEFAULT_PRIVILEGES = (
    """
SELECT pg_get_userbyid(d.defaclrole) AS role,
       CASE WHEN d.defaclnamespace <> 0 THEN d.defaclnamespace::regnamespace::text END AS schema,
       d.defaclobjtype::text AS object_type, """
    + _acl("d.defaclacl")
    + """ AS grants
FROM pg_default_acl AS d"""
)

# This database's privileges held by PUBLIC, and by socialdb_* roles where they differ from PUBLIC's.
_DATABASE_PRIVILEGES = """
SELECT CASE WHEN r.name = 'public' THEN 'PUBLIC' ELSE r.name END || ':' || p.name AS privilege
FROM (SELECT 'public'::text AS name
      UNION ALL SELECT rolname::text FROM pg_roles WHERE rolname LIKE 'socialdb\\_%') AS r,
     (VALUES ('CONNECT'), ('TEMPORARY'), ('CREATE')) AS p (name)
WHERE has_database_privilege(r.name, current_database(), p.name)
  AND (r.name = 'public'
       OR NOT has_database_privilege('public', current_database(), p.name))"""

_HISTORY_SETTING = "SELECT pg_catalog.set_config('socialdb.history_table', %s, true)"
_HISTORY_EXISTS = "SELECT to_regclass(current_setting('socialdb.history_table')) IS NOT NULL"
_MIGRATIONS = "SELECT file FROM {table} WHERE state = 'applied' ORDER BY version"


def read(url: str, history: HistoryTable = DEFAULT_HISTORY) -> Catalog:
    """The schema of the database at `url`; `history`, the runner's history table, is left out."""
    with connect(url, autocommit=True, purpose="schema") as conn:
        return read_connection(conn, history)


def read_connection(conn: Conn, history: HistoryTable = DEFAULT_HISTORY) -> Catalog:
    """The schema seen by `conn` (its search_path is set to `public` for the rest of the session)."""
    conn.execute("SET search_path = public")
    with conn.transaction():  # one snapshot for every query
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # The history table, as to_regclass() reads it, for the skip and _migrations (bound, not spliced).
        conn.execute(_HISTORY_SETTING, (history_table.identifier(history).as_string(conn),))
        return Catalog(
            namespaces=tuple(_rows(conn, _NAMESPACES, Namespace)),
            relations=_relations(conn),
            functions=_sorted(_rows(conn, _FUNCTIONS, Function), lambda f: (f.schema, f.name, f.arguments)),
            sequences=_sorted(_rows(conn, _SEQUENCES, Sequence), lambda s: (s.schema, s.name)),
            types=_sorted(_rows(conn, _TYPES, Type), lambda t: (t.schema, t.name)),
            extensions=_sorted(_rows(conn, _EXTENSIONS, Extension), lambda x: (x.name,)),
            text_search=_sorted(_rows(conn, _TEXT_SEARCH, TextSearchConfig), lambda c: (c.schema, c.name)),
            default_privileges=_sorted(
                _rows(conn, _DEFAULT_PRIVILEGES, DefaultPrivilege),
                lambda d: (d.role, d.schema or "", d.object_type),
            ),
            database_privileges=tuple(sorted(str(row[0]) for row in conn.execute(_DATABASE_PRIVILEGES))),
            migrations=_migrations(conn, history),
        )


def _relations(conn: Conn) -> tuple[Relation, ...]:
    columns = _grouped(_rows(conn, _COLUMNS, Column))
    constraints = _grouped(_rows(conn, _CONSTRAINTS, Constraint))
    indexes = _grouped(_rows(conn, _INDEXES, Index))
    triggers = _grouped(_rows(conn, _TRIGGERS, Trigger))
    policies = _grouped(_rows(conn, _POLICIES, Policy))
    found = []
    for relation in _rows(conn, _RELATIONS, Relation):
        key = relation.qualified
        found.append(
            dataclasses.replace(
                relation,
                columns=tuple(columns.get(key, [])),
                constraints=_sorted(constraints.get(key, []), lambda c: (c.name,)),
                indexes=_sorted(indexes.get(key, []), lambda i: (i.name,)),
                triggers=_sorted(triggers.get(key, []), lambda t: (t.name,)),
                policies=_sorted(policies.get(key, []), lambda p: (p.name,)),
            )
        )
    return _sorted(found, lambda r: (r.schema, r.name))


def _migrations(conn: Conn, history: HistoryTable) -> tuple[str, ...]:
    exists = conn.execute(_HISTORY_EXISTS).fetchone()
    if not (exists and exists[0]):
        return ()
    query = sql.SQL(_MIGRATIONS).format(table=history_table.identifier(history))
    return tuple(str(row[0]) for row in conn.execute(query))


# Arrays whose order means something; every other array (grants, roles, options, settings) is sorted.
_ORDERED = {"columns", "referenced_columns", "mappings"}
_KINDS: dict[type, dict[str, Any]] = {
    Relation: {"kind": RelationKind, "definition": lambda d: d if d is None else unqualified_view(d)},
    Constraint: {"kind": ConstraintKind},
}


def _rows(conn: Conn, query: str, kind: type[T]) -> list[Any]:
    """Each row as `kind` (or `(relation, kind)` when the query names a relation), in the query's order."""
    fields = {f.name for f in dataclasses.fields(kind)}  # type: ignore[arg-type]
    converters = _KINDS.get(kind, {})
    with conn.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(query.encode()).fetchall()
    found: list[Any] = []
    for row in rows:
        values = {k: _value(k, v, converters) for k, v in row.items() if k in fields}
        item = kind(**values)
        found.append((row["relation"], item) if "relation" in row else item)
    return found


def _value(name: str, value: Any, converters: dict[str, Any]) -> Any:
    if name in converters:
        return converters[name](value)
    if isinstance(value, list):
        return tuple(value) if name in _ORDERED else tuple(sorted(value))
    return value


def _grouped(pairs: Iterable[tuple[str, T]]) -> dict[str, list[T]]:
    grouped: dict[str, list[T]] = defaultdict(list)
    for key, item in pairs:
        grouped[key].append(item)
    return grouped


def _sorted(items: Iterable[T], key: Any) -> tuple[T, ...]:
    return tuple(sorted(items, key=key))


class _References(Visitor):
    def __init__(self) -> None:
        self.tables: list[ast.RangeVar] = []
        self.columns: list[ast.ColumnRef] = []

    def visit_RangeVar(self, ancestors: Any, node: ast.RangeVar) -> None:
        self.tables.append(node)

    def visit_ColumnRef(self, ancestors: Any, node: ast.ColumnRef) -> None:
        self.columns.append(node)


def unqualified_view(definition: str) -> str:
    """A view's query with `t.` dropped from its column references when `t` is the only table it reads."""
    try:
        found = _References()
        found(parse_sql(definition))
    except ParseError:
        return definition
    if len(found.tables) != 1 or found.tables[0].alias is not None:
        return definition
    table = found.tables[0].relname or ""
    starts = sorted(
        (ref.location for ref in found.columns if _qualified_by(ref, table) and ref.location is not None), reverse=True
    )
    text, prefix = definition.encode(), f"{table}.".encode()  # the parser's locations count bytes
    for start in starts:
        if text.startswith(prefix, start):
            text = text[:start] + text[start + len(prefix) :]
    return text.decode()


def _qualified_by(ref: ast.ColumnRef, table: str) -> bool:
    fields = ref.fields or ()
    return len(fields) == 2 and isinstance(fields[0], ast.String) and fields[0].sval == table
