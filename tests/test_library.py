"""The platform's library as a service uses it, synchronous and asynchronous with one suite.

Every test runs twice: through socialdb.app.session on a psycopg_pool.ConnectionPool, and
through socialdb.app.aio on an AsyncConnectionPool (on an event loop of its own thread). Both
pools log in as a login role in socialdb_app, as production does, with the library's reset.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row, namedtuple_row

from socialdb.app import aio, summary
from socialdb.app import session as sync
from socialdb.app.inputs import IncomingMessage, NewEvent
from socialdb.app.refused import AccountNotConnectedError
from socialdb.app.rows import InboxRow, MessageRow, Page
from socialdb.app.tokens import TokenCipher
from socialdb.errors import AccountTakenError, SellerScopeError
from tests.helpers import add_seller, join, login_role

ME = uuid.UUID("aaaaaaaa-0000-4000-8000-00000000000a")
OTHER = uuid.UUID("bbbbbbbb-0000-4000-8000-00000000000b")
ACCOUNT = uuid.UUID("aaaaaaaa-0000-4000-8000-0000000000ac")
OTHER_ACCOUNT = uuid.UUID("bbbbbbbb-0000-4000-8000-0000000000bc")
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CIPHER = TokenCipher.parse("k1:" + "A" * 43 + "=", "test")
TIMEOUT_S = 60


class Loop:
    """An event loop in a thread of its own: the async surface, driven from a sync test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="aio-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT_S)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        join(self.thread, TIMEOUT_S)
        self.loop.close()


@dataclass
class Lib:
    """One surface: `lib(seller, "inbox_page", account)` calls it in a session of its own."""

    mode: str
    pool: Any
    loop: Loop | None

    def __call__(self, seller: uuid.UUID, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.loop is None:
            with sync.session(self.pool, seller) as s:
                return getattr(s, method)(*args, **kwargs)

        async def call() -> Any:
            async with aio.session(self.pool, seller) as s:
                return await getattr(s, method)(*args, **kwargs)

        return self.loop.run(call())

    def route(self, platform: str, account: str) -> Any:
        if self.loop is None:
            return sync.route_account(self.pool, platform, account)
        return self.loop.run(aio.route_account(self.pool, platform, account))

    def sign_in(self, email: str) -> Any:
        if self.loop is None:
            return sync.sign_in_lookup(self.pool, email)
        return self.loop.run(aio.sign_in_lookup(self.pool, email))

    def raw(self, statement: str) -> Any:
        """A statement on a borrowed connection, outside any session (what a careless handler runs)."""
        if self.loop is None:
            with self.pool.connection() as conn:
                return conn.execute(statement).fetchall()

        async def run() -> Any:
            async with self.pool.connection() as conn:
                return await (await conn.execute(statement)).fetchall()

        return self.loop.run(run())


@pytest.fixture(params=["sync", "async"])
def lib(request: pytest.FixtureRequest, db_url: str) -> Iterator[Lib]:
    with psycopg.connect(db_url, autocommit=True) as admin:
        for user, account in ((ME, ACCOUNT), (OTHER, OTHER_ACCOUNT)):
            add_seller(admin, user, account)
    with login_role(db_url, "socialdb_app") as (_, url):
        if request.param == "sync":
            pool = sync.open_pool(url, min_size=1, max_size=1)
            try:
                yield Lib("sync", pool, None)
            finally:
                pool.close()
        else:
            loop = Loop()
            pool = loop.run(aio.open_pool(url, min_size=1, max_size=1))
            try:
                yield Lib("async", pool, loop)
            finally:
                loop.run(pool.close())
                loop.close()


def msg(
    n: int, conversation: str = "c1", at: datetime = T0, account: uuid.UUID = ACCOUNT, **kw: Any
) -> IncomingMessage:
    return IncomingMessage(account, conversation, "cust-" + conversation, f"m{n}", "customer", at, f"oi {n}", **kw)


def walk(fetch: Callable[[Any], Page[Any]]) -> list[Any]:
    """Every row, page after page, by the pages' own cursors."""
    rows: list[Any] = []
    page = fetch(None)
    while True:
        rows.extend(page)
        if page.next is None:
            return rows
        page = fetch(page.next)


def test_pages_are_typed_and_their_cursor_walks_every_row_once(lib: Lib) -> None:
    for n in range(7):
        assert lib(ME, "ingest_message", msg(n, at=T0 + timedelta(minutes=n // 2)))  # ties on sent_at
    inbox = lib(ME, "inbox_page", ACCOUNT)
    assert [type(r) for r in inbox] == [InboxRow]
    assert (inbox[0].platform_conversation_id, inbox[0].unread_count) == ("c1", 7)
    conversation = inbox[0].id
    walked = walk(lambda after: lib(ME, "message_page", conversation, limit=2, after=after))
    assert all(type(r) is MessageRow for r in walked)
    assert [r.content for r in walked] == [r.content for r in lib(ME, "message_page", conversation)]
    assert sorted(r.content for r in walked) == sorted(f"oi {n}" for n in range(7))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(minutes=st.lists(st.integers(0, 3), min_size=0, max_size=9), limit=st.integers(1, 4))
def test_the_inbox_cursor_neither_skips_nor_repeats(lib: Lib, minutes: list[int], limit: int) -> None:
    tag = uuid.uuid4().hex[:8]
    for n, minute in enumerate(minutes):
        lib(ME, "ingest_message", msg(n, conversation=f"{tag}-{n}", at=T0 + timedelta(minutes=minute)))
    walked = walk(lambda after: lib(ME, "inbox_page", ACCOUNT, limit=limit, after=after))
    mine = [r.platform_conversation_id for r in walked if r.platform_conversation_id.startswith(tag)]
    assert sorted(mine) == sorted(f"{tag}-{n}" for n in range(len(minutes)))
    assert len({r.id for r in walked}) == len(walked)


def test_two_sellers_keep_their_own_message_of_the_same_id(lib: Lib) -> None:
    """Gap 1: two connected accounts of different sellers message each other; both webhooks
    carry one message id. Before 043-045 the second seller's message was dropped as a redelivery."""
    assert lib(ME, "ingest_message", msg(1))
    assert lib(OTHER, "ingest_message", msg(1, account=OTHER_ACCOUNT))
    assert not lib(OTHER, "ingest_message", msg(1, account=OTHER_ACCOUNT))  # its own redelivery
    for seller, account in ((ME, ACCOUNT), (OTHER, OTHER_ACCOUNT)):
        (conversation,) = lib(seller, "inbox_page", account)
        assert [m.content for m in lib(seller, "message_page", conversation.id)] == ["oi 1"]
    assert lib(OTHER, "ingest_batch", [msg(2, account=OTHER_ACCOUNT), msg(1, account=OTHER_ACCOUNT)]) == 1
    assert lib(ME, "ingest_batch", [msg(2)]) == 1  # the same id as OTHER's batch: ME's own


def test_messages_on_an_account_not_the_sellers_connected_one_are_refused_alike(lib: Lib) -> None:
    """One message and a batch, on another seller's account or a disconnected one of the
    seller's own: the same SQLSTATE (55000), nothing stored."""
    lib(ME, "ingest_message", msg(1))  # ME's conversation 'c1' exists
    for call, payload in (("ingest_message", msg(5, account=ACCOUNT)), ("ingest_batch", [msg(5, account=ACCOUNT)])):
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="not (a )?connected account"):
            lib(OTHER, call, payload)
    mine = lib(ME, "connect_account", "whatsapp", "5511988880000", "loja")
    lib(ME, "disconnect_account", mine.id)
    with pytest.raises(AccountNotConnectedError, match=str(mine.id)):
        lib(ME, "ingest_batch", [msg(6, account=mine.id)])
    assert [m.content for c in lib(ME, "inbox_page", ACCOUNT) for m in lib(ME, "message_page", c.id)] == ["oi 1"]


def test_a_reconnected_account_comes_back_and_knows_its_messages(lib: Lib) -> None:
    account = lib(ME, "connect_account", "whatsapp", "5511999990000", "loja.zap")
    assert (account.platform, account.status, account.reconnected) == ("whatsapp", "active", False)
    assert lib.route("whatsapp", "5511999990000") == (ME, account.id)
    assert lib(ME, "ingest_message", msg(1, account=account.id))
    assert lib(ME, "disconnect_account", account.id)
    assert lib.route("whatsapp", "5511999990000") is None  # a webhook for it finds no seller
    assert not lib(ME, "disconnect_account", account.id)
    again = lib(ME, "connect_account", "whatsapp", "5511999990000", "loja.zap2")
    assert (again.id, again.reconnected, again.username) == (account.id, True, "loja.zap2")
    assert not lib(ME, "ingest_message", msg(1, account=account.id))  # redelivered after the reconnect
    assert lib(ME, "connect_account", "whatsapp", "5511999990000", "x").id == account.id  # idempotent


def test_an_account_has_one_live_seller(lib: Lib) -> None:
    mine = lib(ME, "connect_account", "instagram", "ig-77", "loja")
    with pytest.raises(AccountTakenError, match="instagram account 'ig-77' is connected by another seller"):
        lib(OTHER, "connect_account", "instagram", "ig-77", "outra")
    lib(ME, "disconnect_account", mine.id)
    theirs = lib(OTHER, "connect_account", "instagram", "ig-77", "outra")
    assert theirs.id != mine.id and lib.route("instagram", "ig-77") == (OTHER, theirs.id)
    with pytest.raises(AccountTakenError):  # ME's old row cannot come back while OTHER holds it
        lib(ME, "connect_account", "instagram", "ig-77", "loja")


def test_tokens_are_stored_refreshed_and_revoked_with_the_account(lib: Lib) -> None:
    expires = T0 + timedelta(days=60)
    first = lib(ME, "store_token", ACCOUNT, CIPHER, "token-1", expires, ["instagram_basic"])
    assert first is not None and lib(ME, "read_token", ACCOUNT, CIPHER) == "token-1"
    second = lib(ME, "store_token", ACCOUNT, CIPHER, "token-2", expires, ["instagram_basic"])
    assert second not in (None, first) and lib(ME, "read_token", ACCOUNT, CIPHER) == "token-2"
    assert lib(OTHER, "read_token", ACCOUNT, CIPHER) is None  # not OTHER's account
    assert lib(OTHER, "store_token", ACCOUNT, CIPHER, "stolen", expires, []) is None
    lib(ME, "disconnect_account", ACCOUNT)
    assert lib(ME, "read_token", ACCOUNT, CIPHER) is None


def test_products_their_links_and_the_messages_that_show_them(lib: Lib) -> None:
    vestido = lib(ME, "create_product", "Vestido floral", price=Decimal("89.90"), description="Vestido de algodão")
    assert (vestido.name, vestido.currency, vestido.archived) == ("Vestido floral", "BRL", False)
    assert [h.id for h in lib(ME, "search_products", "algodao")] == [vestido.id]
    assert lib(OTHER, "search_products", "algodao") == []
    changed = lib(ME, "update_product", vestido.id, price=Decimal("79.90"), stock_quantity=None)
    assert (changed.price, changed.name) == (Decimal("79.90"), "Vestido floral")
    assert lib(OTHER, "update_product", vestido.id, price=Decimal("1")) is None
    link = lib(ME, "create_link", vestido.id, ACCOUNT, f"https://sl.example/{uuid.uuid4().hex[:6]}")
    lib(ME, "ingest_message", msg(1))
    (conversation,) = lib(ME, "inbox_page", ACCOUNT)
    (message,) = lib(ME, "message_page", conversation.id)
    assert lib(ME, "attach_products", message.id, [vestido.id, vestido.id]) == 1
    assert lib(ME, "attach_products", message.id, [vestido.id]) == 0
    assert lib(ME, "archive_link", link) and not lib(ME, "archive_link", link)
    assert not lib(OTHER, "archive_link", link)
    post = lib(ME, "cache_media", ACCOUNT, "17890001", "IMAGE", caption="Vestido", likes=3)
    assert lib(ME, "cache_media", ACCOUNT, "17890001", "IMAGE", caption="Vestido novo", likes=5) == post
    assert lib(OTHER, "cache_media", OTHER_ACCOUNT, "17890001", "IMAGE") != post  # the same post, OTHER's cache
    assert lib(ME, "archive_product", vestido.id) and not lib(ME, "archive_product", vestido.id)
    assert lib(ME, "search_products", "algodao") == []
    assert lib.raw(f"SELECT count(*) FROM product_links WHERE id = '{link}'") == [(0,)]  # no seller: nothing
    with pytest.raises(TypeError, match="no such field 'user_id'"):
        lib(ME, "update_product", vestido.id, user_id=OTHER)


def test_notifications_events_and_the_dashboard(lib: Lib, db_url: str) -> None:
    first = lib(ME, "notify", "new_message", "Nova mensagem", "Maria escreveu", "/inbox")
    lib(ME, "notify", "sale", "Venda", "Vestido vendido")
    assert [n.title for n in lib(ME, "notifications")] == ["Venda", "Nova mensagem"]
    assert lib(OTHER, "notifications") == []
    assert lib(ME, "read_notifications", [first]) == 1
    assert [n.title for n in lib(ME, "notifications", unread_only=True)] == ["Venda"]
    today = datetime.now(UTC)
    events = [NewEvent(ACCOUNT, "sale", "sales", today, Decimal("10.00")) for _ in range(3)]
    assert lib(ME, "record_events", events) == 3
    summary.run(db_url, summary.SummaryTask.REFRESH)  # maintenance's job, not the application's
    (day,) = lib(ME, "dashboard", today.date() - timedelta(days=1), today.date() + timedelta(days=1))
    assert (day.date, day.category, day.events, day.total_value) == (today.date(), "sales", 3, Decimal("30.00"))
    assert lib(OTHER, "dashboard", date(2000, 1, 1), today.date()) == []


def test_webhooks_and_sign_in_find_their_seller_and_nothing_else(lib: Lib) -> None:
    assert lib.route("instagram", str(ACCOUNT)) == (ME, ACCOUNT)
    assert lib.route("instagram", "nobody") is None
    assert lib.route("whatsapp", str(ACCOUNT)) is None
    found = lib.sign_in(f"{ME}@X.COM")
    assert found is not None and (found.user_id, found.password_hash) == (ME, "h")


def test_the_pool_reset_leaves_no_cursor_or_setting(lib: Lib) -> None:
    """Gap 2, as found: a WITH HOLD cursor declared under seller A, then the connection goes
    back to the pool; the next borrower (the same connection: the pool holds one) sees nothing."""
    if lib.loop is None:
        with sync.session(lib.pool, ME) as s, s.atomic():
            s.conn.execute("DECLARE export CURSOR WITH HOLD FOR SELECT platform_account_id FROM client_accounts")
            s.conn.execute("SET application_name = 'leaky'")
    else:

        async def leak() -> None:
            async with aio.session(lib.pool, ME) as s, s.atomic():
                await s.conn.execute(
                    "DECLARE export CURSOR WITH HOLD FOR SELECT platform_account_id FROM client_accounts"
                )
                await s.conn.execute("SET application_name = 'leaky'")

        lib.loop.run(leak())
    assert lib.raw("SELECT count(*) FROM pg_cursors") == [(0,)]
    assert lib.raw("SELECT current_setting('application_name') = 'leaky', app_user_id()") == [(False, None)]


def test_a_session_refuses_a_call_from_another_thread_or_task(lib: Lib) -> None:
    """Gap 2's second case through the session: another thread (or task) calling on a session
    it did not open would act for that session's seller on a connection in use."""
    errors: list[BaseException] = []
    if lib.loop is None:
        with sync.session(lib.pool, ME) as s:

            def other() -> None:
                try:
                    s.inbox_page(ACCOUNT)
                except BaseException as exc:  # the thread reports what it met
                    errors.append(exc)

            thread = threading.Thread(target=other)
            thread.start()
            join(thread, TIMEOUT_S)
            assert s.inbox_page(ACCOUNT) is not None  # the owner still may
    else:

        async def two_tasks() -> None:
            async with aio.session(lib.pool, ME) as s:
                try:
                    await asyncio.create_task(s.inbox_page(ACCOUNT))
                except SellerScopeError as exc:
                    errors.append(exc)
                await s.inbox_page(ACCOUNT)

        lib.loop.run(two_tasks())
    assert [type(e) for e in errors] == [SellerScopeError]


def test_a_malformed_seller_fails_before_any_round_trip(lib: Lib) -> None:
    with pytest.raises(ValueError, match="badly formed"):
        lib("not-a-uuid", "inbox_page", ACCOUNT)  # type: ignore[arg-type]


def test_the_old_functions_still_work_and_name_their_replacement(db_url: str) -> None:
    from socialdb.app import operations as ops
    from socialdb.app.tenant import seller

    with psycopg.connect(db_url, autocommit=True) as admin:
        add_seller(admin, ME, ACCOUNT)
    with login_role(db_url, "socialdb_app") as (_, url), psycopg.connect(url, autocommit=True) as conn:
        with pytest.warns(
            DeprecationWarning, match=r"operations\.ingest_message is deprecated: use Session\.ingest_message"
        ):
            assert ops.ingest_message(conn, ME, msg(1))
        with pytest.warns(DeprecationWarning, match=r"use Session\.inbox_page"):
            ((conversation, *_),) = ops.inbox_page(conn, ME, ACCOUNT)
        with seller(conn, ME), pytest.warns(DeprecationWarning, match=r"use Session\.mark_read"):
            assert ops.mark_read(conn, conversation) == 1


def test_an_ended_session_is_refused_even_when_its_connection_serves_another(lib: Lib) -> None:
    """Review finding: a session kept past its block, whose pooled connection (the pool holds
    one) now serves another seller's request in the same thread, wrote for its old seller."""
    if lib.loop is None:
        with sync.session(lib.pool, ME) as stale:
            pass
        with sync.session(lib.pool, OTHER), pytest.raises(SellerScopeError, match="has ended"):
            stale.create_product("stale")
    else:

        async def scenario() -> None:
            async with aio.session(lib.pool, ME) as stale:
                pass
            async with aio.session(lib.pool, OTHER):
                with pytest.raises(SellerScopeError, match="has ended"):
                    await stale.create_product("stale")

        lib.loop.run(scenario())
    assert lib(ME, "search_products", "stale") == []


def test_a_failed_call_inside_atomic_leaves_the_rest_of_the_block(lib: Lib) -> None:
    """Review finding: a call taking the seller as an argument was no savepoint inside atomic():
    its failure, caught, rolled the whole block back."""
    bad = msg(1, account=OTHER_ACCOUNT)  # another seller's account: refused
    if lib.loop is None:
        with sync.session(lib.pool, ME) as s, s.atomic():
            s.create_product("kept")
            with pytest.raises(psycopg.Error):
                s.ingest_message(bad)
            s.create_product("kept too")
    else:

        async def scenario() -> None:
            async with aio.session(lib.pool, ME) as s, s.atomic():
                await s.create_product("kept")
                with pytest.raises(psycopg.Error):
                    await s.ingest_message(bad)
                await s.create_product("kept too")

        lib.loop.run(scenario())
    assert sorted(h.name for h in lib(ME, "search_products", "kept")) == ["kept", "kept too"]


def test_a_lookup_on_a_bare_connection_leaves_no_transaction_open(db_url: str) -> None:
    """Review finding: route_account on a connection not in autocommit left a transaction open,
    so the session after it joined that transaction and its writes were lost at close."""
    with psycopg.connect(db_url, autocommit=True) as admin:
        add_seller(admin, ME, ACCOUNT)
    with login_role(db_url, "socialdb_app") as (_, url):
        with psycopg.connect(url) as conn:  # autocommit off, as psycopg connects by default
            route = sync.route_account(conn, "instagram", str(ACCOUNT))
            assert route == (ME, ACCOUNT)
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            with sync.session(conn, route.seller_id) as s:
                assert s.ingest_message(msg(1))
        with psycopg.connect(url, autocommit=True) as check, sync.session(check, ME) as s:
            assert len(s.inbox_page(ACCOUNT)) == 1


def test_a_session_block_entered_again_gives_back_the_callers_mode(db_url: str) -> None:
    """`session` gives back the caller's autocommit each time its block ends, the same block
    entered twice included (found by review: the first entry's switch outlived it)."""
    with psycopg.connect(db_url) as conn:
        block = sync.session(conn, ME)
        with block:
            assert conn.autocommit
        assert not conn.autocommit
        conn.autocommit = True
        with block:
            assert conn.autocommit
        assert conn.autocommit


def test_ingest_refuses_a_disconnected_account_and_writes_nothing(db_url: str) -> None:
    """062 checks the account inside the statement that finds the conversation: a disconnected
    account is refused (55000) whether its conversation exists or not, and nothing is written."""
    account = uuid.UUID("aaaaaaaa-0000-4000-8000-0000000000ad")
    with psycopg.connect(db_url, autocommit=True) as admin:
        add_seller(admin, ME, account)
    with (
        login_role(db_url, "socialdb_app") as (_, url),
        psycopg.connect(url, autocommit=True) as conn,
        sync.session(conn, ME) as s,
    ):
        assert s.ingest_message(IncomingMessage(account, "c1", "p1", "m1", "customer", T0, "oi"))
        assert s.disconnect_account(account)
        for conversation, message in (("c1", "m2"), ("c2", "m3")):  # found, and new
            with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
                s.ingest_message(IncomingMessage(account, conversation, "p1", message, "customer", T0, "oi"))
    with psycopg.connect(db_url) as admin:
        stored = admin.execute("SELECT platform_message_id FROM messages WHERE user_id = %s", (ME,)).fetchall()
        assert stored == [("m1",)]
        assert admin.execute("SELECT count(*) FROM conversations WHERE user_id = %s", (ME,)).fetchone() == (1,)


def _pooled(lib: Lib, look: Callable[[Any], Any]) -> Any:
    """`look` at the pool's one connection, borrowed outside any session (the next request's)."""
    if lib.loop is None:
        with lib.pool.connection() as conn:
            return look(conn)

    async def borrow() -> Any:
        async with lib.pool.connection() as conn:
            return look(conn)

    return lib.loop.run(borrow())


def test_the_pool_reset_leaves_no_row_of_the_last_request_in_the_client(lib: Lib) -> None:
    """Decision 276: a connection's sessions share one cursor, which keeps its last result in
    the client's memory. The reset closes it: the next borrower finds no result of the last
    request's anywhere in the connection's attributes (a cursor's `pgresult` holds its rows)."""
    assert lib(ME, "ingest_message", msg(1))
    assert len(lib(ME, "inbox_page", ACCOUNT)) == 1

    def results(conn: Any) -> list[Any]:
        objects = [value for value in vars(conn).values() if not isinstance(value, type)]  # not its cursor classes
        return [value for value in objects if getattr(value, "pgresult", None) is not None]

    assert _pooled(lib, results) == []


@pytest.mark.parametrize("factory", [dict_row, namedtuple_row])
def test_a_session_returns_its_own_rows_whatever_the_connections_row_factory(db_url: str, factory: Any) -> None:
    """A service whose connections make dicts or named tuples still gets the library's typed
    rows and values: the session's cursor makes tuples of its own (decision 276)."""
    with psycopg.connect(db_url, autocommit=True) as admin:
        add_seller(admin, ME, ACCOUNT)
    with login_role(db_url, "socialdb_app") as (_, url):
        with psycopg.connect(url, autocommit=True, row_factory=factory) as conn:
            assert sync.route_account(conn, "instagram", str(ACCOUNT)) == (ME, ACCOUNT)
            with sync.session(conn, ME) as s:
                assert s.ingest_message(msg(1))
                assert [type(r) for r in s.inbox_page(ACCOUNT)] == [InboxRow]
                assert s.create_product("Vestido azul").name == "Vestido azul"

        async def scenario() -> None:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=factory) as conn:
                assert await aio.route_account(conn, "instagram", str(ACCOUNT)) == (ME, ACCOUNT)
                async with aio.session(conn, ME) as s:
                    assert [r.content for r in await s.message_page((await s.inbox_page(ACCOUNT))[0].id)] == ["oi 1"]
                    assert [h.name for h in await s.search_products("vestido")] == ["Vestido azul"]

        asyncio.run(asyncio.wait_for(scenario(), TIMEOUT_S))


def test_a_session_refused_on_a_closed_connection_holds_nothing(db_url: str) -> None:
    """On a closed connection the session's first call fails (OperationalError), and the
    session gives back the scope it had claimed, as it does for any failure."""
    conn = psycopg.connect(db_url, autocommit=True)
    conn.close()
    with pytest.raises(psycopg.OperationalError, match="closed"), sync.session(conn, ME) as s:
        s.inbox_page(ACCOUNT)
    assert "_socialdb_scope_holder" not in vars(conn)


def test_a_session_on_a_client_cursor_connection_still_reads_its_pages(db_url: str) -> None:
    """Review finding: a connection whose cursor_factory is ClientCursor (as Django's backend
    uses) cannot return binary results; the library's cursor is its own, so the pages work."""
    with psycopg.connect(db_url, autocommit=True) as admin:
        add_seller(admin, ME, ACCOUNT)
    with login_role(db_url, "socialdb_app") as (_, url):
        connect = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor)
        with connect as conn, sync.session(conn, ME) as s:
            assert s.ingest_message(msg(1))
            assert [r.content for r in s.message_page(s.inbox_page(ACCOUNT)[0].id)] == ["oi 1"]

        async def scenario() -> None:
            connect = psycopg.AsyncConnection.connect(url, autocommit=True, cursor_factory=psycopg.AsyncClientCursor)
            async with await connect as conn, aio.session(conn, ME) as s:
                assert len(await s.inbox_page(ACCOUNT)) == 1

        asyncio.run(asyncio.wait_for(scenario(), TIMEOUT_S))


def test_a_session_refuses_a_connection_in_pipeline_mode(db_url: str) -> None:
    """Review finding: in pipeline mode a statement's result is not there when the call reads
    it, and the pages answered empty. The session, and the lookups, refuse such a connection."""
    with psycopg.connect(db_url, autocommit=True) as admin:
        add_seller(admin, ME, ACCOUNT)
    with login_role(db_url, "socialdb_app") as (_, url), psycopg.connect(url, autocommit=True) as conn:
        with sync.session(conn, ME) as s:
            assert s.ingest_message(msg(1))
        with conn.pipeline():
            with pytest.raises(SellerScopeError, match="pipeline"), sync.session(conn, ME):
                pass
            with pytest.raises(SellerScopeError, match="pipeline"):
                sync.route_account(conn, "instagram", str(ACCOUNT))
        assert "_socialdb_scope_holder" not in vars(conn)
        with sync.session(conn, ME) as s:
            assert len(s.inbox_page(ACCOUNT)) == 1


def test_an_ended_session_keeps_no_rows_and_opens_no_transaction(lib: Lib) -> None:
    """A session kept past its block neither holds the connection's cursor (its last rows)
    nor opens an `atomic()` block on a connection that may serve another request."""
    if lib.loop is None:
        with sync.session(lib.pool, ME) as kept:
            kept.inbox_page(ACCOUNT)
        with pytest.raises(SellerScopeError), kept.atomic():
            pass
    else:

        async def keep() -> Any:
            async with aio.session(lib.pool, ME) as s:
                await s.inbox_page(ACCOUNT)
            with pytest.raises(SellerScopeError):
                async with s.atomic():
                    pass
            return s

        kept = lib.loop.run(keep())
    assert not hasattr(kept, "cursor")
