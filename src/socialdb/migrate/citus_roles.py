"""The owner's login on a Citus cluster (issue 26, item 4; decision 240).

On Citus a statement on a distributed table opens connections to the workers as the current
user. Inside a SECURITY DEFINER function that is the function's owner: `socialdb_owner` for
the summary's refresh and rebuild, whose statements reach every seller's node, NOLOGIN by
design (migration 018), so the call fails ("role ... is not permitted to log in"). A shard
move connects as the tables' owner too. `socialdb_ingest` keeps NOLOGIN: its one function runs
on the seller's node, delegated, and opens no connection to another (the calls' decisions).

socialdb_owner gets LOGIN with no password (PASSWORD NULL), on every node: no password exists
to steal, guess or store in `pg_dist_authinfo`, so a password method (scram-sha-256) can never
admit it; what admits it is the pg_hba.conf lines the administrator adds for the nodes' own
addresses (`pg_hba_lines`, docs/security.md "Citus: the owner's login"). It also gets CREATE on
schema public where it lacks it, which `citus_move_shard_placement` needs of the tables' owner.

An administrator's step, run once per cluster as a superuser (it reads pg_authid, where the
passwords are): `socialdb citus logins`. It is no migration: the migrating role may not alter
roles (tests/citus.py migrates as such a role), and a single server must keep both roles NOLOGIN.
It refuses a database without Citus. A second run changes nothing and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from socialdb.db import Conn, connect, database_of
from socialdb.errors import CitusError

LOGINS = ("socialdb_owner",)  # the definer roles that log in on Citus
NOLOGIN = ("socialdb_ingest",)  # the definer roles that stay NOLOGIN there too (refused otherwise)
SCHEMA_OWNER_ROLE = "socialdb_owner"  # owns the tables: a shard move creates their shards as it
_HAS_CITUS = "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus'"
# Each definer: can it log in, has it a password, and may it do more than its rights (refused).
_ROLE = """
SELECT r.rolcanlogin, a.rolpassword IS NOT NULL, r.rolsuper OR r.rolbypassrls OR r.rolreplication
FROM pg_catalog.pg_roles AS r LEFT JOIN pg_catalog.pg_authid AS a ON a.oid = r.oid
WHERE r.rolname = %s
"""
_CREATE_ON_PUBLIC = "SELECT pg_catalog.has_schema_privilege(%s, 'public', 'CREATE')"
# The nodes of the cluster, as the coordinator knows them (the coordinator's own row included).
_NODES = "SELECT DISTINCT nodename::text FROM pg_catalog.pg_dist_node WHERE isactive ORDER BY 1"


@dataclass(frozen=True)
class NodeLogins:
    """What a run changed (empty when everything was in place) and the nodes' addresses."""

    logins: tuple[str, ...] = ()  # roles given LOGIN (no password) now
    create_on_public: bool = False  # CREATE on schema public granted to socialdb_owner now
    nodes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.logins or self.create_on_public)


def grant_node_logins(url: str) -> NodeLogins:
    """Give socialdb_owner LOGIN without a password on every node of the Citus cluster at `url`."""
    database = database_of(url)
    with connect(url, autocommit=True, purpose="citus logins") as conn:
        if conn.execute(_HAS_CITUS).fetchone() is None:
            raise CitusError(
                f"database {database} has no citus extension: the definer roles log in only on a Citus cluster"
                " (on one server they stay NOLOGIN)"
            )
        missing = [role for role in LOGINS if _needs_login(conn, role)]
        for role in NOLOGIN:
            _refuse_login(conn, role)
        with conn.transaction():
            for role in missing:
                # Citus sends ALTER ROLE to every node (citus.enable_alter_role_propagation).
                conn.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD NULL").format(sql.Identifier(role)))
            grant = conn.execute(_CREATE_ON_PUBLIC, (SCHEMA_OWNER_ROLE,)).fetchone() != (True,)
            if grant:
                conn.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(SCHEMA_OWNER_ROLE)))
        nodes = tuple(row[0] for row in conn.execute(_NODES).fetchall())
    return NodeLogins(tuple(missing), grant, nodes)


def _needs_login(conn: Conn, role: str) -> bool:
    """Whether `role` still lacks LOGIN; refuses a role that is missing, has a password or more rights."""
    row = conn.execute(_ROLE, (role,)).fetchone()
    if row is None:
        raise CitusError(f"role {role} does not exist: run `socialdb migrate up` first")
    can_login, has_password, too_strong = row
    if too_strong:
        raise CitusError(
            f"role {role} is SUPERUSER, BYPASSRLS or REPLICATION: it must have none of these before it may log in"
        )
    if has_password:
        raise CitusError(
            f"role {role} has a password, which anyone could try from anywhere pg_hba.conf lets a password in:"
            f" ALTER ROLE {role} PASSWORD NULL first (the nodes admit it by address, docs/security.md)"
        )
    return not bool(can_login)


def _refuse_login(conn: Conn, role: str) -> None:
    """`role` must stay NOLOGIN (a missing one is the runner's to create)."""
    row = conn.execute(_ROLE, (role,)).fetchone()
    if row is not None and row[0]:
        raise CitusError(
            f"role {role} may log in, which it needs nowhere (its function runs on the seller's node):"
            f" ALTER ROLE {role} NOLOGIN first (docs/security.md)"
        )


def pg_hba_lines(database: str, nodes: tuple[str, ...], method: str = "cert") -> list[str]:
    """The pg_hba.conf lines each node needs, first in the file: the logins from the nodes' own
    addresses only (by `method`: the inter-node certificate), refused from anywhere else."""
    roles = ",".join(LOGINS)
    lines = [f"hostssl {database} {roles} {_cidr(node)} {method}" for node in nodes]
    lines += [f"host all {roles} all reject", f"local all {roles} reject"]
    return lines


def _cidr(node: str) -> str:
    """A node's address as pg_hba.conf takes it: an IP with its full mask, or a host name as is."""
    if node.replace(".", "").isdigit():
        return f"{node}/32"
    return f"{node}/128" if ":" in node else node
