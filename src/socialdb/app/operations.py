"""Deprecated: the platform's first calls, kept for one release as thin wrappers.

Each warns (DeprecationWarning) with the name of its replacement on socialdb.app.session's
Session (socialdb.app.aio for async), which names the seller once and returns typed rows.
They behave as before: the seller passed three ways, tuples for rows. search_products,
mark_read, record_events and dashboard act for the seller of a
`with socialdb.app.tenant.seller(conn, user_id)` block and raise NoSellerError outside one.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from socialdb.app import statements as sql
from socialdb.app.calls import EVENT_ARRAYS, MESSAGE_ARRAYS, Result, all_connected, arrays, ingest_parameters
from socialdb.app.inputs import LIMITS, IncomingMessage
from socialdb.app.tenant import require_seller
from socialdb.db import AnyConn

Conn = AnyConn
# The names the benchmark and older callers import.
INGEST_STATEMENT = sql.INGEST
MARK_READ_STATEMENT = sql.MARK_READ
__all__ = ["INGEST_STATEMENT", "LIMITS", "MARK_READ_STATEMENT", "Event", "IncomingMessage", "ingest_parameters"]


@dataclass(frozen=True)
class Event:
    """Deprecated: socialdb.app.inputs.NewEvent, whose seller is the session's."""

    user_id: UUID
    client_account_id: UUID | None
    event_type: str
    event_category: str
    occurred_at: datetime
    value: Decimal | None = None
    entity_type: str | None = None
    entity_id: UUID | None = None


def _deprecated(name: str, replacement: str) -> None:
    warnings.warn(
        f"socialdb.app.operations.{name} is deprecated: use {replacement} (socialdb.app.session; async:"
        " socialdb.app.aio), docs/library.md",
        DeprecationWarning,
        stacklevel=3,
    )


def ingest_message(conn: Conn, seller: UUID, message: IncomingMessage) -> bool:
    _deprecated("ingest_message", "Session.ingest_message")
    row = conn.execute(sql.INGEST, ingest_parameters(seller, message)).fetchone()
    return bool(row and row[0])


def ingest_batch(conn: Conn, messages: Sequence[IncomingMessage]) -> int:
    _deprecated("ingest_batch", "Session.ingest_batch")
    columns = arrays(messages, MESSAGE_ARRAYS)
    all_connected(Result(conn.execute(sql.ACCOUNTS_NOT_CONNECTED, columns).fetchall(), 0))  # as the session's
    conn.execute(sql.INGEST_CONVERSATIONS, columns)
    return conn.execute(sql.INGEST_MESSAGES, columns).rowcount


def inbox_page(
    conn: Conn, seller: UUID, client_account_id: UUID, limit: int = 20, after: tuple[datetime, UUID] | None = None
) -> list[tuple[Any, ...]]:
    _deprecated("inbox_page", "Session.inbox_page")
    params = {"seller": seller, "account": client_account_id, "limit": limit, **_keyset(after)}
    return conn.execute(sql.INBOX, params).fetchall()


def message_page(
    conn: Conn, seller: UUID, conversation_id: UUID, limit: int = 50, after: tuple[datetime, UUID] | None = None
) -> list[tuple[Any, ...]]:
    _deprecated("message_page", "Session.message_page")
    params = {"seller": seller, "conversation": conversation_id, "limit": limit, **_keyset(after)}
    return conn.execute(sql.MESSAGES, params).fetchall()


def _keyset(after: tuple[datetime, UUID] | None) -> dict[str, Any]:
    return {"after_at": after[0] if after else None, "after_id": after[1] if after else None}


def mark_read(conn: Conn, conversation_id: UUID) -> int:
    _deprecated("mark_read", "Session.mark_read")
    require_seller(conn, "mark_read")
    return conn.execute(sql.MARK_READ, {"conversation": conversation_id}).rowcount


def search_products(conn: Conn, query: str, limit: int = 20) -> list[tuple[Any, ...]]:
    _deprecated("search_products", "Session.search_products")
    require_seller(conn, "search_products")
    return conn.execute(sql.SEARCH, {"query": query, "limit": limit}).fetchall()


def record_events(conn: Conn, events: Iterable[Event]) -> int:
    _deprecated("record_events", "Session.record_events")
    require_seller(conn, "record_events")
    batch = list(events)
    params = {"users": [e.user_id for e in batch], **arrays(batch, EVENT_ARRAYS)}
    return conn.execute(sql.EVENTS, params).rowcount


_DASHBOARD = """
SELECT date, event_category, event_count, total_value
FROM analytics_daily_rollup
WHERE user_id = %(user)s AND date BETWEEN %(first)s AND %(last)s
ORDER BY date, event_category
"""


def dashboard(conn: Conn, user_id: UUID, first: date, last: date) -> list[tuple[Any, ...]]:
    _deprecated("dashboard", "Session.dashboard")
    require_seller(conn, "dashboard")
    return conn.execute(_DASHBOARD, {"user": user_id, "first": first, "last": last}).fetchall()
