"""Whether a connection's server runs Citus: the library's calls that a cluster cannot run as
one server does take other statements there (migration 060, decision 234).

Asked once per connection and remembered for its life (a pool's reset, DISCARD ALL, cannot
load or unload an extension library), so a single server's calls keep their statements and
pay one dictionary lookup each. Citus's settings exist where its library is loaded
(`shared_preload_libraries`), on a coordinator and on a worker alike, as migration 053 reads it.
"""

from __future__ import annotations

import weakref
from typing import Any

import psycopg

QUERY = "SELECT pg_catalog.current_setting('citus.shard_count', true) IS NOT NULL"

_known: weakref.WeakKeyDictionary[object, bool] = weakref.WeakKeyDictionary()


def on_citus(conn: psycopg.Connection[Any]) -> bool:
    """Whether `conn`'s server has Citus loaded; one query the first time per connection."""
    known = _known.get(conn)
    if known is None:
        row = conn.execute(QUERY).fetchone()
        known = _known[conn] = bool(row is not None and row[0])
    return known


async def aon_citus(conn: psycopg.AsyncConnection[Any]) -> bool:
    """`on_citus` for an `AsyncConnection`."""
    known = _known.get(conn)
    if known is None:
        row = await (await conn.execute(QUERY)).fetchone()
        known = _known[conn] = bool(row is not None and row[0])
    return known
