"""Whether a connection's server runs Citus: the library's calls that a cluster cannot run as
one server does take other statements there (migration 057, decision 234).

Asked once per connection and kept in the connection's own attributes for its life, as the
seller scope keeps its holder (socialdb.app.tenant): a pool's reset, DISCARD ALL, cannot load
or unload an extension library. A single server's calls keep their statements and pay one
dict lookup each. Citus's settings exist where its library is loaded
(`shared_preload_libraries`), on a coordinator and on a worker alike, as migration 053 reads it;
its catalog table `pg_dist_partition` only where `CREATE EXTENSION citus` ran in the database.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import tuple_row

# Citus's library preloaded (its settings exist) and its extension in this database (its
# catalog exists): a server that preloads Citus for other databases is one server here.
QUERY = (
    "SELECT pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL"
    " AND pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL"
)
_KEY = "_socialdb_on_citus"


def known(conn: object) -> bool | None:
    """What `on_citus` found on `conn`, or None before it has asked."""
    found: bool | None = vars(conn).get(_KEY)
    return found


def on_citus(conn: psycopg.Connection[Any]) -> bool:
    """Whether `conn`'s server has Citus loaded; one query the first time per connection."""
    found = known(conn)
    if found is None:
        row = psycopg.Cursor(conn, row_factory=tuple_row).execute(QUERY).fetchone()  # whatever the connection's rows
        found = vars(conn)[_KEY] = bool(row is not None and row[0])
    return found


async def aon_citus(conn: psycopg.AsyncConnection[Any]) -> bool:
    """`on_citus` for an `AsyncConnection`."""
    found = known(conn)
    if found is None:
        row = await (await psycopg.AsyncCursor(conn, row_factory=tuple_row).execute(QUERY)).fetchone()
        found = vars(conn)[_KEY] = bool(row is not None and row[0])
    return found
