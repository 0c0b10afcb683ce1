"""Each call of the platform's library as data: its statements, parameters and result shape.

Pure: nothing here reaches the database. The synchronous and the asynchronous session run the
same `Call`s (socialdb.app.session, socialdb.app.aio), so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar
from uuid import UUID, uuid4

from psycopg.pq import ExecStatus

from socialdb.app import statements as sql
from socialdb.app.inputs import IncomingMessage, NewEvent
from socialdb.app.refused import AccountNotConnectedError
from socialdb.app.rows import (
    Account,
    Cursor,
    DashboardDay,
    InboxRow,
    MessageRow,
    Notification,
    Page,
    Product,
    ProductHit,
    Route,
    Rows,
    SignIn,
    maker,
)
from socialdb.errors import AccountTakenError

if TYPE_CHECKING:  # the cipher is passed in: loading cryptography is the caller's choice
    from socialdb.app.tokens import TokenCipher

T = TypeVar("T")


class Scope(Enum):
    """How a call names its seller."""

    ARGUMENT = "argument"  # the statement takes it: one statement, no transaction of its own
    TRANSACTION = "transaction"  # row-level security reads it: a short transaction sets it
    NONE = "none"  # a lookup that finds the seller (routing, sign-in)


class Result(NamedTuple):
    """What the last statement of a call returned."""

    rows: Sequence[Sequence[Any]]
    rowcount: int


# NamedTuples, not frozen dataclasses: every call of the library builds one of each, and a
# tuple is built in one C call where a frozen dataclass sets each field through
# object.__setattr__ (decision 275: the hot paths' client CPU).
class Call(NamedTuple, Generic[T]):
    statements: tuple[tuple[str, Mapping[str, Any]], ...]
    shape: Callable[[Result], T]
    scope: Scope
    # Raised in place of a unique violation that a second try did not clear.
    taken: Callable[[], Exception] | None = None
    # Reads the first statement's rows before the next runs, and raises to refuse the call.
    guard: Callable[[Result], None] | None = None
    # Results in binary: cheaper to load for uuids and timestamps (the pages), dearer for
    # numeric, which psycopg builds from base-10000 digits (decision 276).
    binary: bool = False


def has_rows(cursor: Any) -> bool:
    """Whether the last statement returned rows; cheaper than `cursor.description`, which
    builds a column object per column on every call (measured: 48 us per inbox page here)."""
    result = cursor.pgresult
    return result is not None and result.status == ExecStatus.TUPLES_OK


def _one(statement: str, params: Mapping[str, Any], shape: Callable[[Result], T], scope: Scope) -> Call[T]:
    return Call(((statement, params),), shape, scope)


def _count(result: Result) -> int:
    return result.rowcount


def _first(result: Result) -> Any:
    return result.rows[0][0] if result.rows else None


# -- the seller as an argument --------------------------------------------------------------


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


def _stored(result: Result) -> bool:
    return bool(result.rows and result.rows[0][0])


def ingest_message(seller: UUID, message: IncomingMessage) -> Call[bool]:
    return Call(((sql.INGEST, ingest_parameters(seller, message)),), _stored, Scope.ARGUMENT)


def inbox_page(seller: UUID, account: UUID, limit: int, after: Cursor | None) -> Call[Page[InboxRow]]:
    params = {"seller": seller, "account": account, "limit": limit, "after_at": None, "after_id": None}
    if after is not None:
        params["after_at"], params["after_id"] = after.at, after.id
    return Call(((sql.INBOX, params),), lambda r: Page(r.rows, InboxRow, limit), Scope.ARGUMENT, binary=True)


def message_page(seller: UUID, conversation: UUID, limit: int, after: Cursor | None) -> Call[Page[MessageRow]]:
    params = {"seller": seller, "conversation": conversation, "limit": limit, "after_at": None, "after_id": None}
    if after is not None:
        params["after_at"], params["after_id"] = after.at, after.id
    return Call(((sql.MESSAGES, params),), lambda r: Page(r.rows, MessageRow, limit), Scope.ARGUMENT, binary=True)


# -- no seller: the lookups that find one -----------------------------------------------------


def route_account(platform: str, platform_account_id: str) -> Call[Route | None]:
    params = {"platform": platform, "platform_account_id": platform_account_id}
    return _one(sql.ROUTE, params, lambda r: maker(Route)(r.rows[0]) if r.rows else None, Scope.NONE)


def sign_in_lookup(email: str) -> Call[SignIn | None]:
    return _one(sql.SIGN_IN, {"email": email}, lambda r: maker(SignIn)(r.rows[0]) if r.rows else None, Scope.NONE)


# -- under the seller of a transaction ------------------------------------------------------

# A batch travels as one array per column: parameter name -> the attribute it collects.
MESSAGE_ARRAYS = {
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
EVENT_ARRAYS = {
    "accounts": "client_account_id",
    "types": "event_type",
    "categories": "event_category",
    "times": "occurred_at",
    "values": "value",
    "entity_types": "entity_type",
    "entity_ids": "entity_id",
}


def arrays(items: Sequence[Any], fields: Mapping[str, str]) -> dict[str, list[Any]]:
    return {name: [getattr(item, attribute) for item in items] for name, attribute in fields.items()}


def ingest_batch(messages: Sequence[IncomingMessage]) -> Call[int]:
    columns = arrays(messages, MESSAGE_ARRAYS)
    steps = ((sql.ACCOUNTS_NOT_CONNECTED, columns), (sql.INGEST_CONVERSATIONS, columns), (sql.INGEST_MESSAGES, columns))
    return Call(steps, _count, Scope.TRANSACTION, guard=all_connected)


def all_connected(result: Result) -> None:
    """Refuse a batch naming an account that is not a connected account of the seller, before
    anything is written: without it, another seller's account told apart a conversation that
    exists there (its insert met the key and wrote nothing) from one that does not (its insert
    failed the account's foreign key), as `seller_ingest_message` refuses one message (044).
    The check is a statement of its own, as the function's: a disconnect that commits between
    it and the inserts is ordered after the batch (it locks nothing, so it never waits)."""
    if result.rows:
        accounts = ", ".join(str(row[0]) for row in result.rows)
        raise AccountNotConnectedError(
            f"account(s) {accounts} not connected accounts of the seller: route the webhook again"
            " (route_account); nothing of the batch was stored"
        )


def mark_read(seller: UUID, conversation: UUID) -> Call[int]:
    """One statement, on one server and on Citus alike (seller_mark_read, 057 and 062)."""
    return Call(((sql.MARK_READ_CALL, {"seller": seller, "conversation": conversation}),), _changed, Scope.ARGUMENT)


def _changed(result: Result) -> int:
    return int(result.rows[0][0])


def citus_ingest_batch(seller: UUID, messages: Sequence[IncomingMessage]) -> Call[int]:
    """ingest_batch on Citus: one delegated function, which writes nothing when an account is
    not the seller's and then names the first ten of them (refused here, as all_connected does)."""
    params = {"seller": seller, **arrays(messages, MESSAGE_ARRAYS)}
    return _one(sql.CITUS_INGEST_BATCH, params, _stored_unless_refused, Scope.ARGUMENT)


def _stored_unless_refused(result: Result) -> int:
    stored, not_connected = result.rows[0]
    if not_connected:
        all_connected(Result([(account,) for account in not_connected], len(not_connected)))
    return int(stored)


def search_products(seller: UUID, query: str, limit: int) -> Call[Rows[ProductHit]]:
    """One statement, on one server and on Citus alike (seller_search_products, 057; decision 277)."""
    params = {"seller": seller, "query": query, "limit": limit}
    return _one(sql.SEARCH_CALL, params, lambda r: Rows(r.rows, ProductHit), Scope.ARGUMENT)


def dashboard(seller: UUID, first: date, last: date) -> Call[Rows[DashboardDay]]:
    params = {"seller": seller, "first": first, "last": last}
    return _one(sql.DASHBOARD, params, lambda r: Rows(r.rows, DashboardDay), Scope.TRANSACTION)


def record_events(seller: UUID, events: Iterable[NewEvent]) -> Call[int]:
    batch = list(events)
    params = {"users": [seller] * len(batch), **arrays(batch, EVENT_ARRAYS)}
    return _one(sql.EVENTS, params, _count, Scope.TRANSACTION)


def citus_record_events(seller: UUID, events: Iterable[NewEvent]) -> Call[int]:
    params = {"seller": seller, **arrays(list(events), EVENT_ARRAYS)}
    return _one(sql.CITUS_EVENTS, params, lambda r: int(_first(r)), Scope.ARGUMENT)


def connect_account(platform: str, platform_account_id: str, username: str) -> Call[Account]:
    params = {"platform": platform, "platform_account_id": platform_account_id, "username": username}

    def taken() -> Exception:
        return AccountTakenError(f"{platform} account {platform_account_id!r} is connected by another seller")

    shape: Callable[[Result], Account] = lambda r: maker(Account)(r.rows[0])  # noqa: E731
    return Call(((sql.CONNECT_ACCOUNT, params),), shape, Scope.TRANSACTION, taken)


def citus_connect_account(platform: str, platform_account_id: str, username: str) -> Call[Account]:
    """connect_account on Citus: one SECURITY DEFINER function claims the account's lookup row
    and writes the account (migration 059); the same row, the same AccountTakenError."""
    call = connect_account(platform, platform_account_id, username)
    return Call(((sql.CITUS_CONNECT_ACCOUNT, call.statements[0][1]),), call.shape, call.scope, call.taken)


def disconnect_account(account: UUID) -> Call[bool]:
    return _one(sql.DISCONNECT_ACCOUNT, {"account": account}, lambda r: bool(r.rows[0][0]), Scope.TRANSACTION)


def citus_disconnect_account(account: UUID) -> Call[bool]:
    """disconnect_account on Citus: the lookup row goes in the same function (migration 059)."""
    return _one(sql.CITUS_DISCONNECT_ACCOUNT, {"account": account}, lambda r: bool(r.rows[0][0]), Scope.TRANSACTION)


def sign_up(user: UUID, email: str, password_hash: str, name: str, *, citus: bool) -> Call[UUID]:
    """A new user's row under its own id as the seller; on Citus through sign_up_user (059)."""
    params = {"id": user, "email": email, "password_hash": password_hash, "name": name}
    return _one(sql.CITUS_SIGN_UP if citus else sql.SIGN_UP, params, _first, Scope.TRANSACTION)


def store_token(
    account: UUID, cipher: TokenCipher, token: str, expires_at: datetime, scopes: Sequence[str], token_type: str
) -> Call[UUID | None]:
    """The account's new live token, encrypted and bound to its row; None if no live account of the seller's."""
    token_id = uuid4()
    params = {
        "id": token_id,
        "account": account,
        "access_token": cipher.encrypt(token, account, token_id),
        "token_type": token_type,
        "expires_at": expires_at,
        "scopes": list(scopes),
    }
    statements = ((sql.REVOKE_TOKEN, {"account": account}), (sql.STORE_TOKEN, params))
    return Call(statements, lambda r: token_id if r.rowcount == 1 else None, Scope.TRANSACTION)


def read_token(account: UUID, cipher: TokenCipher) -> Call[str | None]:
    def shape(result: Result) -> str | None:
        if not result.rows:
            return None
        token_id, stored, _expires = result.rows[0]
        return cipher.decrypt(stored, account, token_id)

    return _one(sql.LIVE_TOKEN, {"account": account}, shape, Scope.TRANSACTION)


def _product(result: Result) -> Product | None:
    return maker(Product)(result.rows[0]) if result.rows else None


def create_product(fields: Mapping[str, Any]) -> Call[Product]:
    defaults = {"description": None, "price": None, "currency": "BRL", "stock_quantity": None, "sku": None}
    params = {**defaults, "category": None, **fields}
    return _one(sql.CREATE_PRODUCT, params, lambda r: maker(Product)(r.rows[0]), Scope.TRANSACTION)


PRODUCT_CHANGES = ("name", "description", "price", "stock_quantity", "is_available")


def update_product(product: UUID, changes: Mapping[str, Any]) -> Call[Product | None]:
    unknown = set(changes) - set(PRODUCT_CHANGES)
    if unknown:
        raise TypeError(f"update_product: no such field {sorted(unknown)[0]!r} (fields: {', '.join(PRODUCT_CHANGES)})")
    params: dict[str, Any] = {"product": product}
    for name in PRODUCT_CHANGES:
        params[name], params[f"set_{name}"] = changes.get(name), name in changes
    return _one(sql.UPDATE_PRODUCT, params, _product, Scope.TRANSACTION)


def archive_product(product: UUID) -> Call[bool]:
    return _one(sql.ARCHIVE_PRODUCT, {"product": product}, lambda r: bool(r.rows[0][0]), Scope.TRANSACTION)


def create_link(product: UUID, account: UUID, short_link: str, media: str | None) -> Call[UUID]:
    params = {"product": product, "account": account, "short_link": short_link, "media": media}
    return _one(sql.CREATE_LINK, params, _first, Scope.TRANSACTION)


def citus_create_link(product: UUID, account: UUID, short_link: str, media: str | None) -> Call[UUID]:
    """create_link on Citus: the short link's lookup row claimed, then the link, in one function (059)."""
    params = {"product": product, "account": account, "short_link": short_link, "media": media}
    return _one(sql.CITUS_CREATE_LINK, params, _first, Scope.TRANSACTION)


def archive_link(link: UUID) -> Call[bool]:
    return _one(sql.ARCHIVE_LINK, {"link": link}, lambda r: r.rowcount == 1, Scope.TRANSACTION)


MEDIA_FIELDS = ("url", "permalink", "caption", "likes", "comments", "posted_at")


def cache_media(account: UUID, media: str, kind: str, fields: Mapping[str, Any]) -> Call[UUID]:
    unknown = set(fields) - set(MEDIA_FIELDS)
    if unknown:
        raise TypeError(f"cache_media: no such field {sorted(unknown)[0]!r} (fields: {', '.join(MEDIA_FIELDS)})")
    params = {
        "account": account,
        "media": media,
        "type": kind,
        "likes": 0,
        "comments": 0,
        **dict.fromkeys(MEDIA_FIELDS[:3]),
        "posted_at": None,
        **fields,
    }
    return _one(sql.CACHE_MEDIA, params, _first, Scope.TRANSACTION)


def attach_products(message: UUID, products: Iterable[UUID]) -> Call[int]:
    params = {"message": message, "products": sorted(set(products))}
    return _one(sql.ATTACH_PRODUCTS, params, _count, Scope.TRANSACTION)


def notify(kind: str, title: str, message: str, url: str | None) -> Call[UUID]:
    params = {"type": kind, "title": title, "message": message, "url": url}
    return _one(sql.NOTIFY, params, _first, Scope.TRANSACTION)


def notifications(unread_only: bool, limit: int) -> Call[Rows[Notification]]:
    params = {"unread_only": unread_only, "limit": limit}
    return _one(sql.NOTIFICATIONS, params, lambda r: Rows(r.rows, Notification), Scope.TRANSACTION)


def read_notifications(ids: Iterable[UUID]) -> Call[int]:
    return _one(sql.READ_NOTIFICATIONS, {"ids": list(ids)}, _count, Scope.TRANSACTION)
