"""Throwaway databases migrated by the runner: what the migrations produce, to read or compare.

A scratch database is created on a server the caller names (the embedded one, or the
server of the database being checked), migrated with `socialdb.migrate.runner.up`, and
dropped when the block ends, whatever happened in it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from socialdb.db import create_database, drop_database, mask_url, scrub
from socialdb.errors import PrivilegeError, ScratchDatabaseError
from socialdb.migrate import runner
from socialdb.scripts.options import DEFAULT_HISTORY, HistoryTable

PREFIX = "socialdb_scratch"


@contextmanager
def database(server_url: str) -> Iterator[str]:
    """An empty database on the server of `server_url`, dropped afterwards; yields its URL."""
    name = f"{PREFIX}_{uuid.uuid4().hex[:12]}"
    try:
        url = create_database(server_url, name)
    except psycopg.Error as exc:
        reason = scrub((str(exc).strip().splitlines() or [type(exc).__name__])[0], server_url)
        raise ScratchDatabaseError(
            f"cannot create a scratch database on the server of {mask_url(server_url)}: {reason}"
        ) from None
    try:
        yield url
    finally:
        drop_database(server_url, name)


@contextmanager
def migrated(
    server_url: str, *, to: int | None = None, directory: Path | None = None, history: HistoryTable = DEFAULT_HISTORY
) -> Iterator[str]:
    """A scratch database with the migrations applied (up to version `to`, if given), its history
    in `history` as the database compared keeps it; that table's schema, which the runner does not
    create (its user did), is created first, so that it is no difference."""
    with database(server_url) as url:
        try:
            if history.schema is not None:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(history.schema)))
            runner.up(url, directory, to=to, history=history)
        except PrivilegeError as exc:  # the scratch's builder, not the database checked
            raise ScratchDatabaseError(
                f"cannot build the expected schema in a scratch database on {mask_url(server_url)}: {exc};"
                " give --scratch-url a server where a role that may do it creates the scratch"
            ) from None
        yield url
