"""`socialdb db bootstrap`: what must be done once, by a role that can, before a role that is
no superuser migrates the platform's database (docs/deploying.md).

It reads the catalog and returns only the statements still missing for the migrating role
named: the roles, that role's SET on the two roles objects are handed to, the database's
ownership, CREATE on schema public for those two roles, Citus's views out of schema public
(until 018 has run), CREATE on the database. Each is
checked against what the connecting role may do (a managed provider's main role: CREATEROLE,
CREATEDB, owner of the database it made): one it may not run is returned as blocked, with
the reason, and `apply` refuses to run any. SET on the parameter app.user_id is never asked
for: nobody under a superuser can grant it, and the runner does without it (privileges.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from socialdb.db import Conn
from socialdb.errors import PrivilegeError
from socialdb.migrate.privileges import HANDED_OBJECTS, ROLE_EXISTS, ROLES, SCHEMA_CREATE, ask, may_set_role

# ALTER DATABASE ... OWNER TO takes only SET on the new owner (membership on 15).
_MAY_BECOME = """
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
            THEN pg_catalog.pg_has_role(%s, %s, 'SET') ELSE pg_catalog.pg_has_role(%s, %s, 'MEMBER') END
"""
_IN_ROLE = "SELECT pg_catalog.pg_has_role(%s, %s, 'MEMBER')"
_ADMIN_OF = "SELECT pg_catalog.pg_has_role(%s, 'MEMBER WITH ADMIN OPTION')"
# The migrator that owns schema public (as its database's owner, on 15+) grants CREATE on it
# itself before its first pending file (privileges.prepare): nothing for the bootstrap.
_GRANTS_SCHEMA = (
    "SELECT pg_catalog.has_schema_privilege(%s, 'public', 'CREATE WITH GRANT OPTION') OR pg_catalog.pg_has_role("
    "%s, (SELECT nspowner FROM pg_catalog.pg_namespace WHERE nspname = 'public'), 'USAGE')"
)
_FOLLOWS_OWNER = "SELECT nspowner = 'pg_database_owner'::regrole FROM pg_catalog.pg_namespace WHERE nspname = 'public'"
_ME = """
SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb,
       pg_catalog.pg_has_role(d.datdba, 'USAGE'), current_database(), current_setting('server_version_num')::int
FROM pg_catalog.pg_roles AS r, pg_catalog.pg_database AS d
WHERE r.rolname = current_user AND d.datname = current_database()
"""
_DATABASE = """
SELECT pg_catalog.has_database_privilege(%s, current_database(), 'CREATE'),
       pg_catalog.pg_get_userbyid(d.datdba) = %s
FROM pg_catalog.pg_database AS d WHERE d.datname = current_database()
"""


@dataclass(frozen=True)
class Step:
    statement: str  # SQL, ready to run
    why: str
    blocked: str | None = None  # why the connecting role may not run it; None: it may


@dataclass(frozen=True)
class _Me:
    """The connecting role (the one that runs the bootstrap) and the database."""

    name: str
    superuser: bool
    createrole: bool
    createdb: bool
    owns_database: bool
    database: str
    version: int


def _read_me(conn: Conn) -> _Me:
    row = conn.execute(_ME).fetchone()
    assert row is not None  # current_user and current_database() always have rows
    return _Me(str(row[0]), bool(row[1]), bool(row[2]), bool(row[3]), bool(row[4]), str(row[5]), int(row[6]))


def _may_grant(conn: Conn, me: _Me, role: str, created: set[str]) -> str | None:
    """Why `me` may not grant membership in `role`, or None. From 16 on it takes ADMIN (which a
    role's creator gets); on 15, CREATEROLE."""
    if me.superuser or (role in created and me.createrole):
        return None
    if me.version < 160000 and me.createrole:
        return None
    if ask(conn, _ADMIN_OF, role):
        return None
    return f"{me.name} lacks ADMIN on {role}: run it as the role that created {role}"


def steps(conn: Conn, migrator: str) -> list[Step]:
    """What `migrator` still lacks to run every migration of the platform's folder, in order."""
    me = _read_me(conn)
    row = conn.execute(_DATABASE, (migrator, migrator)).fetchone()
    may_create, owns = (bool(row[0]), bool(row[1])) if row else (False, False)
    result, created = _roles(conn, me)
    result += _ownership(conn, me, migrator) if not owns else []
    result += _memberships(conn, me, migrator, created)
    # Given the database, the migrator owns a schema public that follows its owner (15+).
    grants_schema = not ask(conn, _GRANTS_SCHEMA, migrator, migrator) and (owns or not ask(conn, _FOLLOWS_OWNER))
    for role in HANDED_OBJECTS if grants_schema else ():
        if role in created or not ask(conn, SCHEMA_CREATE, role):
            grant = sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(role))
            blocked = None if me.superuser or ask(conn, _GRANTS_SCHEMA, me.name, me.name) else "not the schema's owner"
            result.append(Step(_text(conn, grant), f"ALTER ... OWNER TO {role} (a new owner needs it)", blocked))
    result += _citus_views(conn, me, migrator)
    if owns and not may_create:
        grant = sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(me.database), sql.Identifier(migrator)
        )
        blocked = None if me.superuser or me.owns_database else "not the database's owner"
        result.append(Step(_text(conn, grant), "020 creates the trusted extensions unaccent and btree_gin", blocked))
    return result


def _roles(conn: Conn, me: _Me) -> tuple[list[Step], set[str]]:
    result, created = [], set()
    for role in ROLES:
        if not ask(conn, ROLE_EXISTS, role):
            create = sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role))
            blocked = None if me.superuser or me.createrole else f"{me.name} lacks CREATEROLE"
            result.append(Step(_text(conn, create), "a role", blocked))
            created.add(role)
    if "socialdb_ingest" in created or not ask(conn, _IN_ROLE, "socialdb_ingest", "socialdb_app"):
        blocked = _may_grant(conn, me, "socialdb_app", created)
        result.append(Step("GRANT socialdb_app TO socialdb_ingest", "the webhook function acts as the app", blocked))
    return result, created


def _ownership(conn: Conn, me: _Me, migrator: str) -> list[Step]:
    """The database to the migrator (027 revokes TEMPORARY on it from PUBLIC, the owner's to do).
    A role that is no superuser must be able to SET ROLE to the new owner (membership on 15)."""
    who = sql.Identifier(migrator)
    result = []
    if not me.superuser and not ask(conn, _MAY_BECOME, me.name, migrator, me.name, migrator):
        options = " WITH INHERIT FALSE, SET TRUE" if me.version >= 160000 else ""
        grant = sql.SQL("GRANT {} TO {}{}").format(who, sql.Identifier(me.name), sql.SQL(options))
        result.append(Step(_text(conn, grant), "to give it the database", _may_grant(conn, me, migrator, set())))
    blocked = None
    if not me.superuser and not (me.owns_database and me.createdb):
        blocked = f"{me.name} must own the database and have CREATEDB"
    change = sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(me.database), who)
    result.append(Step(_text(conn, change), "027 revokes TEMPORARY on it from PUBLIC", blocked))
    return result


# The views CREATE EXTENSION citus puts in schema public (citus_tables, citus_schemas), which
# 018's loop would hand to socialdb_owner and the migrator cannot (decision 271).
_CITUS_VIEWS = """
SELECT c.relname FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_depend AS d ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
JOIN pg_catalog.pg_extension AS e ON e.oid = d.refobjid AND e.extname = 'citus'
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v'
  AND NOT pg_catalog.pg_has_role(%s, c.relowner, 'USAGE')
ORDER BY 1
"""
# Whether 018 has run, asked only where the connecting role may read the history.
_HISTORY_READABLE = (
    "SELECT to_regclass('public.migrations') IS NOT NULL"
    " AND pg_catalog.has_table_privilege('public.migrations', 'SELECT')"
)
_OWNERSHIP_DONE = "SELECT EXISTS (SELECT FROM public.migrations WHERE version = 18 AND state = 'applied')"


def _citus_views(conn: Conn, me: _Me, migrator: str) -> list[Step]:
    """Citus's views out of public, into pg_catalog, where Citus itself creates them when a
    database has no schema public; needed only until 018 (the ownership loop) has run."""
    views = [str(row[0]) for row in conn.execute(_CITUS_VIEWS, (migrator,)).fetchall()]
    if not views or (ask(conn, _HISTORY_READABLE) and ask(conn, _OWNERSHIP_DONE)):
        return []
    blocked = None if me.superuser else "only a superuser may move a view into pg_catalog"
    why = "Citus's view in public: 018 hands every view of public to socialdb_owner"
    move = sql.SQL("ALTER VIEW {} SET SCHEMA pg_catalog")
    return [Step(_text(conn, move.format(sql.Identifier("public", v))), why, blocked) for v in views]


_INHERITS = "SELECT rolinherit FROM pg_catalog.pg_roles WHERE rolname = %s"


def _memberships(conn: Conn, me: _Me, migrator: str, created: set[str]) -> list[Step]:
    options = sql.SQL(" WITH INHERIT TRUE, SET TRUE" if me.version >= 160000 else "")
    result = []
    if me.version < 160000 and not ask(conn, _INHERITS, migrator):  # 16+: the grants below say INHERIT
        change = sql.SQL("ALTER ROLE {} INHERIT").format(sql.Identifier(migrator))
        blocked = None if me.superuser or me.createrole else f"{me.name} lacks CREATEROLE"
        result.append(Step(_text(conn, change), "on 15 a NOINHERIT role uses none of its roles' privileges", blocked))
    for role in HANDED_OBJECTS:
        if role in created or not may_set_role(conn, migrator, role):
            grant = sql.SQL("GRANT {} TO {}{}").format(sql.Identifier(role), sql.Identifier(migrator), options)
            result.append(Step(_text(conn, grant), f"ALTER ... OWNER TO {role}", _may_grant(conn, me, role, created)))
    return result


def apply(conn: Conn, todo: list[Step]) -> None:
    """Run the steps in one transaction: all of them or none; none if one is blocked."""
    blocked = next((step for step in todo if step.blocked), None)
    if blocked is not None:
        raise PrivilegeError(f"cannot run `{blocked.statement}`: {blocked.blocked}; nothing was applied")
    with conn.transaction():
        for step in todo:
            conn.execute(step.statement.encode())


def _text(conn: Conn, statement: sql.Composable) -> str:
    return statement.as_string(conn)


def bootstrap(url: str, migrator: str | None = None, *, run: bool = False) -> tuple[str, list[Step]]:
    """The migrating role (default: the role connecting) and what it still lacks; with `run`,
    done as the role connecting. Read-only otherwise."""
    from socialdb.db import connect

    with connect(url, autocommit=True, purpose="bootstrap") as conn:
        row = conn.execute("SELECT current_user").fetchone()
        role = migrator or str(row[0] if row else "")
        todo = steps(conn, role)
        if run and todo:
            apply(conn, todo)
        return role, todo
