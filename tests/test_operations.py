"""The hot paths of socialdb.app.operations, as the application runs them: app role, one seller."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from socialdb.app import operations as ops
from socialdb.app import summary
from socialdb.app.operations import Event, IncomingMessage
from socialdb.app.tenant import seller
from socialdb.errors import NoSellerError
from tests.helpers import add_seller, join, wait_for

Conn = psycopg.Connection[Any]
ME = uuid.UUID("aaaaaaaa-0000-4000-8000-00000000000a")
OTHER = uuid.UUID("bbbbbbbb-0000-4000-8000-00000000000b")
ACCOUNT = uuid.UUID("aaaaaaaa-0000-4000-8000-0000000000ac")
OTHER_ACCOUNT = uuid.UUID("bbbbbbbb-0000-4000-8000-0000000000bc")
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def app(db_url: str) -> Iterator[Conn]:
    with psycopg.connect(db_url, autocommit=True) as admin:
        for user, account in ((ME, ACCOUNT), (OTHER, OTHER_ACCOUNT)):
            add_seller(admin, user, account)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SET ROLE socialdb_app")
        yield conn


def msg(n: int, conversation: str = "c1", sender: str = "customer", at: datetime = T0, **kw: Any) -> IncomingMessage:
    return IncomingMessage(ACCOUNT, conversation, "cust-" + conversation, f"m{n}", sender, at, content=f"oi {n}", **kw)


def unread_and_last(conn: Conn, conversation: str) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT unread_count, last_message_at, participant_username FROM conversations WHERE platform_conversation_id = %s",
        (conversation,),
    ).fetchone()
    assert row is not None
    return row


def test_ingest_message_is_idempotent_and_upserts_the_conversation(app: Conn) -> None:
    # One statement each, in autocommit: the function sets the seller for itself.
    assert ops.ingest_message(app, ME, msg(1, participant_username="ana"))
    assert not ops.ingest_message(app, ME, msg(1))  # redelivered by the platform
    assert ops.ingest_message(
        app, ME, msg(2, sender="user", at=T0 + timedelta(minutes=1), participant_username="ana.s")
    )
    with seller(app, ME):
        assert app.execute("SELECT count(*) FROM conversations").fetchone() == (1,)
        assert app.execute("SELECT count(*) FROM messages").fetchone() == (2,)
        assert unread_and_last(app, "c1") == (1, T0 + timedelta(minutes=1), "ana.s")


def test_a_first_message_racing_another_for_the_same_new_conversation_is_kept(app: Conn, db_url: str) -> None:
    """Two webhooks open the same conversation at once: the second waits for the first's
    conversation row, then stores its message in it (decision 29) rather than dropping it."""
    results: list[bool] = []
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as conn:
                conn.execute("SET ROLE socialdb_app")
                results.append(ops.ingest_message(conn, ME, msg(2, "new", at=T0 + timedelta(seconds=1))))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    with psycopg.connect(db_url, autocommit=True) as first, psycopg.connect(db_url, autocommit=True) as admin:
        first.execute("SET ROLE socialdb_app")
        with first.transaction():
            assert ops.ingest_message(first, ME, msg(1, "new"))
            thread = threading.Thread(target=second)
            thread.start()
            wait_for(
                lambda: admin.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone() == (1,),
                what="the second webhook to wait for the first",
            )
    join(thread, 60)
    assert errors == [] and results == [True]
    with seller(app, ME):
        assert app.execute("SELECT count(*) FROM messages").fetchone() == (2,)
        assert unread_and_last(app, "new")[:2] == (2, T0 + timedelta(seconds=1))


def test_seller_calls_leave_the_callers_seller_as_it_was(app: Conn) -> None:
    ops.ingest_message(app, ME, msg(1))
    with seller(app, OTHER):
        assert len(ops.inbox_page(app, ME, ACCOUNT)) == 1  # the call acts for the seller it is given
        assert app.execute("SELECT current_setting('app.user_id')").fetchone() == (str(OTHER),)
        assert app.execute("SELECT count(*) FROM conversations").fetchone() == (0,)  # still OTHER's view
    assert app.execute("SELECT current_setting('app.user_id', true)").fetchone() in ((None,), ("",))


def test_seller_calls_see_and_write_only_that_sellers_rows(app: Conn) -> None:
    ops.ingest_message(app, ME, msg(1))
    with seller(app, ME):
        conversation = app.execute("SELECT id FROM conversations").fetchone()[0]  # type: ignore[index]
    assert ops.inbox_page(app, OTHER, ACCOUNT) == [] and ops.message_page(app, OTHER, conversation) == []
    # Written as OTHER on ME's account: refused alike whether the conversation exists or not
    # (044: the account is not OTHER's), so the error tells nothing of ME's conversations.
    for message in (msg(2), msg(3, "c-new")):
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="not a connected account of the seller"):
            ops.ingest_message(app, OTHER, message)
    with pytest.raises(psycopg.errors.NullValueNotAllowed, match="seller_message_page: the seller is null"):
        ops.message_page(app, None, conversation)  # type: ignore[arg-type]
    assert len(ops.message_page(app, ME, conversation)) == 1 and len(ops.inbox_page(app, ME, ACCOUNT)) == 1


def test_ingest_batch_same_semantics(app: Conn) -> None:
    with seller(app, ME):
        ops.ingest_message(app, ME, msg(0, "c0"))
        batch = [msg(n, f"c{n % 4}", at=T0 + timedelta(seconds=n)) for n in range(40)]
        assert ops.ingest_batch(app, batch + batch[:5]) == 39  # m0 existed; repeats ignored
        assert app.execute("SELECT count(*) FROM conversations").fetchone() == (4,)
        for c in range(4):
            expected = app.execute(
                "SELECT count(*) FILTER (WHERE NOT is_read), max(sent_at) FROM messages m"
                " JOIN conversations c ON c.id = m.conversation_id WHERE platform_conversation_id = %s",
                (f"c{c}",),
            ).fetchone()
            assert unread_and_last(app, f"c{c}")[:2] == expected


def test_inbox_pages_with_keyset(app: Conn) -> None:
    with seller(app, ME):
        ops.ingest_batch(app, [msg(n, f"c{n}", at=T0 + timedelta(minutes=n % 7)) for n in range(25)])
    seen: list[Any] = []
    page = ops.inbox_page(app, ME, ACCOUNT, limit=10)
    while page:
        seen += page
        page = ops.inbox_page(app, ME, ACCOUNT, limit=10, after=(page[-1][3], page[-1][0]))
    assert len(seen) == 25 and len({row[0] for row in seen}) == 25
    keys = [(row[3], row[0]) for row in seen]
    assert keys == sorted(keys, reverse=True)


def test_message_pages_with_ties(app: Conn) -> None:
    with seller(app, ME):
        ops.ingest_batch(app, [msg(n, at=T0 + timedelta(seconds=n // 3)) for n in range(31)])  # 3 per second
        conversation = app.execute("SELECT id FROM conversations").fetchone()[0]  # type: ignore[index]
    seen: list[Any] = []
    page = ops.message_page(app, ME, conversation, limit=4)
    while page:
        seen += page
        page = ops.message_page(app, ME, conversation, limit=4, after=(page[-1][4], page[-1][0]))
    assert len(seen) == 31 and len({row[0] for row in seen}) == 31
    assert [(r[4], r[0]) for r in seen] == sorted(((r[4], r[0]) for r in seen), reverse=True)


def test_mark_read(app: Conn) -> None:
    with seller(app, ME):
        ops.ingest_batch(app, [msg(n, sender="customer" if n % 2 else "user") for n in range(10)])
        conversation = app.execute("SELECT id FROM conversations").fetchone()[0]  # type: ignore[index]
        assert ops.mark_read(app, conversation) == 5
        assert unread_and_last(app, "c1")[0] == 0
        assert ops.mark_read(app, conversation) == 0


def test_search_is_ranked_accent_insensitive_and_per_seller(app: Conn) -> None:
    rows = [
        (ME, "Vestido floral", "Promoção de verão"),
        (ME, "Promoção: bolsa de couro", "Couro legítimo"),
        (ME, "Camisa", "Algodão"),
        (OTHER, "Promoção do outro vendedor", ""),
    ]
    for user, name, description in rows:
        with seller(app, user):
            app.execute(
                "INSERT INTO products (name, description, user_id) VALUES (%s, %s, %s)", (name, description, user)
            )
    with seller(app, ME):
        found = ops.search_products(app, "promocao")
        assert [r[1] for r in found] == ["Promoção: bolsa de couro", "Vestido floral"]  # name outranks description
        assert [r[1] for r in ops.search_products(app, "algodao")] == ["Camisa"]
    with seller(app, OTHER):
        assert [r[1] for r in ops.search_products(app, "promocao")] == ["Promoção do outro vendedor"]
    # Outside a seller scope no call answers quietly (issue 22): search, mark read, events, dashboard.
    # (ingest_batch and the seller_* calls name the seller or fail under row-level security.)
    for call in (
        lambda: ops.search_products(app, "promocao"),
        lambda: ops.mark_read(app, uuid.uuid4()),
        lambda: ops.record_events(app, []),
        lambda: ops.dashboard(app, ME, date(2026, 6, 1), date(2026, 6, 2)),
    ):
        with pytest.raises(NoSellerError, match="acts for a seller: call it inside `with seller"):
            call()


def test_events_dashboard_and_refresh(app: Conn, db_url: str) -> None:
    events = [
        Event(ME, ACCOUNT if n % 2 else None, "sale", "sales", T0 + timedelta(days=n % 3), Decimal("10.50"))
        for n in range(30)
    ]
    with seller(app, ME):
        assert ops.record_events(app, events) == 30
    summary.run(db_url, summary.SummaryTask.REFRESH)  # maintenance's job, as the test's superuser
    with seller(app, ME):
        rows = ops.dashboard(app, ME, date(2026, 6, 1), date(2026, 6, 2))
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (date(2026, 6, 1), "sales", 10, Decimal("105.00")),
        (date(2026, 6, 2), "sales", 10, Decimal("105.00")),
    ]


@pytest.fixture
def volume(app: Conn, db_url: str) -> Conn:
    """Enough rows that a wrong plan would show: 20k conversations, 60k messages, 20k products."""
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute(
            """
            INSERT INTO client_accounts (user_id, platform, platform_account_id, username)
            SELECT %(other)s, 'whatsapp', 'bulk-' || n, 'bulk' FROM generate_series(1, 50) AS n;
            INSERT INTO conversations (client_account_id, user_id, platform_conversation_id, participant_platform_id, last_message_at, status)
            SELECT a.id, a.user_id, 'v' || n, 'p', now() - n * interval '1 minute', CASE WHEN n %% 3 = 0 THEN 'closed' ELSE 'open' END
            FROM generate_series(1, 20000) AS n
            JOIN LATERAL (SELECT id, user_id FROM client_accounts
                          WHERE (n %% 5 = 0) = (id = %(account)s) ORDER BY id OFFSET n %% 50 LIMIT 1) AS a ON true;
            INSERT INTO messages (conversation_id, user_id, platform_message_id, sender_type, content, sent_at)
            SELECT c.id, c.user_id, 'vm' || c.platform_conversation_id || '-' || k, 'customer', 'olá', now() - k * interval '1 second'
            FROM conversations c, generate_series(1, 3) AS k;
            INSERT INTO products (user_id, name, description)
            SELECT CASE WHEN n %% 10 = 0 THEN %(me)s ELSE %(other)s END::uuid, 'Produto ' || n,
                   CASE WHEN n %% 300 = 0 THEN 'bicicleta aro 29' ELSE 'descrição do produto ' || n END
            FROM generate_series(1, 20000) AS n;
            -- A year of past days, the dashboard's first quarter of 2026 among them (047 refuses
            -- an event more than a day ahead, so the year cannot run past 2026-12-07).
            INSERT INTO analytics_events (user_id, event_type, event_category, value, occurred_at)
            SELECT CASE WHEN n %% 10 = 0 THEN %(me)s ELSE %(other)s END::uuid, 'sale', 'sales', 1,
                   '2025-12-01'::timestamptz + (n %% 365) * interval '1 day'
            FROM generate_series(1, 50000) AS n;
            SELECT refresh_analytics_daily_summary();
            ANALYZE;
            """.replace("%(other)s", f"'{OTHER}'")
            .replace("%(me)s", f"'{ME}'")
            .replace("%(account)s", f"'{ACCOUNT}'")
            .replace("%%", "%")
        )
    return app


@pytest.mark.parametrize(
    ("operation", "index"),
    [("search", "idx_products_search"), ("dashboard", "analytics_daily_rollup_pkey")],
)
def test_reads_use_their_index_at_volume(volume: Conn, operation: str, index: str) -> None:
    queries = {
        "search": (_search_body(), {"query": "bicicleta", "limit": 20}),
        "dashboard": (ops._DASHBOARD, {"user": ME, "first": date(2026, 1, 1), "last": date(2026, 3, 31)}),
    }
    query, params = queries[operation]
    if operation == "search":  # what the SECURITY DEFINER function runs, as its owner
        volume.execute("SET ROLE socialdb_owner")
    with seller(volume, ME):
        plan = "\n".join(r[0] for r in volume.execute(b"EXPLAIN " + query.encode(), params).fetchall())
    assert index in plan, plan


@pytest.mark.parametrize("plan_cache_mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize(
    ("operation", "index"),
    [
        ("inbox", "idx_conversations_inbox"),
        ("inbox next page", "idx_conversations_inbox"),
        ("messages", "idx_messages_conversation_page"),
        ("messages next page", "idx_messages_conversation_page"),
    ],
)
def test_page_functions_walk_their_index_at_volume(
    volume: Conn, operation: str, index: str, plan_cache_mode: str
) -> None:
    """The plan PL/pgSQL runs inside seller_inbox_page / seller_message_page, as auto_explain
    logs it, both as first planned and as the generic plan it may switch to after five calls."""
    after = (datetime.now(UTC), ME) if operation.endswith("next page") else None
    conversation = _busiest(volume)

    def call() -> object:
        if operation.startswith("inbox"):
            return ops.inbox_page(volume, ME, ACCOUNT, after=after)
        return ops.message_page(volume, ME, conversation, after=after)

    table = "public.conversations" if operation.startswith("inbox") else "public.messages"
    plans = [p for p in _nested_plans(volume, call, plan_cache_mode) if f"FROM {table} AS" in p]
    assert len(plans) == 1, plans
    assert index in plans[0], plans[0]
    # The policy's seller is an index condition, not a filter.
    assert "Filter" not in plans[0] and "user_id = (NULLIF(current_setting('app.user_id'" in plans[0], plans[0]


def _nested_plans(conn: Conn, call: Callable[[], object], plan_cache_mode: str) -> list[str]:
    """The plans of every statement `call` runs, functions' inner ones included (auto_explain)."""
    plans: list[str] = []

    def collect(diagnostic: psycopg.errors.Diagnostic) -> None:
        plans.append(diagnostic.message_primary or "")

    conn.execute("RESET ROLE")  # loading auto_explain and its settings need a superuser
    conn.execute("LOAD 'auto_explain'")
    for setting, value in (
        ("auto_explain.log_min_duration", "0"),
        ("auto_explain.log_nested_statements", "on"),
        ("client_min_messages", "log"),
        ("plan_cache_mode", plan_cache_mode),
    ):
        conn.execute("SELECT set_config(%s, %s, false)", (setting, value))
    conn.execute("SET ROLE socialdb_app")
    conn.add_notice_handler(collect)
    try:
        call()
    finally:
        conn.remove_notice_handler(collect)
        conn.execute("RESET client_min_messages")
    return plans


def _busiest(conn: Conn) -> Any:
    """One of the seller's conversations (the volume fixture gives each three messages)."""
    with seller(conn, ME):
        row = conn.execute("SELECT id FROM conversations ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    return row[0]


def _search_body() -> str:
    """The query inside search_seller_products, with psycopg placeholders for its parameters."""
    from socialdb.scripts.files import default_directory, load_migrations

    text = next(m for m in load_migrations(default_directory()) if m.version == 20).up
    body = text.split("AS $$", 2)[2].split("$$;", 1)[0]
    return body.replace("p_query", "%(query)s").replace("p_limit", "%(limit)s")
