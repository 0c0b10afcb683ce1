"""The platform's library, asynchronous: socialdb.app.session's surface for asyncio services.

    pool = await open_pool(url)                            # reset=aclear_seller
    async with session(pool, seller_id) as s:
        page = await s.inbox_page(account_id)

Every call has the name, arguments, result and transaction of its synchronous twin; both run
the same `Call`s (socialdb.app.calls), and one parametrised suite tests both
(tests/test_library.py). A session belongs to the task that opened it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

from socialdb.app import calls
from socialdb.app.calls import Call, Result, Scope
from socialdb.app.calls import has_rows as _has_rows
from socialdb.app.cluster import aon_citus, known
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
from socialdb.app.tenant import CURSOR, aclear_seller, ascope, hold, refuse_pipeline, require_holder, seller_id
from socialdb.errors import SellerScopeError

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

    from socialdb.app.tokens import TokenCipher

T = TypeVar("T")


async def open_pool(url: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any) -> AsyncConnectionPool[Any]:
    """A psycopg_pool.AsyncConnectionPool whose reset leaves nothing of a request."""
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(url, min_size=min_size, max_size=max_size, reset=aclear_seller, open=False, **kwargs)
    await pool.open()
    return pool


@asynccontextmanager
async def session(
    source: AsyncConnectionPool[Any] | psycopg.AsyncConnection[Any], seller: UUID | str
) -> AsyncIterator[AsyncSession]:
    """A session acting for `seller` on a connection of `source` (a pool, or a connection) for the block."""
    if isinstance(source, psycopg.AsyncConnection):
        async with _bound(source, seller) as bound:
            yield bound
    else:
        async with source.connection() as conn, _bound(conn, seller) as bound:
            yield bound


@asynccontextmanager
async def _bound(conn: psycopg.AsyncConnection[Any], seller: UUID | str) -> AsyncIterator[AsyncSession]:
    refuse_pipeline(conn)
    switch = not conn.autocommit and conn.pgconn.transaction_status == TransactionStatus.IDLE
    if switch:
        await conn.set_autocommit(True)
    bound = None
    try:
        with hold(conn):
            bound = AsyncSession(conn, seller_id(seller), _cursor(conn))
            yield bound
    finally:
        if bound is not None:
            bound.open = False  # a session kept past its block is refused
            del bound.cursor  # and keeps no rows of the connection's
        if switch and conn.pgconn.transaction_status == TransactionStatus.IDLE:
            await conn.set_autocommit(False)


# The cursor a connection's sessions run their calls on, until the pool's reset closes it: the
# synchronous session's, for the same reasons (socialdb.app.session, decision 276).


def _cursor(conn: psycopg.AsyncConnection[Any]) -> psycopg.AsyncCursor[Any]:
    attributes = vars(conn)
    cur: psycopg.AsyncCursor[Any] | None = attributes.get(CURSOR)
    if cur is None or cur.closed:
        cur = attributes[CURSOR] = psycopg.AsyncCursor(conn, row_factory=tuple_row)
    return cur


def _fresh(conn: psycopg.AsyncConnection[Any]) -> psycopg.AsyncCursor[Any]:
    refuse_pipeline(conn)
    return psycopg.AsyncCursor(conn, row_factory=tuple_row)


async def route_account(
    source: AsyncConnectionPool[Any] | psycopg.AsyncConnection[Any], platform: str, account: str
) -> Route | None:
    """Whose webhook this is: the live connection of (platform, platform account id), or None."""
    return await _lookup(source, calls.route_account(platform, account))


async def sign_in_lookup(source: AsyncConnectionPool[Any] | psycopg.AsyncConnection[Any], email: str) -> SignIn | None:
    """A live user by email, whatever its case, for sign-in (check the password hash yourself)."""
    return await _lookup(source, calls.sign_in_lookup(email))


async def _lookup(source: AsyncConnectionPool[Any] | psycopg.AsyncConnection[Any], call: Call[T]) -> T:
    if isinstance(source, psycopg.AsyncConnection):
        if source.autocommit or source.pgconn.transaction_status != TransactionStatus.IDLE:
            return await _execute(_fresh(source), call)
        async with source.transaction():
            return await _execute(_fresh(source), call)
    async with source.connection() as conn:
        return await _execute(_fresh(conn), call)


async def _execute(cur: psycopg.AsyncCursor[Any], call: Call[T]) -> T:
    for index, (statement, params) in enumerate(call.statements):
        await cur.execute(statement, params, binary=call.binary)
        if index == 0 and call.guard is not None:
            call.guard(Result(await cur.fetchall(), cur.rowcount))
    rows = await cur.fetchall() if _has_rows(cur) else []
    return call.shape(Result(rows, cur.rowcount))


class AsyncSession:
    """One seller's calls on one async connection: get it from `session(...)`. Each method is
    its synchronous twin's (socialdb.app.session.Session), awaited."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], seller: UUID, cursor: psycopg.AsyncCursor[Any]) -> None:
        self.conn, self.seller, self.cursor = conn, seller, cursor
        self.open = True

    def _usable(self) -> None:
        if not self.open:
            raise SellerScopeError("this session has ended: open a new one (its connection may serve another request)")
        require_holder(self.conn)

    async def _citus(self) -> bool:
        """Whether the server runs Citus, where a few calls take other statements (decision 234)."""
        citus = known(self.conn)
        if citus is None:  # asked once per connection, and only by the session that holds it
            self._usable()
            citus = await aon_citus(self.conn)
        return citus

    async def _run(self, call: Call[T]) -> T:
        self._usable()
        if call.scope is Scope.TRANSACTION and known(self.conn) is None:
            await self._citus()  # once per connection: one server's scope sets its seller by set_config()
        for attempt in (1, 2):
            try:
                if call.scope is Scope.TRANSACTION:
                    async with ascope(self.conn, self.seller, self.cursor):
                        return await _execute(self.cursor, call)
                if self.conn.pgconn.transaction_status == TransactionStatus.IDLE:
                    return await _execute(self.cursor, call)
                async with self.conn.transaction():
                    return await _execute(self.cursor, call)
            except psycopg.errors.UniqueViolation:
                if call.taken is None:
                    raise
                if attempt == 2:
                    raise call.taken() from None
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[AsyncSession]:
        self._usable()
        async with ascope(self.conn, self.seller, self.cursor):
            yield self

    async def ingest_message(self, message: IncomingMessage) -> bool:
        return await self._run(calls.ingest_message(self.seller, message))

    async def ingest_batch(self, messages: Sequence[IncomingMessage]) -> int:
        if await self._citus():
            return await self._run(calls.citus_ingest_batch(self.seller, messages))
        return await self._run(calls.ingest_batch(messages))

    async def inbox_page(self, account_id: UUID, limit: int = 20, after: Cursor | None = None) -> Page[InboxRow]:
        return await self._run(calls.inbox_page(self.seller, account_id, limit, after))

    async def message_page(
        self, conversation_id: UUID, limit: int = 50, after: Cursor | None = None
    ) -> Page[MessageRow]:
        return await self._run(calls.message_page(self.seller, conversation_id, limit, after))

    async def mark_read(self, conversation_id: UUID) -> int:
        return await self._run(calls.mark_read(self.seller, conversation_id))

    async def search_products(self, query: str, limit: int = 20) -> Rows[ProductHit]:
        return await self._run(calls.search_products(self.seller, query, limit))

    async def create_product(self, name: str, **fields: Any) -> Product:
        return await self._run(calls.create_product({"name": name, **fields}))

    async def update_product(self, product_id: UUID, **changes: Any) -> Product | None:
        return await self._run(calls.update_product(product_id, changes))

    async def archive_product(self, product_id: UUID) -> bool:
        return await self._run(calls.archive_product(product_id))

    async def create_link(
        self, product_id: UUID, account_id: UUID, short_link: str, media_id: str | None = None
    ) -> UUID:
        if await self._citus():  # the short link's lookup row and the link in one function (059)
            return await self._run(calls.citus_create_link(product_id, account_id, short_link, media_id))
        return await self._run(calls.create_link(product_id, account_id, short_link, media_id))

    async def archive_link(self, link_id: UUID) -> bool:
        """Stop a product link (it stays, with its clicks and revenue)."""
        return await self._run(calls.archive_link(link_id))

    async def cache_media(self, account_id: UUID, platform_media_id: str, media_type: str, **fields: Any) -> UUID:
        """Cache a post of the account (the latest sync wins); fields: url, permalink, caption,
        likes, comments, posted_at."""
        return await self._run(calls.cache_media(account_id, platform_media_id, media_type, fields))

    async def attach_products(self, message_id: UUID, product_ids: Iterable[UUID]) -> int:
        return await self._run(calls.attach_products(message_id, product_ids))

    async def connect_account(self, platform: str, platform_account_id: str, username: str) -> Account:
        if await self._citus():  # the account's lookup row and the account in one function (059)
            return await self._run(calls.citus_connect_account(platform, platform_account_id, username))
        return await self._run(calls.connect_account(platform, platform_account_id, username))

    async def disconnect_account(self, account_id: UUID) -> bool:
        if await self._citus():
            return await self._run(calls.citus_disconnect_account(account_id))
        return await self._run(calls.disconnect_account(account_id))

    async def sign_up(self, email: str, password_hash: str, name: str) -> UUID:
        """Session.sign_up for an `AsyncConnection`."""
        return await self._run(calls.sign_up(self.seller, email, password_hash, name, citus=await self._citus()))

    async def store_token(
        self,
        account_id: UUID,
        cipher: TokenCipher,
        token: str,
        expires_at: datetime,
        scopes: Sequence[str],
        token_type: str = "Bearer",
    ) -> UUID | None:
        return await self._run(calls.store_token(account_id, cipher, token, expires_at, scopes, token_type))

    async def read_token(self, account_id: UUID, cipher: TokenCipher) -> str | None:
        return await self._run(calls.read_token(account_id, cipher))

    async def record_events(self, events: Iterable[NewEvent]) -> int:
        if await self._citus():
            return await self._run(calls.citus_record_events(self.seller, events))
        return await self._run(calls.record_events(self.seller, events))

    async def dashboard(self, first: date, last: date) -> Rows[DashboardDay]:
        return await self._run(calls.dashboard(self.seller, first, last))

    async def notify(self, kind: str, title: str, message: str, action_url: str | None = None) -> UUID:
        return await self._run(calls.notify(kind, title, message, action_url))

    async def notifications(self, unread_only: bool = False, limit: int = 50) -> Rows[Notification]:
        return await self._run(calls.notifications(unread_only, limit))

    async def read_notifications(self, ids: Iterable[UUID]) -> int:
        return await self._run(calls.read_notifications(ids))
