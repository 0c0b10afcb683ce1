"""A snapshot of everything the migrations define, for round-trip comparisons.

`snapshot(url)` reads one database's catalog into sections of rows. Every row starts
with the identity of the object it describes (`schema.table.column`, a function's
signature, ...), so two snapshots can be compared object by object (`differences`).
Everything is named, never numbered: no OID, no position in a catalog, appears in a
row, and the rows of a section are sorted.

What a rollback can lose or leave behind is covered: relations with their kind, owner,
options, persistence and row-level-security flags (enabled, forced); columns with type,
position, default, nullability, identity and column grants; constraints with their
definition and whether they are validated; indexes with their definition and validity;
triggers and whether they are enabled; functions with their full definition, SECURITY
DEFINER flag and settings (`proconfig`); views; every policy; rules; sequences; types;
text search configurations; extensions; the grants (ACLs) of tables, sequences,
functions, schemas and types; default privileges; owners; comments; and the database's
own privileges and settings.

Grants are compared as the privileges they give: a NULL ACL is the object kind's
default (`acldefault`), so a rollback that grants back exactly what the default gave
compares equal. Extensions are compared by name, version, schema and owner; the
objects an extension creates are its own business and are left out. The runner's own
tables (`migrations`, `migrations_lock`) and what hangs off them are left out too.

Why a second catalog reader (the tool has schema/catalog.py, for `schema diff` and the
docs): the round trips need an oracle that does not share the tool's code, or one bug
would hide itself in both. The two are written apart and differ in source.

Roles are cluster-wide, shared by every database on the server (the test suite creates
many), so their existence is not part of a database's snapshot: the database-level
privileges of `socialdb_%` roles are listed only where they differ from PUBLIC's, which
is the same whether such a role exists yet or not.
"""

from __future__ import annotations

from collections import defaultdict

import psycopg

Row = tuple[object, ...]
Snapshot = dict[str, list[Row]]

# Schemas created by initdb, never by a migration.
_USER_NAMESPACE = """
  {ns}.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND {ns}.nspname NOT LIKE 'pg_temp\\_%' AND {ns}.nspname NOT LIKE 'pg_toast\\_temp\\_%'"""


def _not_extension_member(catalog: str, oid: str) -> str:
    """SQL: the object is not part of an extension (CREATE EXTENSION made it)."""
    return (
        f"NOT EXISTS (SELECT 1 FROM pg_depend AS e WHERE e.classid = '{catalog}'::regclass"
        f" AND e.objid = {oid} AND e.deptype = 'e')"
    )


def _acl(acl: str, kind: str, owner: str) -> str:
    """SQL: an ACL as a sorted text array of `grantee:PRIVILEGE[*] by grantor`, NULL read as the default."""
    return _sorted_items(f"aclexplode(coalesce({acl}, acldefault('{kind}', {owner})))")


def _explicit_acl(acl: str) -> str:
    """SQL: an ACL without a default (columns, default privileges): NULL is no grant."""
    return _sorted_items(f"aclexplode({acl})")


def _sorted_items(exploded: str) -> str:
    # Sorted by the item itself: an ACL's order gives no privilege (an `ORDER BY 1` inside
    # array_agg would sort by the constant 1, which is how the order once leaked in).
    return f"""(SELECT coalesce(array_agg(item ORDER BY item), '{{}}') FROM (SELECT
          CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END || ':' || a.privilege_type
          || CASE WHEN a.is_grantable THEN '*' ELSE '' END || ' by ' || pg_get_userbyid(a.grantor) AS item
        FROM {exploded} AS a) AS items)"""


_REL_KEY = "n.nspname || '.' || c.relname"

_QUERIES: dict[str, str] = {
    "schemas": f"""
        SELECT n.nspname, pg_get_userbyid(n.nspowner), {_acl("n.nspacl", "n", "n.nspowner")}
        FROM pg_namespace AS n
        WHERE {_USER_NAMESPACE.format(ns="n")} AND {_not_extension_member("pg_namespace", "n.oid")}""",
    "relations": f"""
        SELECT {_REL_KEY}, c.relkind::text, pg_get_userbyid(c.relowner), c.relpersistence::text,
               (SELECT array_agg(o ORDER BY o) FROM unnest(c.reloptions) AS o),
               c.relrowsecurity, c.relforcerowsecurity, c.relreplident::text,
               CASE WHEN c.relkind = 'm' THEN c.relispopulated END,
               am.amname, CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
               CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
               (SELECT array_agg(p.oid::regclass::text ORDER BY p.oid::regclass::text)
                FROM pg_inherits AS i JOIN pg_class AS p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid),
               CASE WHEN c.relkind IN ('r', 'p', 'v', 'm', 'f') THEN {_acl("c.relacl", "r", "c.relowner")}
                    WHEN c.relkind = 'S' THEN {_acl("c.relacl", "s", "c.relowner")} END
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        LEFT JOIN pg_am AS am ON am.oid = c.relam AND c.relkind NOT IN ('i', 'I')
        WHERE {_USER_NAMESPACE.format(ns="n")}
          AND {_not_extension_member("pg_class", "c.oid")}""",
    "columns": f"""
        SELECT {_REL_KEY} || '.' || a.attname,
               row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
               format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
               a.attidentity::text, a.attgenerated::text,
               CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END,
               (SELECT array_agg(o ORDER BY o) FROM unnest(a.attoptions) AS o),
               a.attstattarget::int, {_explicit_acl("a.attacl")}
        FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        JOIN pg_type AS t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE {_USER_NAMESPACE.format(ns="n")} AND a.attnum > 0 AND NOT a.attisdropped
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
          AND {_not_extension_member("pg_class", "c.oid")}""",
    "constraints": f"""
        SELECT coalesce(rn.nspname || '.' || r.relname, tn.nspname || '.' || t.typname) || '.' || k.conname,
               k.contype::text, pg_get_constraintdef(k.oid), k.convalidated, k.condeferrable, k.condeferred
        FROM pg_constraint AS k
        LEFT JOIN pg_class AS r ON r.oid = k.conrelid LEFT JOIN pg_namespace AS rn ON rn.oid = r.relnamespace
        LEFT JOIN pg_type AS t ON t.oid = k.contypid LEFT JOIN pg_namespace AS tn ON tn.oid = t.typnamespace
        JOIN pg_namespace AS n ON n.oid = k.connamespace
        WHERE {_USER_NAMESPACE.format(ns="n")}
          AND {_not_extension_member("pg_constraint", "k.oid")}""",
    "indexes": f"""
        SELECT {_REL_KEY}, t.relname, pg_get_indexdef(i.indexrelid), i.indisvalid, i.indisready, i.indislive,
               i.indisprimary, i.indisclustered, i.indisreplident
        FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
        JOIN pg_class AS t ON t.oid = i.indrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE {_USER_NAMESPACE.format(ns="n")}
          AND {_not_extension_member("pg_class", "c.oid")}""",
    "statistics": f"""
        SELECT n.nspname || '.' || s.stxname, pg_get_statisticsobjdef(s.oid), pg_get_userbyid(s.stxowner)
        FROM pg_statistic_ext AS s JOIN pg_namespace AS n ON n.oid = s.stxnamespace
        WHERE {_USER_NAMESPACE.format(ns="n")} AND {_not_extension_member("pg_statistic_ext", "s.oid")}""",
    "triggers": f"""
        SELECT {_REL_KEY} || '.' || g.tgname, pg_get_triggerdef(g.oid), g.tgenabled::text
        FROM pg_trigger AS g JOIN pg_class AS c ON c.oid = g.tgrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE NOT g.tgisinternal""",
    "event_triggers": f"""
        SELECT v.evtname, v.evtevent, v.evtfoid::regproc::text, v.evtenabled::text, v.evttags,
               pg_get_userbyid(v.evtowner)
        FROM pg_event_trigger AS v WHERE {_not_extension_member("pg_event_trigger", "v.oid")}""",
    "functions": f"""
        SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
               p.prokind::text,
               CASE WHEN p.prokind = 'a'
                    THEN (SELECT concat_ws(' ', g.aggkind, g.aggtransfn, format_type(g.aggtranstype, NULL), g.aggfinalfn,
                                      g.aggcombinefn, g.aggsortop::regoperator, g.agginitval)
                     FROM pg_aggregate AS g WHERE g.aggfnoid = p.oid)
                    ELSE pg_get_functiondef(p.oid) END,
               p.prosecdef, (SELECT array_agg(o ORDER BY o) FROM unnest(p.proconfig) AS o),
               pg_get_userbyid(p.proowner), {_acl("p.proacl", "f", "p.proowner")}
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE {_USER_NAMESPACE.format(ns="n")} AND {_not_extension_member("pg_proc", "p.oid")}""",
    "views": f"""
        SELECT {_REL_KEY}, pg_get_viewdef(c.oid)
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE {_USER_NAMESPACE.format(ns="n")} AND c.relkind IN ('v', 'm')
          AND {_not_extension_member("pg_class", "c.oid")}""",
    "policies": f"""
        SELECT {_REL_KEY} || '.' || p.polname, p.polpermissive,
               (SELECT array_agg(role ORDER BY role) FROM (SELECT CASE WHEN r = 0 THEN 'PUBLIC'
                ELSE pg_get_userbyid(r) END AS role FROM unnest(p.polroles) AS r) AS roles),
               p.polcmd::text, pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
        FROM pg_policy AS p JOIN pg_class AS c ON c.oid = p.polrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace""",
    "rules": """
        SELECT schemaname || '.' || tablename || '.' || rulename, definition
        FROM pg_rules WHERE schemaname NOT IN ('pg_catalog', 'information_schema')""",
    "sequences": f"""
        SELECT {_REL_KEY}, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
               s.seqcache, s.seqcycle,
               (SELECT t.oid::regclass::text || '.' || a.attname || ' ' || d.deptype::text
                FROM pg_depend AS d JOIN pg_class AS t ON t.oid = d.refobjid
                JOIN pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
        FROM pg_sequence AS s JOIN pg_class AS c ON c.oid = s.seqrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE {_USER_NAMESPACE.format(ns="n")}
          AND {_not_extension_member("pg_class", "c.oid")}""",
    # Types of their own: enums, domains, ranges, base types (a table's row type and array types follow the table).
    "types": f"""
        SELECT n.nspname || '.' || t.typname, t.typtype::text, pg_get_userbyid(t.typowner),
               {_acl("t.typacl", "T", "t.typowner")},
               (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum AS e WHERE e.enumtypid = t.oid),
               CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
               t.typnotnull, t.typdefault,
               (SELECT format_type(r.rngsubtype, NULL) FROM pg_range AS r WHERE r.rngtypid = t.oid)
        FROM pg_type AS t JOIN pg_namespace AS n ON n.oid = t.typnamespace
        WHERE {_USER_NAMESPACE.format(ns="n")} AND t.typrelid = 0
          AND NOT EXISTS (SELECT 1 FROM pg_type AS e WHERE e.typarray = t.oid)
          AND t.typtype <> 'm' AND {_not_extension_member("pg_type", "t.oid")}""",
    "text_search": f"""
        SELECT 'configuration ' || n.nspname || '.' || c.cfgname, pg_get_userbyid(c.cfgowner),
               c.cfgparser::regproc::text,
               (SELECT array_agg(tt.alias || ' ' || m.mapseqno || ' ' || m.mapdict::regdictionary::text
                                 ORDER BY tt.alias, m.mapseqno)
                FROM pg_ts_config_map AS m JOIN ts_token_type(c.cfgparser) AS tt ON tt.tokid = m.maptokentype
                WHERE m.mapcfg = c.oid)
        FROM pg_ts_config AS c JOIN pg_namespace AS n ON n.oid = c.cfgnamespace
        WHERE {_USER_NAMESPACE.format(ns="n")} AND {_not_extension_member("pg_ts_config", "c.oid")}
        UNION ALL
        SELECT 'dictionary ' || n.nspname || '.' || d.dictname, pg_get_userbyid(d.dictowner),
               (SELECT m.tmplname::text FROM pg_ts_template AS m WHERE m.oid = d.dicttemplate),
               ARRAY[d.dictinitoption]
        FROM pg_ts_dict AS d JOIN pg_namespace AS n ON n.oid = d.dictnamespace
        WHERE {_USER_NAMESPACE.format(ns="n")} AND {_not_extension_member("pg_ts_dict", "d.oid")}""",
    # Owners of what no other section lists (operators, collations, ...), named by pg_identify_object.
    "other_objects": f"""
        WITH owned (catalog, oid, owner, ns) AS (
          SELECT 'pg_collation'::regclass, oid, collowner, collnamespace FROM pg_collation
          UNION ALL SELECT 'pg_conversion'::regclass, oid, conowner, connamespace FROM pg_conversion
          UNION ALL SELECT 'pg_operator'::regclass, oid, oprowner, oprnamespace FROM pg_operator
          UNION ALL SELECT 'pg_opclass'::regclass, oid, opcowner, opcnamespace FROM pg_opclass
          UNION ALL SELECT 'pg_opfamily'::regclass, oid, opfowner, opfnamespace FROM pg_opfamily
          UNION ALL SELECT 'pg_ts_parser'::regclass, oid, NULL, prsnamespace FROM pg_ts_parser
          UNION ALL SELECT 'pg_ts_template'::regclass, oid, NULL, tmplnamespace FROM pg_ts_template
          UNION ALL SELECT 'pg_foreign_data_wrapper'::regclass, oid, fdwowner, NULL FROM pg_foreign_data_wrapper
          UNION ALL SELECT 'pg_foreign_server'::regclass, oid, srvowner, NULL FROM pg_foreign_server
          UNION ALL SELECT 'pg_publication'::regclass, oid, pubowner, NULL FROM pg_publication
          UNION ALL SELECT 'pg_language'::regclass, oid, lanowner, NULL FROM pg_language
          UNION ALL SELECT 'pg_cast'::regclass, oid, NULL, NULL FROM pg_cast
          UNION ALL SELECT 'pg_transform'::regclass, oid, NULL, NULL FROM pg_transform
        )
        SELECT i.type || ' ' || i.identity, pg_get_userbyid(o.owner)
        FROM owned AS o LEFT JOIN pg_namespace AS n ON n.oid = o.ns,
             pg_identify_object(o.catalog, o.oid, 0) AS i
        WHERE o.oid >= 16384 AND (n.oid IS NULL OR ({_USER_NAMESPACE.format(ns="n")}))
          AND NOT EXISTS (SELECT 1 FROM pg_depend AS e
                          WHERE e.classid = o.catalog AND e.objid = o.oid AND e.deptype = 'e')""",
    "extensions": """
        SELECT x.extname, x.extversion, x.extnamespace::regnamespace::text, pg_get_userbyid(x.extowner),
               obj_description(x.oid, 'pg_extension')
        FROM pg_extension AS x""",
    "default_privileges": f"""
        SELECT pg_get_userbyid(d.defaclrole) || ' ' || CASE WHEN d.defaclnamespace = 0 THEN '*' ELSE d.defaclnamespace::regnamespace::text END
               || ' ' || d.defaclobjtype::text, {_explicit_acl("d.defaclacl")}
        FROM pg_default_acl AS d""",
    # Every comment on an object created after initdb, and on the schema public; extensions' objects and the runner's aside.
    "comments": """
        SELECT i.type || ' ' || i.identity, d.description
        FROM pg_description AS d, pg_identify_object(d.classoid, d.objoid, d.objsubid) AS i
        WHERE (d.objoid >= 16384 OR (d.classoid = 'pg_namespace'::regclass AND d.objoid = 'public'::regnamespace))
          AND d.classoid <> 'pg_extension'::regclass  -- in "extensions"
          AND NOT EXISTS (SELECT 1 FROM pg_depend AS e
                          WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')""",
    # This database's own grants, settings and comment; its name and owner are the test's, so they are left out.
    "database": f"""
        SELECT 'acl', {_acl("d.datacl", "d", "d.datdba")}::text FROM pg_database AS d WHERE d.datname = current_database()
        UNION ALL
        SELECT 'settings of ' || coalesce(pg_get_userbyid(nullif(s.setrole, 0)), 'everyone'),
               (SELECT array_agg(o ORDER BY o) FROM unnest(s.setconfig) AS o)::text
        FROM pg_db_role_setting AS s JOIN pg_database AS d ON d.oid = s.setdatabase
        WHERE d.datname = current_database()
        UNION ALL
        SELECT 'comment', shobj_description(d.oid, 'pg_database') FROM pg_database AS d
        WHERE d.datname = current_database() AND shobj_description(d.oid, 'pg_database') IS NOT NULL
        UNION ALL
        SELECT 'privilege ' || r.name || ' ' || p.name,
               has_database_privilege(r.name, current_database(), p.name)::text
        FROM (SELECT 'public'::text AS name UNION ALL SELECT rolname::text FROM pg_roles WHERE rolname LIKE 'socialdb\\_%') AS r,
             (VALUES ('CONNECT'), ('TEMPORARY'), ('CREATE')) AS p (name)
        WHERE r.name = 'public'
           OR has_database_privilege(r.name, current_database(), p.name)
              IS DISTINCT FROM has_database_privilege('public', current_database(), p.name)""",
}

SECTIONS = tuple(_QUERIES)


# The runner's own tables: dropped in the snapshot's transaction, which is rolled back.
_RUNNER_TABLES = "DROP TABLE IF EXISTS public.migrations, public.migrations_lock"


def snapshot(url: str, *, runner_tables: bool = False) -> Snapshot:
    """Every section's rows, sorted; the first value of a row names its object.

    The runner's tables are left out by dropping them (RESTRICT) in a transaction that is
    rolled back: the server's own dependency records take their indexes, sequence, row
    type, grants and comments with them, and an object of the migrations that depended on
    them would make the drop fail rather than vanish. The tool's reader (schema/catalog.py)
    skips them with a query instead; this one shares none of its SQL, so a mistake in one
    is not copied into the other. A standby cannot drop anything: compare two servers
    with `runner_tables=True` on both."""
    with psycopg.connect(url) as conn:
        # Names print schema-qualified or not by search_path: fix it, for snapshots of any session.
        conn.execute("SET LOCAL search_path = public")
        if not runner_tables:
            conn.execute(_RUNNER_TABLES)
        found = {name: sorted(conn.execute(query).fetchall(), key=repr) for name, query in _QUERIES.items()}  # type: ignore[arg-type]
        conn.rollback()
        return found


def differences(expected: Snapshot, actual: Snapshot) -> dict[str, dict[str, tuple[list[Row], list[Row]]]]:
    """Per section, per object that differs: (its rows only in `expected`, its rows only in `actual`)."""
    found: dict[str, dict[str, tuple[list[Row], list[Row]]]] = {}
    for section in sorted(set(expected) | set(actual)):
        mine = _by_object(expected.get(section, []))
        theirs = _by_object(actual.get(section, []))
        changed = {
            key: (
                [r for r in mine.get(key, []) if r not in theirs.get(key, [])],
                [r for r in theirs.get(key, []) if r not in mine.get(key, [])],
            )
            for key in sorted(set(mine) | set(theirs))
            if sorted(mine.get(key, []), key=repr) != sorted(theirs.get(key, []), key=repr)
        }
        if changed:
            found[section] = changed
    return found


def _by_object(rows: list[Row]) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[str(row[0])].append(row)
    return grouped
