"""The seller a transaction acts for: row-level security reads it from `app.user_id`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from psycopg.pq import TransactionStatus

_SET = "SELECT set_config('app.user_id', %s, true)"
_CURRENT = "SELECT current_setting('app.user_id', true)"


@contextmanager
def seller(conn: psycopg.Connection[Any], user_id: UUID | str) -> Iterator[psycopg.Connection[Any]]:
    """Run the block in a transaction scoped to one seller, and for exactly that block.

    Under the application role, every table then shows and accepts only that seller's rows.
    Outside a transaction the block is one (SET LOCAL ends with it). Inside one it is a
    savepoint, where SET LOCAL would outlive the block: the seller set before it is put
    back when the block ends (a failed block's savepoint rollback undoes it by itself).
    """
    wanted = str(UUID(str(user_id)))
    nested = conn.info.transaction_status != TransactionStatus.IDLE
    with conn.transaction():
        previous = _current(conn) if nested else None
        conn.execute(_SET, (wanted,))
        yield conn
        if nested:
            conn.execute(_SET, (previous or "",))


def clear_seller(conn: psycopg.Connection[Any]) -> None:
    """Forget any seller set on the session; a pool's `reset` callback, so a connection
    handed to the next request never acts for the previous one's seller.

    `psycopg_pool.ConnectionPool(url, reset=clear_seller)`: the pool calls it on an idle
    connection (it has rolled back any open transaction first).
    """
    with conn.transaction():  # committed, autocommit or not: RESET is transactional
        conn.execute("RESET app.user_id")


def _current(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute(_CURRENT).fetchone()
    return None if row is None else row[0]
