"""The platform's hot paths: plain functions over psycopg, bound parameters only.

Under the application role, row-level security confines every call to one seller's rows,
and `user_id` columns default to that seller. The three hottest calls (ingest_message,
inbox_page, message_page) take the seller as an argument and are one statement each
(migration 025): run them in autocommit or inside a transaction, whose seller they leave
as it was. ingest_message must be its transaction's only write of messages (a payload of
several messages is one ingest_batch), or it can deadlock with a concurrent delivery of the
same message (migration 038, decision 105). search_products, mark_read, record_events and
dashboard act for the seller of a `with socialdb.app.tenant.seller(conn, user_id)` block of
this thread or task, and raise NoSellerError outside one rather than answer empty; the
caller commits. docs/performance.md measures
each of them.

Read replicas: inbox_page, message_page, search_products and dashboard only read, and run on
a hot standby as on the primary; ingest_message, ingest_batch, mark_read and record_events
write and need the primary. Choose the server with libpq's multi-host URL, not here:
`postgresql://user@db1,db2/socialdb?target_session_attrs=prefer-standby` for reads,
`...=read-write` for writes (docs/scaling.md; tests/test_replica.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from socialdb.app.tenant import require_seller
from socialdb.db import AnyConn
from socialdb.errors import FieldLimitError

Conn = AnyConn


# What a platform may send, in characters: the bounds the schema's CHECKs hold (001-011,
# 041; decision 113), checked here first so that a call fails with one clear line and no
# round trip. The database refuses the same whatever the caller.
LIMITS = {
    "platform_conversation_id": 255,
    "participant_platform_id": 255,
    "platform_message_id": 255,
    "participant_username": 255,
    "content": 8192,  # WhatsApp's 4,096-character text limit, twice
}
_OPTIONAL = {"participant_username", "content"}  # may be None (or empty); the ids may not


@dataclass(frozen=True)
class IncomingMessage:
    """One message as a webhook delivers it; refused (FieldLimitError) over a platform's bound."""

    client_account_id: UUID
    platform_conversation_id: str
    participant_platform_id: str
    platform_message_id: str
    sender_type: str  # "customer" or "user"
    sent_at: datetime
    content: str | None = None
    message_type: str = "text"
    participant_username: str | None = None

    def __post_init__(self) -> None:
        for field_name, limit in LIMITS.items():
            value = getattr(self, field_name)
            if value is None and field_name in _OPTIONAL:
                continue
            if not isinstance(value, str) or not (field_name in _OPTIONAL or value) or len(value) > limit:
                shown = f"{len(value)} characters" if isinstance(value, str) else f"a {type(value).__name__}"
                bound = f"at most {limit}" if field_name in _OPTIONAL else f"from 1 to {limit}"
                raise FieldLimitError(
                    f"message {str(self.platform_message_id)[:64]!r}: {field_name} has {shown},"
                    f" {bound} (docs/security.md, platform bounds)"
                )


@dataclass(frozen=True)
class Event:
    user_id: UUID
    client_account_id: UUID | None
    event_type: str
    event_category: str
    occurred_at: datetime
    value: Decimal | None = None
    entity_type: str | None = None
    entity_id: UUID | None = None


# The three hottest calls are functions taking the seller (migration 025): one round trip
# each, with no seller transaction around them. Public with `ingest_parameters`: the
# benchmark sends the very statement and parameters the platform does.
INGEST_STATEMENT = """
SELECT seller_ingest_message(%(seller)s, %(account)s, %(conversation)s, %(participant)s, %(username)s,
                             %(message)s, %(sender)s, %(type)s, %(content)s, %(sent_at)s)
"""
_INBOX = "SELECT * FROM seller_inbox_page(%(seller)s, %(account)s, %(limit)s, %(after_at)s, %(after_id)s)"
_MESSAGES = "SELECT * FROM seller_message_page(%(seller)s, %(conversation)s, %(limit)s, %(after_at)s, %(after_id)s)"

_INGEST_CONVERSATIONS = """
INSERT INTO conversations (client_account_id, platform_conversation_id, participant_platform_id, participant_username)
SELECT DISTINCT ON (account, conversation) account, conversation, participant, username
FROM unnest(%(accounts)s::uuid[], %(conversations)s::text[], %(participants)s::text[], %(usernames)s::text[])
  AS i (account, conversation, participant, username)
ORDER BY account, conversation
ON CONFLICT (client_account_id, platform_conversation_id) DO NOTHING
"""

# In message id order: two batches sharing ids wait for each other's in one order, not both.
# No conflict target: the key is the seller's conversation's since 044 (decision 117), and the
# statement runs unchanged on a database before it (the only unique rule a new row can break).
_INGEST_MESSAGES = """
INSERT INTO messages (conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
SELECT c.id, i.message, i.sender, i.type, i.content, i.sent_at
FROM unnest(%(accounts)s::uuid[], %(conversations)s::text[], %(messages)s::text[], %(senders)s::text[],
            %(types)s::text[], %(contents)s::text[], %(sent_ats)s::timestamptz[])
  AS i (account, conversation, message, sender, type, content, sent_at)
JOIN conversations AS c ON c.client_account_id = i.account AND c.platform_conversation_id = i.conversation
ORDER BY i.message
ON CONFLICT DO NOTHING
"""

# Only the customer's unread messages count; the trigger brings unread_count back to 0.
MARK_READ_STATEMENT = """
UPDATE messages SET is_read = true, read_at = now()
WHERE conversation_id = %(conversation)s AND sender_type = 'customer' AND NOT is_read
"""

# A SECURITY DEFINER function (migration 020): under RLS, `@@` could not use the index.
_SEARCH = "SELECT id, name, price, rank FROM search_seller_products(%(query)s, %(limit)s)"

# The rollup holds the summary's rows summed per seller, day and category (migration 023):
# at most 4 rows a day, where the summary has one per account and event type.
_DASHBOARD = """
SELECT date, event_category, event_count, total_value
FROM analytics_daily_rollup
WHERE user_id = %(user)s AND date BETWEEN %(first)s AND %(last)s
ORDER BY date, event_category
"""


def ingest_message(conn: Conn, seller: UUID, message: IncomingMessage) -> bool:
    """Store one webhook message of `seller`'s; False when it is a redelivery already stored."""
    row = conn.execute(INGEST_STATEMENT, ingest_parameters(seller, message)).fetchone()
    return bool(row and row[0])


def ingest_parameters(seller: UUID | None, message: IncomingMessage) -> dict[str, Any]:
    """One message as the ingest statement's parameters (the benchmark's spec statement uses them too)."""
    return {
        "seller": seller,
        "account": message.client_account_id,
        "conversation": message.platform_conversation_id,
        "participant": message.participant_platform_id,
        "username": message.participant_username,
        "message": message.platform_message_id,
        "sender": message.sender_type,
        "type": message.message_type,
        "content": message.content,
        "sent_at": message.sent_at,
    }


# A batch travels as one array per column: parameter name -> the attribute it collects.
_MESSAGE_ARRAYS = {
    "accounts": "client_account_id",
    "conversations": "platform_conversation_id",
    "participants": "participant_platform_id",
    "usernames": "participant_username",
    "messages": "platform_message_id",
    "senders": "sender_type",
    "types": "message_type",
    "contents": "content",
    "sent_ats": "sent_at",
}
_EVENT_ARRAYS = {
    "users": "user_id",
    "accounts": "client_account_id",
    "types": "event_type",
    "categories": "event_category",
    "times": "occurred_at",
    "values": "value",
    "entity_types": "entity_type",
    "entity_ids": "entity_id",
}


def _arrays(items: Sequence[Any], fields: dict[str, str]) -> dict[str, list[Any]]:
    return {name: [getattr(item, attribute) for item in items] for name, attribute in fields.items()}


def ingest_batch(conn: Conn, messages: Sequence[IncomingMessage]) -> int:
    """Store many messages (backfills) with the same semantics; returns how many were new.
    Outside a seller scope row-level security refuses the conversations' insert: not quiet."""
    columns = _arrays(messages, _MESSAGE_ARRAYS)
    conn.execute(_INGEST_CONVERSATIONS, columns)
    return conn.execute(_INGEST_MESSAGES, columns).rowcount


def inbox_page(
    conn: Conn, seller: UUID, client_account_id: UUID, limit: int = 20, after: tuple[datetime, UUID] | None = None
) -> list[tuple[Any, ...]]:
    """Open conversations of an account, most recent first; pass the last row's (last_message_at, id) as `after`."""
    params = {"seller": seller, "account": client_account_id, "limit": limit, **_keyset(after)}
    return conn.execute(_INBOX, params).fetchall()


def message_page(
    conn: Conn, seller: UUID, conversation_id: UUID, limit: int = 50, after: tuple[datetime, UUID] | None = None
) -> list[tuple[Any, ...]]:
    """Messages of a conversation, newest first; pass the last row's (sent_at, id) as `after`."""
    params = {"seller": seller, "conversation": conversation_id, "limit": limit, **_keyset(after)}
    return conn.execute(_MESSAGES, params).fetchall()


def _keyset(after: tuple[datetime, UUID] | None) -> dict[str, Any]:
    """The page functions' cursor arguments: both null for the first page."""
    return {"after_at": after[0] if after else None, "after_id": after[1] if after else None}


def mark_read(conn: Conn, conversation_id: UUID) -> int:
    """Mark a conversation's unread customer messages read; returns how many changed."""
    require_seller(conn, "mark_read")
    return conn.execute(MARK_READ_STATEMENT, {"conversation": conversation_id}).rowcount


def search_products(conn: Conn, query: str, limit: int = 20) -> list[tuple[Any, ...]]:
    """The current seller's products matching `query` (web-search syntax), best first, accents ignored."""
    require_seller(conn, "search_products")
    return conn.execute(_SEARCH, {"query": query, "limit": limit}).fetchall()


# COPY FROM is refused on a table with row-level security, and the application may not
# create a temporary table to copy into (migration 027): a batch travels as one array per
# column and lands with one INSERT, which the policies check.
_EVENTS_INSERT = """
INSERT INTO analytics_events (user_id, client_account_id, event_type, event_category, occurred_at, value,
                              entity_type, entity_id)
SELECT * FROM unnest(%(users)b::uuid[], %(accounts)b::uuid[], %(types)b::text[], %(categories)b::text[],
                     %(times)b::timestamptz[], %(values)b::numeric[], %(entity_types)b::text[], %(entity_ids)b::uuid[])
"""


def record_events(conn: Conn, events: Iterable[Event]) -> int:
    """Append analytics events in one batch (one statement); returns how many."""
    require_seller(conn, "record_events")
    return conn.execute(_EVENTS_INSERT, _arrays(list(events), _EVENT_ARRAYS)).rowcount


def dashboard(conn: Conn, user_id: UUID, first: date, last: date) -> list[tuple[Any, ...]]:
    """A seller's events per day and category between two dates (inclusive), from the daily
    summary's per-seller rollup."""
    require_seller(conn, "dashboard")
    return conn.execute(_DASHBOARD, {"user": user_id, "first": first, "last": last}).fetchall()
