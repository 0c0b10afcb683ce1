"""The platform's library, synchronous: one seller's calls on a pooled connection.

    pool = open_pool(url)                                  # reset=clear_seller, so nothing leaks
    with session(pool, seller_id) as s:
        page = s.inbox_page(account_id)
        more = s.inbox_page(account_id, after=page.next)

The seller is named once, when the session opens; every call acts for that seller and no
other. The three hottest calls take the seller as an argument and are one statement each
(no transaction); every other call is one statement, or a few, in a short transaction of its
own that sets the seller for row-level security (inside an `atomic()` block, a savepoint of
it). A session holds its connection for the block: another thread or task cannot open a
seller scope on it meanwhile (SellerScopeError). Two calls need no seller, since they find
it: `route_account` (webhooks) and `sign_in_lookup`. socialdb.app.aio is the same surface,
async. docs/library.md shows it in a web service.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

from socialdb.app import calls
from socialdb.app.calls import Call, Result, Scope
from socialdb.app.calls import has_rows as _has_rows
from socialdb.app.cluster import known, on_citus
from socialdb.app.inputs import IncomingMessage, NewEvent
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
)
from socialdb.app.tenant import (
    CURSOR,
    NOT_HOLDER,
    _Holder,
    _who,
    claim,
    clear_seller,
    holds,
    refuse_pipeline,
    release,
    scope,
    seller_id,
)
from socialdb.errors import SellerScopeError

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from socialdb.app.tokens import TokenCipher

T = TypeVar("T")


def open_pool(url: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any) -> ConnectionPool[Any]:
    """A psycopg_pool.ConnectionPool (the `socialdb[pool]` extra) whose reset leaves nothing of a request."""
    from psycopg_pool import ConnectionPool

    return ConnectionPool(url, min_size=min_size, max_size=max_size, reset=clear_seller, open=True, **kwargs)


class session:
    """A session acting for `seller` on a connection of `source` (a pool, or a connection) for
    the block. A class, not a generator: a request opens one per call it makes.

    Autocommit, so that a one-statement call is one round trip; a connection already in a
    transaction keeps it (the calls then join it), and the caller's mode comes back."""

    __slots__ = ("attributes", "borrowed", "bound", "conn", "holder", "seller", "source", "switch")

    def __init__(self, source: ConnectionPool[Any] | psycopg.Connection[Any], seller: UUID | str) -> None:
        self.source, self.seller = source, seller_id(seller)
        self.borrowed: Any = None
        self.holder: _Holder | None = None
        self.bound: Session | None = None
        self.switch = False

    def __enter__(self) -> Session:
        source = self.source
        if isinstance(source, psycopg.Connection):
            conn = self.conn = source
        else:
            self.borrowed = source.connection()
            conn = self.conn = self.borrowed.__enter__()
        self.holder = self.bound = None  # a block entered again starts afresh (found by review)
        self.switch = False
        try:
            refuse_pipeline(conn)
            # The setter waits on the connection: only when it changes anything.
            self.switch = not conn.autocommit and conn.pgconn.transaction_status == TransactionStatus.IDLE
            if self.switch:
                conn.autocommit = True
            self.attributes = vars(conn)
            self.holder = claim(self.attributes)
            cursor = _cursor(self.attributes, conn)
        except BaseException:
            self.__exit__(*sys.exc_info())  # refused: give back what was taken
            raise
        self.bound = Session(conn, self.seller, self.holder, cursor)
        return self.bound

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: Any) -> None:
        try:
            if self.bound is not None:
                self.bound.open = False
                del self.bound.cursor  # a session kept past its block keeps no rows of the connection's
            if self.holder is not None:
                release(self.attributes, self.holder)
            if self.switch and self.conn.pgconn.transaction_status == TransactionStatus.IDLE:
                self.conn.autocommit = False
        finally:
            if self.borrowed is not None:
                self.borrowed.__exit__(kind, error, trace)


# The cursor a connection's sessions run their calls on, kept in the connection's attributes
# until the pool's reset closes it (clear_seller): a cursor made per call costs more client CPU
# than the call's own Python, since a new cursor builds its adapters and loaders again for every
# result. Tuples whatever the connection's row factory, since the calls build their own rows;
# the pages ask for binary results (`Call.binary`). Only a session's holder uses it (claim,
# socialdb.app.tenant), so no two threads or tasks share it; lookups, which hold nothing, take
# a cursor of their own (decision 276).


def _cursor(attributes: dict[str, Any], conn: psycopg.Connection[Any]) -> psycopg.Cursor[Any]:
    cur: psycopg.Cursor[Any] | None = attributes.get(CURSOR)
    if cur is None or cur.closed:
        cur = attributes[CURSOR] = psycopg.Cursor(conn, row_factory=tuple_row)
    return cur


def route_account(source: ConnectionPool[Any] | psycopg.Connection[Any], platform: str, account: str) -> Route | None:
    """Whose webhook this is: the live connection of (platform, platform account id), or None."""
    return _lookup(source, calls.route_account(platform, account))


def sign_in_lookup(source: ConnectionPool[Any] | psycopg.Connection[Any], email: str) -> SignIn | None:
    """A live user by email, whatever its case, for sign-in (check the password hash yourself)."""
    return _lookup(source, calls.sign_in_lookup(email))


def _lookup(source: ConnectionPool[Any] | psycopg.Connection[Any], call: Call[T]) -> T:
    if isinstance(source, psycopg.Connection):
        if source.autocommit or source.pgconn.transaction_status != TransactionStatus.IDLE:
            return _execute(_fresh(source), call)  # alone, or in the caller's transaction
        with source.transaction():  # never leave a transaction open behind a lookup
            return _execute(_fresh(source), call)
    with source.connection() as conn:
        return _execute(_fresh(conn), call)


def _fresh(conn: psycopg.Connection[Any]) -> psycopg.Cursor[Any]:
    refuse_pipeline(conn)
    return psycopg.Cursor(conn, row_factory=tuple_row)


def _execute(cur: psycopg.Cursor[Any], call: Call[T]) -> T:
    for index, (statement, params) in enumerate(call.statements):
        cur.execute(statement, params, binary=call.binary)
        if index == 0 and call.guard is not None:
            call.guard(Result(cur.fetchall(), cur.rowcount))
    rows = cur.fetchall() if _has_rows(cur) else []
    return call.shape(Result(rows, cur.rowcount))


class Session:
    """One seller's calls on one connection: get it from `session(...)`."""

    __slots__ = ("conn", "cursor", "holder", "open", "seller")

    def __init__(
        self, conn: psycopg.Connection[Any], seller: UUID, holder: _Holder, cursor: psycopg.Cursor[Any]
    ) -> None:
        self.conn, self.seller, self.cursor = conn, seller, cursor
        self.holder = holder  # the scope its `session` block holds on the connection
        self.open = True  # until its `session` block ends

    def _usable(self) -> None:
        if not self.open:
            raise SellerScopeError("this session has ended: open a new one (its connection may serve another request)")
        if not holds(self.holder):  # the block's own scope: this thread or task must be its holder
            raise SellerScopeError(NOT_HOLDER)

    def _citus(self) -> bool:
        """Whether the server runs Citus, where a few calls take other statements (decision 234)."""
        citus = known(self.conn)
        if citus is None:  # asked once per connection, and only by the session that holds it
            self._usable()
            citus = on_citus(self.conn)
        return citus

    def _run(self, call: Call[T]) -> T:
        if not (self.open and self.holder.who == _who()):  # `_usable`, inline: it raises
            self._usable()
        conn = self.conn
        if call.scope is Scope.ARGUMENT and call.taken is None:  # the hot calls: one statement
            if conn.pgconn.transaction_status == TransactionStatus.IDLE:
                return _execute(self.cursor, call)
            with conn.transaction():  # a savepoint: a failed call leaves the caller's transaction usable
                return _execute(self.cursor, call)
        if call.scope is Scope.TRANSACTION and known(conn) is None:
            self._citus()  # once per connection: one server's scope then sets its seller by set_config()
        for attempt in (1, 2):
            try:
                if call.scope is Scope.TRANSACTION:
                    with scope(conn, self.seller, self.cursor):
                        return _execute(self.cursor, call)
                if conn.pgconn.transaction_status == TransactionStatus.IDLE:
                    return _execute(self.cursor, call)
                with conn.transaction():
                    return _execute(self.cursor, call)
            except psycopg.errors.UniqueViolation:
                # Two connects of one new account race: the second try finds the first's row.
                if call.taken is None:
                    raise
                if attempt == 2:
                    raise call.taken() from None
        raise AssertionError("unreachable")

    @contextmanager
    def atomic(self) -> Iterator[Session]:
        """Run the block's calls in one transaction for the seller (each call a savepoint of it)."""
        self._usable()
        with scope(self.conn, self.seller, self.cursor):
            yield self

    # -- messages and conversations --

    def ingest_message(self, message: IncomingMessage) -> bool:
        """Store one webhook message; False when it is a redelivery already stored. Call it alone
        or as its transaction's only write of messages (decision 105); many at once: ingest_batch."""
        return self._run(calls.ingest_message(self.seller, message))

    def ingest_batch(self, messages: Sequence[IncomingMessage]) -> int:
        """Store many messages (backfills) with the same semantics; returns how many were new."""
        if self._citus():
            return self._run(calls.citus_ingest_batch(self.seller, messages))
        return self._run(calls.ingest_batch(messages))

    def inbox_page(self, account_id: UUID, limit: int = 20, after: Cursor | None = None) -> Page[InboxRow]:
        """Open conversations of an account, most recent first; `after=page.next` for the next page."""
        return self._run(calls.inbox_page(self.seller, account_id, limit, after))

    def message_page(self, conversation_id: UUID, limit: int = 50, after: Cursor | None = None) -> Page[MessageRow]:
        """Messages of a conversation, newest first; `after=page.next` for the next page."""
        return self._run(calls.message_page(self.seller, conversation_id, limit, after))

    def mark_read(self, conversation_id: UUID) -> int:
        """Mark a conversation's unread customer messages read; returns how many changed."""
        return self._run(calls.mark_read(self.seller, conversation_id))

    # -- products --

    def search_products(self, query: str, limit: int = 20) -> Rows[ProductHit]:
        """Products matching `query` (web-search syntax), best first, accents ignored."""
        return self._run(calls.search_products(self.seller, query, limit))

    def create_product(self, name: str, **fields: Any) -> Product:
        """A new product; fields: description, price, currency, stock_quantity, sku, category."""
        return self._run(calls.create_product({"name": name, **fields}))

    def update_product(self, product_id: UUID, **changes: Any) -> Product | None:
        """Change the named fields (name, description, price, stock_quantity, is_available); None if
        no live product of the seller's has that id."""
        return self._run(calls.update_product(product_id, changes))

    def archive_product(self, product_id: UUID) -> bool:
        """Archive a product (kept for the messages that showed it) and stop its links."""
        return self._run(calls.archive_product(product_id))

    def create_link(self, product_id: UUID, account_id: UUID, short_link: str, media_id: str | None = None) -> UUID:
        if self._citus():  # the short link's lookup row and the link in one function (059)
            return self._run(calls.citus_create_link(product_id, account_id, short_link, media_id))
        return self._run(calls.create_link(product_id, account_id, short_link, media_id))

    def archive_link(self, link_id: UUID) -> bool:
        """Stop a product link (it stays, with its clicks and revenue)."""
        return self._run(calls.archive_link(link_id))

    def cache_media(self, account_id: UUID, platform_media_id: str, media_type: str, **fields: Any) -> UUID:
        """Cache a post of the account (the latest sync wins); fields: url, permalink, caption,
        likes, comments, posted_at."""
        return self._run(calls.cache_media(account_id, platform_media_id, media_type, fields))

    def attach_products(self, message_id: UUID, product_ids: Iterable[UUID]) -> int:
        """Products shown in a message; returns how many were newly attached."""
        return self._run(calls.attach_products(message_id, product_ids))

    # -- accounts and their tokens --

    def connect_account(self, platform: str, platform_account_id: str, username: str) -> Account:
        """Connect an account (again: the same row comes back). AccountTakenError if another seller has it."""
        if self._citus():  # the account's lookup row and the account in one function (059)
            return self._run(calls.citus_connect_account(platform, platform_account_id, username))
        return self._run(calls.connect_account(platform, platform_account_id, username))

    def disconnect_account(self, account_id: UUID) -> bool:
        """Disconnect an account and revoke its token; webhooks no longer route to it."""
        if self._citus():
            return self._run(calls.citus_disconnect_account(account_id))
        return self._run(calls.disconnect_account(account_id))

    # -- the seller itself --

    def sign_up(self, email: str, password_hash: str, name: str) -> UUID:
        """The session's seller signs up: its users row, with this id. A live user with the same
        email, in any case, is refused (23505 on user_emails_pkey). On Citus through
        sign_up_user(), which writes the email's lookup row too (a plain INSERT is refused there)."""
        return self._run(calls.sign_up(self.seller, email, password_hash, name, citus=self._citus()))

    def store_token(
        self,
        account_id: UUID,
        cipher: TokenCipher,
        token: str,
        expires_at: datetime,
        scopes: Sequence[str],
        token_type: str = "Bearer",
    ) -> UUID | None:
        """Store (or refresh) an account's access token, encrypted; None if the account is not live."""
        return self._run(calls.store_token(account_id, cipher, token, expires_at, scopes, token_type))

    def read_token(self, account_id: UUID, cipher: TokenCipher) -> str | None:
        """The account's live access token, decrypted; None if it has none."""
        return self._run(calls.read_token(account_id, cipher))

    # -- analytics and notifications --

    def record_events(self, events: Iterable[NewEvent]) -> int:
        """Append analytics events in one statement; returns how many."""
        if self._citus():
            return self._run(calls.citus_record_events(self.seller, events))
        return self._run(calls.record_events(self.seller, events))

    def dashboard(self, first: date, last: date) -> Rows[DashboardDay]:
        """Events per day (UTC) and category between two dates, inclusive."""
        return self._run(calls.dashboard(self.seller, first, last))

    def notify(self, kind: str, title: str, message: str, action_url: str | None = None) -> UUID:
        return self._run(calls.notify(kind, title, message, action_url))

    def notifications(self, unread_only: bool = False, limit: int = 50) -> Rows[Notification]:
        return self._run(calls.notifications(unread_only, limit))

    def read_notifications(self, ids: Iterable[UUID]) -> int:
        return self._run(calls.read_notifications(ids))
