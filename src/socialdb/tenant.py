"""The seller a transaction acts for: row-level security reads it from `app.user_id`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg


@contextmanager
def seller(conn: psycopg.Connection[Any], user_id: UUID | str) -> Iterator[psycopg.Connection[Any]]:
    """Run the block in a transaction scoped to one seller (SET LOCAL: it ends with the transaction).

    Under the application role, every table then shows and accepts only that seller's rows.
    """
    with conn.transaction():
        conn.execute("SELECT set_config('app.user_id', %s, true)", (str(UUID(str(user_id))),))
        yield conn
