"""What the platform's migrations need of the role that runs them, on a server where it is no
superuser (docs/deploying.md, decision 110). For socialdb's own migrations folder only
(another team's folder gets none of it):

- `NEEDS`, the named list: each privilege, who must hold it and the versions that need it.
  `check` reads it before the first pending file runs, so a managed server fails with one
  line naming the privilege and `socialdb db bootstrap`, not halfway through.
- `prepare`, the runner step before the first pending file: what the migrating role can give
  itself (the roles, SET on them, CREATE on schema public for the two roles that are handed
  objects); `settle` takes the schema grants back after a rollback below their versions.
- The placeholder band: 025-039 define functions with `SET app.user_id = ''`, which PostgreSQL
  15+ refuses to anyone but a superuser or a holder of SET on that parameter (only a superuser
  can grant it). 040 removes the clause. A role without it may pass through the band with the
  clause left out (`without_placeholder_clause`), never stop inside it (`require_band`);
  `stopped_in_band` finds a run that did (interrupted), for `verify`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from psycopg import sql

from socialdb.db import Conn
from socialdb.errors import PrivilegeError
from socialdb.scripts.files import MAX_VERSION, Migration
from socialdb.scripts.options import Direction
from socialdb.scripts.splitting import Statement

BOOTSTRAP_HINT = "`socialdb db bootstrap` prints what to run"
PLACEHOLDER = "app.user_id"
BAND = (25, 40)  # versions 25..39 hold functions with the clause; 40 takes it out
_CLAUSE = re.compile(r"^SET app\.user_id = ''\n", re.MULTILINE)


class Kind(Enum):
    ROLE = "role exists"  # or the migrating role may create it
    SET_ROLE = "SET on role"  # membership that ALTER ... OWNER TO needs
    SCHEMA_CREATE = "CREATE on schema public"  # the new owner's, for ALTER ... OWNER TO
    DATABASE_CREATE = "CREATE on the database"  # trusted extensions (020)
    DATABASE_OWNER = "ownership of the database"  # REVOKE TEMPORARY ... FROM PUBLIC (027)
    GRANT_ROLE = "ADMIN on role"  # GRANT socialdb_app TO socialdb_ingest (036)
    PUBLIC_OBJECTS = "every object of schema public its own"  # 018 hands them all over
    INHERIT = "INHERIT"  # on 15, a NOINHERIT role uses none of its roles' privileges


@dataclass(frozen=True)
class Need:
    kind: Kind
    role: str  # the role the privilege is about (or whose it is); "" for the migrating role
    since: int  # the first version that needs it
    why: str
    until: int | None = None  # the last one (None: every later version too)

    def needed_by(self, todo: Sequence[Migration]) -> Migration | None:
        """The first pending migration that needs it, if any."""
        last = self.until if self.until is not None else MAX_VERSION
        return next((m for m in sorted(todo, key=lambda m: m.version) if self.since <= m.version <= last), None)


ROLES = ("socialdb_owner", "socialdb_app", "socialdb_maintenance", "socialdb_ingest")
HANDED_OBJECTS = ("socialdb_owner", "socialdb_ingest")  # ALTER ... OWNER TO names them (bootstrap.py)
NEEDS: tuple[Need, ...] = (
    Need(Kind.ROLE, "socialdb_owner", 18, "owns the schema"),
    Need(Kind.ROLE, "socialdb_app", 18, "the application's role"),
    Need(Kind.INHERIT, "", 1, "it acts through socialdb_owner and the database's owner"),
    Need(Kind.PUBLIC_OBJECTS, "", 18, "018 hands every table, view and function of public to socialdb_owner", 18),
    Need(Kind.SET_ROLE, "socialdb_owner", 18, "ALTER ... OWNER TO socialdb_owner"),
    Need(Kind.SCHEMA_CREATE, "socialdb_owner", 18, "ALTER ... OWNER TO socialdb_owner"),
    Need(Kind.DATABASE_CREATE, "", 20, "CREATE EXTENSION unaccent, btree_gin", 20),
    Need(Kind.ROLE, "socialdb_maintenance", 27, "runs maintenance"),
    Need(Kind.DATABASE_OWNER, "", 27, "REVOKE TEMPORARY ON DATABASE ... FROM PUBLIC", 27),
    Need(Kind.ROLE, "socialdb_ingest", 36, "runs the webhook function"),
    Need(Kind.SET_ROLE, "socialdb_ingest", 36, "ALTER FUNCTION ... OWNER TO socialdb_ingest"),
    Need(Kind.GRANT_ROLE, "socialdb_app", 36, "GRANT socialdb_app TO socialdb_ingest", 36),
    Need(Kind.SCHEMA_CREATE, "socialdb_ingest", 36, "ALTER FUNCTION ... OWNER TO socialdb_ingest"),
)


@dataclass(frozen=True)
class Standing:
    """What the migrating role is, read once from the catalog."""

    name: str
    superuser: bool
    createrole: bool
    inherit: bool
    server_version: int  # server_version_num
    may_set_placeholder: bool  # superuser, or SET on app.user_id


_STANDING = """
SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolinherit FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user
"""
_MAY_SET_PLACEHOLDER = "SELECT pg_catalog.has_parameter_privilege('app.user_id', 'SET')"  # 15+ only
ROLE_EXISTS = "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s)"  # bootstrap.py too
# Handing objects over takes SET on the new owner (16+), and granting on them afterwards its
# privileges (USAGE: an inheriting membership). SET can come through another role without
# INHERIT (a main role with SET on the migrator, a member of the owner): both are asked.
_MAY_SET_ROLE = """
SELECT pg_catalog.pg_has_role(%(member)s, %(role)s, 'USAGE')
   AND (current_setting('server_version_num')::int < 160000 OR pg_catalog.pg_has_role(%(member)s, %(role)s, 'SET'))
"""
_MAY_GRANT_ROLE = "SELECT pg_catalog.pg_has_role(%s, 'MEMBER WITH ADMIN OPTION')"
SCHEMA_CREATE = "SELECT pg_catalog.has_schema_privilege(%s, 'public', 'CREATE')"  # bootstrap.py too
_MAY_GRANT_SCHEMA = (
    "SELECT pg_catalog.has_schema_privilege('public', 'CREATE WITH GRANT OPTION')"
    " OR pg_catalog.pg_has_role((SELECT nspowner FROM pg_catalog.pg_namespace WHERE nspname = 'public'), 'USAGE')"
)
# An object of schema public whose owner the role cannot act as: 018's loops would fail to
# hand it over. A trusted extension's functions are the bootstrap superuser's (018 runs
# before 020, so any such extension was there first); a table the provider's main role made
# before giving the database away stays that role's.
_FOREIGN_OBJECT = """
SELECT kind, name, pg_catalog.pg_get_userbyid(owner) FROM (
  SELECT 'table'::text AS kind, c.oid::regclass::text AS name, c.relowner AS owner FROM pg_catalog.pg_class AS c
  WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'm', 'v')
  UNION ALL
  SELECT 'function', p.oid::regprocedure::text, p.proowner FROM pg_catalog.pg_proc AS p
  WHERE p.pronamespace = 'public'::regnamespace
) AS objects
WHERE NOT pg_catalog.pg_has_role(owner, 'USAGE')
ORDER BY kind, name LIMIT 1
"""
_INGEST_IN_APP = "SELECT pg_catalog.pg_has_role('socialdb_ingest', 'socialdb_app', 'MEMBER')"
_DATABASE_CREATE = "SELECT pg_catalog.has_database_privilege(current_database(), 'CREATE')"
_DATABASE_OWNER = (
    "SELECT pg_catalog.pg_has_role((SELECT datdba FROM pg_catalog.pg_database"
    " WHERE datname = current_database()), 'USAGE')"
)


def standing(conn: Conn) -> Standing:
    row = conn.execute(_STANDING).fetchone()
    assert row is not None  # current_user always has a row
    name, superuser, createrole, inherit = str(row[0]), bool(row[1]), bool(row[2]), bool(row[3])
    version = conn.info.server_version
    # Before 15 no SET privilege exists, and no function's SET clause needs one.
    may_set = superuser or version < 150000 or ask(conn, _MAY_SET_PLACEHOLDER)
    return Standing(name, superuser, createrole, inherit, version, may_set)


def may_set_role(conn: Conn, member: str, role: str) -> bool:
    """Whether `member` may hand objects to `role` and then act with its privileges."""
    row = conn.execute(_MAY_SET_ROLE, {"member": member, "role": role}).fetchone()
    return bool(row and row[0])


def ask(conn: Conn, query: str, *params: object) -> bool:
    """The one boolean a catalog query answers."""
    row = conn.execute(query, params).fetchone()
    return bool(row and row[0])


def _held(conn: Conn, me: Standing, need: Need) -> bool:
    """Whether `need` is met now, or will be by the file that needs it (a role it may create)."""
    if me.superuser:
        return True
    exists = ask(conn, ROLE_EXISTS, need.role) if need.role else True
    if need.kind is Kind.ROLE:
        return exists or me.createrole
    if need.kind is Kind.SET_ROLE:
        # A role the run creates is the creator's (prepare asks for SET on 16+; 018/036 grant it on 15).
        if not exists:
            return me.createrole
        # 018 and 036 grant it to a creator on 15; prepare() to an ADMIN holder on 16+.
        return may_set_role(conn, me.name, need.role) or _may_grant(conn, me, need.role)
    if need.kind is Kind.SCHEMA_CREATE:
        return (exists and ask(conn, SCHEMA_CREATE, need.role)) or ask(conn, _MAY_GRANT_SCHEMA)
    if need.kind is Kind.DATABASE_CREATE:
        return ask(conn, _DATABASE_CREATE)
    if need.kind is Kind.GRANT_ROLE:
        ingest_in = ask(conn, ROLE_EXISTS, "socialdb_ingest") and ask(conn, _INGEST_IN_APP)
        return ingest_in or (not exists and me.createrole) or _may_grant(conn, me, need.role)
    if need.kind is Kind.PUBLIC_OBJECTS:
        return conn.execute(_FOREIGN_OBJECT).fetchone() is None
    if need.kind is Kind.INHERIT:
        return me.inherit or me.server_version >= 160000  # 16+: the grants say INHERIT TRUE themselves
    return ask(conn, _DATABASE_OWNER)


def _may_grant(conn: Conn, me: Standing, role: str) -> bool:
    """Whether the role may grant membership in `role`: on 15 CREATEROLE suffices, from 16 on ADMIN."""
    return (me.createrole and me.server_version < 160000) or ask(conn, _MAY_GRANT_ROLE, role)


def _wording(conn: Conn, me: Standing, need: Need) -> str:
    if need.kind is Kind.ROLE:
        return f"role {need.role} does not exist and {me.name} may not create roles (CREATEROLE)"
    if need.kind is Kind.SET_ROLE:
        return f"{me.name} lacks membership with SET in {need.role}"
    if need.kind is Kind.SCHEMA_CREATE:
        return f"{need.role} lacks CREATE on schema public and {me.name} may not grant it"
    if need.kind is Kind.DATABASE_CREATE:
        return f"{me.name} lacks CREATE on the database"
    if need.kind is Kind.GRANT_ROLE:
        return f"{me.name} may not grant {need.role} (it needs ADMIN on it)"
    if need.kind is Kind.PUBLIC_OBJECTS:
        found = conn.execute(_FOREIGN_OBJECT).fetchone()
        kind, name, owner = found if found else ("object", "?", "?")
        return (
            f"{kind} {name} is {owner}'s, whom {me.name} cannot act as: have {owner} run ALTER {kind.upper()}"
            f" ... OWNER TO {me.name}, or move it out of public (an extension: ALTER EXTENSION ... SET SCHEMA;"
            " Citus's views: `socialdb db bootstrap --apply` as a superuser moves them to pg_catalog)"
        )
    if need.kind is Kind.INHERIT:
        return f"{me.name} is NOINHERIT, which on PostgreSQL 15 leaves it none of its roles' privileges"
    return f"{me.name} does not own the database"


def check(conn: Conn, me: Standing, todo: Sequence[Migration], direction: Direction) -> None:
    """Refuse, before the first pending file, a run that a privilege on the list would stop."""
    if not todo or direction is not Direction.UP:
        return
    first = min(m.version for m in todo)
    for need in NEEDS:
        needed_by = need.needed_by(todo)
        if needed_by is not None and not _held(conn, me, need):
            advice = "" if need.kind is Kind.PUBLIC_OBJECTS else f"; {BOOTSTRAP_HINT}"
            raise PrivilegeError(
                f"{needed_by.filename} needs {need.kind.value} ({need.why}): {_wording(conn, me, need)}"
                f"{advice} (version {first} is the first pending)"
            )


def prepare(conn: Conn, me: Standing, todo: Sequence[Migration]) -> None:
    """The runner step before the first pending file: what the pending files need and the
    migrating role can give itself, the same for a superuser (so that every database is alike,
    whoever migrated it): the roles, SET on the roles objects are handed to (16+), and CREATE
    on schema public for those roles. Idempotent; committed on its own."""
    needs = [need for need in NEEDS if need.needed_by(todo) is not None]
    if not needs:
        return
    with conn.transaction():
        if me.createrole and not me.superuser and me.server_version >= 160000:
            # From 16 on, a role's creator gets only ADMIN on it unless it asks for more.
            conn.execute("SET LOCAL createrole_self_grant = 'set, inherit'")
        for need in needs:
            _give(conn, me, need)


def settle(conn: Conn, end: int) -> None:
    """After a rollback to version `end`: take back the schema grants that prepare() gave for
    versions above it, so that the database is the one `up --to end` makes (round trips)."""
    with conn.transaction():
        for need in NEEDS:
            if (
                need.kind is Kind.SCHEMA_CREATE
                and need.since > end
                and ask(conn, ROLE_EXISTS, need.role)
                and ask(conn, SCHEMA_CREATE, need.role)
                and ask(conn, _MAY_GRANT_SCHEMA)
            ):
                conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM {}").format(sql.Identifier(need.role)))


def _give(conn: Conn, me: Standing, need: Need) -> None:
    role = sql.Identifier(need.role)
    if need.kind is Kind.ROLE and (me.createrole or me.superuser) and not ask(conn, ROLE_EXISTS, need.role):
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(role))
    if not need.role or not ask(conn, ROLE_EXISTS, need.role):
        return
    if need.kind is Kind.SCHEMA_CREATE and not ask(conn, SCHEMA_CREATE, need.role) and ask(conn, _MAY_GRANT_SCHEMA):
        conn.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(role))
    if (
        need.kind is Kind.SET_ROLE
        and not me.superuser
        and me.server_version >= 160000
        and not may_set_role(conn, me.name, need.role)
        and ask(conn, _MAY_GRANT_ROLE, need.role)
    ):
        conn.execute(sql.SQL("GRANT {} TO {} WITH INHERIT TRUE, SET TRUE").format(role, sql.Identifier(me.name)))


def in_band(migration: Migration) -> bool:
    """025-039 define the functions with the clause, and 040's rollback restores it: only
    these files are ever run without it."""
    return BAND[0] <= migration.version <= BAND[1]


def _with_clause(migration: Migration, direction: Direction) -> bool:
    statements = migration.up_statements if direction is Direction.UP else migration.down_statements or ()
    return in_band(migration) and any(s.kind == "CreateFunctionStmt" and _CLAUSE.search(s.sql) for s in statements)


def require_band(me: Standing, todo: Sequence[Migration], direction: Direction, end: int, *, stripped: bool) -> bool:
    """Whether the run must leave the placeholder clause out; refuses a run that would stop in
    the band (a state a role without SET on app.user_id cannot make). `end`: the version after;
    `stripped`: the database is in the band already, without the clause (an unfinished run)."""
    if me.may_set_placeholder or not (stripped or any(_with_clause(m, direction) for m in todo)):
        return False
    if BAND[0] <= end < BAND[1]:
        raise PrivilegeError(
            f"version {end} needs SET on parameter {PLACEHOLDER}, which {me.name} lacks: versions"
            f" {BAND[0]:03d}-{BAND[1] - 1:03d} define functions with `SET {PLACEHOLDER}`; without it, migrate"
            f" to {BAND[1]:03d} or later, or below {BAND[0]:03d} (docs/deploying.md); {BOOTSTRAP_HINT}"
        )
    return True


def without_placeholder_clause(statements: list[Statement]) -> list[Statement]:
    """The statements with `SET app.user_id = ''` taken out of each function definition: the
    functions 040 redefines without it, so the end state is the chain's (tests/test_managed.py)."""
    return [
        Statement(_CLAUSE.sub("", s.sql), s.line, s.needs_no_transaction, s.concurrent_index, s.kind)
        if s.kind == "CreateFunctionStmt"
        else s
        for s in statements
    ]


# The three seller calls, each defined with the clause at every version of the band.
_WITHOUT_CLAUSE = """
SELECT count(*) FROM pg_catalog.pg_proc
WHERE pronamespace = 'public'::regnamespace
  AND proname IN ('seller_inbox_page', 'seller_message_page', 'seller_ingest_message')
  AND NOT coalesce('app.user_id=' = ANY (proconfig), false)
"""


def stopped_in_band(conn: Conn, newest: int | None) -> bool:
    """Whether a run that left the clause out stopped inside the band (interrupted or failed):
    at 025-039 the seller calls must have it. `up` to 040 finishes the job."""
    if newest is None or not BAND[0] <= newest < BAND[1]:
        return False
    row = conn.execute(_WITHOUT_CLAUSE).fetchone()
    return bool(row and row[0])
