"""`socialdb db bootstrap`: what must be done once, by a role that can, before a role that is
no superuser migrates the platform's database (docs/deploying.md).

It reads the catalog and returns only the statements still missing, for the migrating role
named: the roles, that role's SET on the two roles objects are handed to, CREATE on schema
public for those two, CREATE on the database. Each is a statement a managed provider's main
role can run (it has CREATEROLE and owns the database); none needs a superuser. SET on the
parameter app.user_id is never asked for: nobody under a superuser can grant it, and the
runner does without it (privileges.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from socialdb.db import Conn
from socialdb.migrate.privileges import HANDED_OBJECTS, ROLES

_ROLE_EXISTS = "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s)"
_MAY_SET = """
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
            THEN pg_catalog.pg_has_role(%s, %s, 'SET') ELSE pg_catalog.pg_has_role(%s, %s, 'MEMBER') END
"""
_IN_ROLE = "SELECT pg_catalog.pg_has_role(%s, %s, 'MEMBER')"
_SCHEMA_CREATE = "SELECT pg_catalog.has_schema_privilege(%s, 'public', 'CREATE')"
# The migrator that owns schema public (as its database's owner, on 15+) grants CREATE on it
# itself before its first pending file (privileges.prepare): nothing for the bootstrap.
_GRANTS_SCHEMA = (
    "SELECT pg_catalog.has_schema_privilege(%s, 'public', 'CREATE WITH GRANT OPTION') OR pg_catalog.pg_has_role("
    "%s, (SELECT nspowner FROM pg_catalog.pg_namespace WHERE nspname = 'public'), 'USAGE')"
)
_DATABASE = """
SELECT current_database(), pg_catalog.has_database_privilege(%s, current_database(), 'CREATE'),
       pg_catalog.pg_get_userbyid(d.datdba) = %s, current_setting('server_version_num')::int
FROM pg_catalog.pg_database AS d WHERE d.datname = current_database()
"""


@dataclass(frozen=True)
class Step:
    statement: str  # SQL, ready to run
    why: str


def _ask(conn: Conn, query: str, *params: object) -> bool:
    row = conn.execute(query, params).fetchone()
    return bool(row and row[0])


def steps(conn: Conn, migrator: str) -> list[Step]:
    """What `migrator` still lacks to run every migration of the platform's folder."""
    found = conn.execute(_DATABASE, (migrator, migrator)).fetchone()
    assert found is not None  # the current database has a row
    database, may_create, owns, version = str(found[0]), bool(found[1]), bool(found[2]), int(found[3])
    who = sql.Identifier(migrator)
    result: list[Step] = []
    for role in ROLES:
        if not _ask(conn, _ROLE_EXISTS, role):
            result.append(Step(_text(conn, sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role))), "a role"))
    if not _ask(conn, _ROLE_EXISTS, "socialdb_ingest") or not _ask(conn, _IN_ROLE, "socialdb_ingest", "socialdb_app"):
        result.append(Step("GRANT socialdb_app TO socialdb_ingest", "the webhook function's role acts as the app"))
    options = sql.SQL(" WITH INHERIT TRUE, SET TRUE" if version >= 160000 else "")
    for role in HANDED_OBJECTS:
        exists = _ask(conn, _ROLE_EXISTS, role)
        if not exists or not _ask(conn, _MAY_SET, migrator, role, migrator, role):
            grant = sql.SQL("GRANT {} TO {}{}").format(sql.Identifier(role), who, options)
            result.append(Step(_text(conn, grant), f"ALTER ... OWNER TO {role}"))
        if (not exists or not _ask(conn, _SCHEMA_CREATE, role)) and not _ask(conn, _GRANTS_SCHEMA, migrator, migrator):
            grant = sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(role))
            result.append(Step(_text(conn, grant), f"ALTER ... OWNER TO {role} (a new owner needs it)"))
    if not owns:
        change = sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), who)
        result.append(Step(_text(conn, change), "027 revokes TEMPORARY on it from PUBLIC"))
    elif not may_create:
        grant = sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(sql.Identifier(database), who)
        result.append(Step(_text(conn, grant), "020 creates the trusted extensions unaccent and btree_gin"))
    return result


def apply(conn: Conn, todo: list[Step]) -> None:
    """Run the steps in one transaction: all of them or none."""
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
