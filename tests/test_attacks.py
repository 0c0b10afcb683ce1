"""The application role as an attacker (issue 10): no way to run as the owner, to outlast a
seller block, to hold maintenance hostage or to lift a page's limit.

The application connects as a login role in `socialdb_app`, as production does, to a copy of
a database the migrations really ran in (migrated, too, by a login role that is no superuser:
tests/conftest.py). One test switches roles in a single session on purpose: the temporary
objects it plants are that session's.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pglast
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from typer.testing import CliRunner

from socialdb.app import operations, tenant
from socialdb.app import session as app_session
from socialdb.app.operations import INGEST_STATEMENT, LIMITS, IncomingMessage, ingest_parameters
from socialdb.app.refused import AccountNotConnectedError
from socialdb.app.tenant import aclear_seller, aseller, clear_seller, seller
from socialdb.cli import app as cli
from socialdb.db import database_of, with_database
from socialdb.errors import FieldLimitError, SellerScopeError
from tests.helpers import MIGRATOR, add_seller, in_background, join, login_role
from tests.sellers import DATA, SELLERS

Conn = psycopg.Connection[tuple[Any, ...]]
PINNED = "search_path=pg_catalog, public, pg_temp"
# 059's write functions name every object with its schema and leave public out of the path
# altogether: narrower still, pg_temp last all the same (decision 260).
PINNED_WITHOUT_PUBLIC = "search_path=pg_catalog, pg_temp"

# The attack of issue 10: a temporary table shadowing the change list, with a trigger whose
# function would run as whoever touches the shadow. It logs the role it ran as.
SHADOW = """
CREATE TEMP TABLE escape_log (ran_as text);
GRANT ALL ON escape_log TO PUBLIC;
CREATE TEMP TABLE analytics_summary_changes (user_id uuid, date date);
GRANT ALL ON analytics_summary_changes TO PUBLIC;
CREATE FUNCTION pg_temp.escape() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pg_temp.escape_log VALUES (current_user);
  RETURN NULL;
END $$;
CREATE TRIGGER on_insert AFTER INSERT ON analytics_summary_changes FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.escape();
CREATE TRIGGER on_delete AFTER DELETE ON analytics_summary_changes FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.escape();
"""
EVENT = "INSERT INTO analytics_events (user_id, event_type, event_category, occurred_at) VALUES (%s, 'login', 'engagement', now())"


@pytest.fixture
def loaded(db_url: str) -> str:
    with psycopg.connect(db_url, autocommit=True) as conn:
        for suffix, user_id in SELLERS.items():
            conn.execute(DATA.format(u=user_id, s=suffix).encode())
    return db_url


@pytest.fixture
def app_conn(loaded: str) -> Iterator[Conn]:
    """The application as production connects: a login role in socialdb_app (no SET ROLE a
    superuser session could undo)."""
    with login_role(loaded, "socialdb_app") as (_, url), psycopg.connect(url, autocommit=True) as conn:
        yield conn


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TEMP TABLE analytics_summary_changes (user_id uuid, date date)",
        "CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "SELECT refresh_analytics_daily_summary()",
        "SELECT rebuild_analytics_daily_summary()",
        "LOCK TABLE analytics_summary_changes IN SHARE UPDATE EXCLUSIVE MODE",
        "LOCK TABLE analytics_daily_summary IN SHARE MODE",
        "LOCK TABLE analytics_daily_rollup IN ROW EXCLUSIVE MODE",
    ],
)
def test_the_application_cannot_take_the_first_step(app_conn: Conn, statement: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
        app_conn.execute(statement.encode())


def test_the_migrations_take_temporary_from_public_where_they_ran(databases: Any, template_name: str) -> None:
    """Checked on the database the migrations ran in (a copy does not inherit database privileges)."""
    with psycopg.connect(with_database(databases.server_url, template_name)) as conn:
        row = conn.execute(
            "SELECT has_database_privilege('socialdb_app', current_database(), 'TEMPORARY'),"
            " has_database_privilege('socialdb_app', current_database(), 'CONNECT'),"
            " (SELECT count(*) FROM pg_database d, aclexplode(d.datacl) a"
            "  WHERE d.datname = current_database() AND a.grantee = 0 AND a.privilege_type = 'TEMPORARY')"
        ).fetchone()
    assert row == (False, True, 0)


@pytest.fixture
def temp_granted_back(loaded: str) -> str:
    """A database whose TEMPORARY privilege came back (restored without its ACL, granted by
    mistake): the definer functions alone must still hold."""
    name = database_of(loaded)
    with psycopg.connect(loaded, autocommit=True) as admin:
        admin.execute(sql.SQL("GRANT TEMPORARY ON DATABASE {} TO socialdb_app").format(sql.Identifier(name)))
    return loaded


def test_a_shadow_table_never_reaches_the_owner(temp_granted_back: str) -> None:
    with psycopg.connect(temp_granted_back, autocommit=True) as conn:
        conn.execute("SET ROLE socialdb_app")
        conn.execute(SHADOW.encode())
        # Route 2: the app writes one of its own events; the change trigger runs as the owner.
        with seller(conn, SELLERS["a"]):
            conn.execute(EVENT, (SELLERS["a"],))
        # Route 1: the refresh, as maintenance would run it, in the session holding the shadow.
        conn.execute("RESET ROLE")
        conn.execute("SET ROLE socialdb_maintenance")
        conn.execute("SELECT refresh_analytics_daily_summary()")
        conn.execute("SELECT rebuild_analytics_daily_summary()")
        conn.execute("RESET ROLE")
        assert conn.execute("SELECT ran_as FROM pg_temp.escape_log").fetchall() == []
        assert conn.execute("SELECT count(*) FROM pg_temp.analytics_summary_changes").fetchone() == (0,)
        # The real change list saw the event, and the refresh consumed it.
        assert conn.execute("SELECT count(*) FROM public.analytics_summary_changes").fetchone() == (0,)
        summed = conn.execute(
            "SELECT sum(event_count) FROM analytics_daily_summary WHERE user_id = %s", (SELLERS["a"],)
        ).fetchone()
    assert summed == (3,)  # the fixture's two events and the app's one


@pytest.mark.parametrize("at", ["294276-12-31 23:00:00+00", "infinity", "-infinity", "1999-12-31 23:59:59+00"])
def test_one_sellers_event_cannot_stop_every_sellers_refresh(app_conn: Conn, loaded: str, at: str) -> None:
    """Found attacking 027: an event on the last day a timestamp holds broke every refresh (migration 028)."""
    with (
        pytest.raises(psycopg.errors.CheckViolation, match="analytics_events_occurred_at_range"),
        seller(app_conn, SELLERS["a"]),
    ):
        app_conn.execute(
            "INSERT INTO analytics_events (user_id, event_type, event_category, occurred_at)"
            " VALUES (app_user_id(), 'poison', 'sales', %s)",
            (at,),
        )
    with psycopg.connect(loaded, autocommit=True) as maintenance:
        maintenance.execute("SET ROLE socialdb_maintenance")
        maintenance.execute("SELECT refresh_analytics_daily_summary()")


def _definer_functions(conn: Conn) -> list[tuple[str, str, str, list[str] | None, str, bool]]:
    return conn.execute(  # type: ignore[return-value]
        "SELECT p.oid::regprocedure::text, l.lanname, p.prosrc, p.proconfig,"
        " pg_get_functiondef(p.oid), has_function_privilege('public', p.oid, 'EXECUTE')"
        " FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
        " WHERE p.prosecdef AND p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)"
        " ORDER BY 1"
    ).fetchall()


def test_every_definer_function_is_pinned_private_and_qualified(conn: Conn) -> None:
    functions = _definer_functions(conn)
    assert len(functions) >= 6  # the summary's four, sign-in, search: the test reads something
    public_names = {
        r[0] for r in conn.execute("SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace")
    }
    transition = {
        name
        for row in conn.execute("SELECT tgoldtable, tgnewtable FROM pg_trigger")
        for name in row
        if name is not None
    }
    for name, language, body, config, definition, public_may_run in functions:
        paths = [c for c in (config or []) if c.startswith("search_path=")]
        assert paths in ([PINNED], [PINNED_WITHOUT_PUBLIC]), name
        assert not public_may_run, f"{name} is executable by PUBLIC"
        unqualified = _unqualified_names(language, body, definition, public_names, transition)
        assert unqualified == set(), f"{name} names {sorted(unqualified)} without a schema"


def test_the_catalog_check_catches_an_unpinned_or_unqualified_function(conn: Conn) -> None:
    """The check above is only worth something if it fails on the kind of function 023 had."""
    conn.execute(
        "CREATE FUNCTION public.bad() RETURNS void LANGUAGE plpgsql SECURITY DEFINER"
        " SET search_path = pg_catalog, public AS $$ BEGIN DELETE FROM analytics_summary_changes;"
        " PERFORM refresh_analytics_daily_summary(); END $$"
    )
    _, language, body, config, definition, _ = next(f for f in _definer_functions(conn) if f[0] == "bad()")
    assert config == ["search_path=pg_catalog, public"]
    public_names = {"refresh_analytics_daily_summary"}
    assert _unqualified_names(language, body, definition, public_names, set()) == {
        "analytics_summary_changes",
        "refresh_analytics_daily_summary",
    }


def _unqualified_names(
    language: str, body: str, definition: str, functions: set[str], transition: set[str]
) -> set[str]:
    """Relations, and functions of ours, that a body names without a schema (CTEs and
    trigger transition tables excepted)."""
    if language == "sql":
        queries = [body]
    else:
        tree = pglast.parse_plpgsql(definition)
        queries = [_as_statement(q) for q in _values_of(tree, "query")]
    found: set[str] = set()
    for query in queries:
        parsed = json.loads(pglast.parser.parse_sql_json(query))
        ctes = set(_values_of(parsed, "ctename"))
        for node in _dicts(parsed):
            if "relname" in node and "schemaname" not in node and node["relname"] not in ctes | transition:
                found.add(node["relname"])
            if "funcname" in node and len(node["funcname"]) == 1:
                called = node["funcname"][0]["String"]["sval"]
                if called in functions:
                    found.add(called)
    return found


def _as_statement(query: str) -> str:
    try:
        pglast.parser.parse_sql_json(query)
        return query
    except pglast.parser.ParseError:
        return f"SELECT {query}"  # a PL/pgSQL expression (IF condition, RETURN value)


def _dicts(tree: Any) -> Iterator[dict[str, Any]]:
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from _dicts(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from _dicts(item)


def _values_of(tree: Any, key: str) -> list[str]:
    return [node[key] for node in _dicts(tree) if isinstance(node.get(key), str)]


@pytest.mark.parametrize("creator", ["socialdb_owner", MIGRATOR])  # MIGRATOR: the role that ran the migrations
def test_functions_created_later_are_private_by_default(conn: Conn, creator: str) -> None:
    # The schema is the database owner's (here the suite's superuser, who copied the template).
    conn.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(creator)))
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(creator)))
    conn.execute("CREATE FUNCTION public.later() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    conn.execute("RESET ROLE")
    row = conn.execute(
        "SELECT has_function_privilege('socialdb_app', 'public.later()', 'EXECUTE'),"
        " has_function_privilege('public', 'public.later()', 'EXECUTE')"
    ).fetchone()
    assert row == (False, False)


def test_the_application_cannot_stall_the_refresh(loaded: str) -> None:
    """Holding the advisory lock the refresh used before 027 no longer blocks it: the refresh
    finishes (within a timeout that would fail it) and consumes the changes."""
    with (
        login_role(loaded, "socialdb_app") as (_, app_url),
        login_role(loaded, "socialdb_maintenance") as (_, maintenance_url),
        psycopg.connect(app_url) as app,
        psycopg.connect(maintenance_url, autocommit=True) as maintenance,
    ):
        app.execute("SELECT pg_advisory_xact_lock('public.analytics_summary_changes'::regclass::oid::bigint)")
        maintenance.execute("SET statement_timeout = '20s'")  # a stall fails the test instead of hanging it
        maintenance.execute("SELECT refresh_analytics_daily_summary()")
        app.rollback()
    with psycopg.connect(loaded) as owner:
        assert owner.execute("SELECT count(*) FROM analytics_summary_changes").fetchone() == (0,)


def test_refreshes_still_take_turns(loaded: str) -> None:
    with psycopg.connect(loaded) as first, psycopg.connect(loaded, autocommit=True) as second:
        first.execute("SET ROLE socialdb_maintenance")
        first.execute("SELECT refresh_analytics_daily_summary()")  # its transaction stays open
        second.execute("SET ROLE socialdb_maintenance")
        second.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            second.execute("SELECT refresh_analytics_daily_summary()")
        first.rollback()


@pytest.mark.parametrize("task", ["refresh", "rebuild"])
def test_summary_commands_run_as_maintenance_not_as_the_application(loaded: str, task: str) -> None:
    for member_of, code in (("socialdb_maintenance", 0), ("socialdb_app", 1)):
        with login_role(loaded, member_of) as (_, url):
            result = CliRunner().invoke(cli, ["summary", task, "--database-url", url], env={"DATABASE_URL": ""})
        assert result.exit_code == code, result.output
        if code:
            assert result.stderr.strip().splitlines() == [
                f"error: permission denied for function {task}_analytics_daily_summary"
            ]
        else:
            assert result.stdout.startswith(f"summary {task[:-1]}")  # refreshed, rebuilt


# --- limits -----------------------------------------------------------------------------------

MANY = [
    "INSERT INTO conversations (client_account_id, user_id, platform_conversation_id, participant_platform_id,"
    " last_message_at) SELECT md5('acct-a')::uuid, %(u)s, 'bulk-' || n, 'p-' || n, now() - n * interval '1 second'"
    " FROM generate_series(1, 260) n",
    "INSERT INTO messages (conversation_id, user_id, platform_message_id, sender_type, sent_at)"
    " SELECT md5('conv-a')::uuid, %(u)s, 'bulk-' || n, 'customer', now() - n * interval '1 second'"
    " FROM generate_series(1, 260) n",
    "INSERT INTO products (user_id, name) SELECT %(u)s, 'Vestido ' || n FROM generate_series(1, 260) n",
]
CALLS = {
    "seller_inbox_page": "SELECT count(*) FROM seller_inbox_page(%(u)s, md5('acct-a')::uuid, %(n)s)",
    "seller_message_page": "SELECT count(*) FROM seller_message_page(%(u)s, md5('conv-a')::uuid, %(n)s)",
    "search_seller_products": "SELECT count(*) FROM search_seller_products('vestido', %(n)s)",
}


@pytest.fixture
def many(loaded: str, app_conn: Conn) -> Conn:
    with psycopg.connect(loaded, autocommit=True) as admin:
        for statement in MANY:
            admin.execute(statement.encode(), {"u": SELLERS["a"]})
    return app_conn


@pytest.mark.parametrize("function", CALLS)
def test_a_limit_is_capped_and_never_null(many: Conn, function: str) -> None:
    def rows(n: int | None) -> int:
        with seller(many, SELLERS["a"]):
            row = many.execute(CALLS[function], {"u": SELLERS["a"], "n": n}).fetchone()
        return int(row[0]) if row else -1

    assert rows(7) == 7
    assert rows(2_000_000_000) == 200
    for bad in (None, 0, -1):
        with pytest.raises(psycopg.errors.InvalidParameterValue, match=f"{function}: the limit must be at least 1"):
            rows(bad)


# --- the seller scope ---------------------------------------------------------------------------


def _acting_for(conn: Conn) -> Any:
    row = conn.execute("SELECT app_user_id()::text").fetchone()
    return row[0] if row else None


def test_a_nested_seller_block_ends_with_the_block(app_conn: Conn) -> None:
    with app_conn.transaction():
        with seller(app_conn, SELLERS["b"]):
            assert _acting_for(app_conn) == SELLERS["b"]
        assert _acting_for(app_conn) is None
        assert app_conn.execute("SELECT count(*) FROM products").fetchone() == (0,)
        with seller(app_conn, SELLERS["a"]):
            with seller(app_conn, SELLERS["b"]):
                assert _acting_for(app_conn) == SELLERS["b"]
            assert _acting_for(app_conn) == SELLERS["a"]
            with pytest.raises(ZeroDivisionError), seller(app_conn, SELLERS["b"]):
                raise ZeroDivisionError  # a failed block's savepoint is rolled back, its seller with it
            assert _acting_for(app_conn) == SELLERS["a"]
        assert _acting_for(app_conn) is None


def test_mark_read_in_one_statement_acts_for_the_seller_named_and_puts_back_the_one_it_found(app_conn: Conn) -> None:
    """seller_mark_read on one server (062, the library's mark_read): another seller named
    marks nothing of a's conversation, and the caller's seller comes back after the call."""
    conversation = "md5('conv-a')::uuid"
    unread = f"SELECT count(*) FROM messages WHERE conversation_id = {conversation} AND sender_type = 'customer' AND NOT is_read"
    with seller(app_conn, SELLERS["a"]):
        before = app_conn.execute(unread).fetchone()
        assert before is not None and before[0] > 0
        named_b = app_conn.execute(f"SELECT seller_mark_read(%s, {conversation})", (SELLERS["b"],)).fetchone()
        assert named_b == (0,)
        assert _acting_for(app_conn) == SELLERS["a"]
        assert app_conn.execute(unread).fetchone() == before
    named_a = app_conn.execute(f"SELECT seller_mark_read(%s, {conversation})", (SELLERS["a"],)).fetchone()
    assert named_a == before
    assert _acting_for(app_conn) is None
    with seller(app_conn, SELLERS["a"]):
        assert app_conn.execute(unread).fetchone() == (0,)
        counter = app_conn.execute(f"SELECT unread_count FROM conversations WHERE id = {conversation}").fetchone()
        assert counter == (0,)


@pytest.mark.parametrize(("reset", "next_sees"), [(clear_seller, None), (None, SELLERS["b"])])
def test_a_pooled_connection_carries_no_seller_to_the_next_request(loaded: str, reset: Any, next_sees: Any) -> None:
    """With `reset=clear_seller`, nothing of one request's seller reaches the next; without
    it, a session-wide set_config does (the reason the reset exists)."""
    with (
        login_role(loaded, "socialdb_app") as (_, url),
        ConnectionPool(url, min_size=1, max_size=1, reset=reset, open=True, timeout=10) as pool,
    ):
        with pool.connection(timeout=10) as conn:
            conn.execute("SELECT set_config('app.user_id', %s, false)", (SELLERS["b"],))  # a session-wide leak
            conn.commit()
            with seller(conn, SELLERS["a"]):
                pass
        with pool.connection(timeout=10) as conn:
            assert _acting_for(conn) == next_sees  # type: ignore[arg-type]
            visible = conn.execute("SELECT count(*) FROM oauth_tokens").fetchone()
            assert visible == ((0,) if next_sees is None else (1,))


# -- issue 22: what a request leaves on a pooled connection, and connections shared ------------

_LEAVE_BEHIND = [
    # (what request 1 does under seller A, what request 2 under seller B tries)
    ("DECLARE export CURSOR WITH HOLD FOR SELECT name FROM products", "FETCH ALL FROM export"),
    ("PREPARE peek AS SELECT name FROM products", "EXECUTE peek"),
]


def _open_pool(url: str, asynchronous: bool) -> Any:
    if asynchronous:
        return AsyncConnectionPool(url, min_size=1, max_size=1, reset=aclear_seller, open=False, timeout=10)
    return ConnectionPool(url, min_size=1, max_size=1, reset=clear_seller, open=True, timeout=10)


@pytest.mark.parametrize(("leave", "borrow"), _LEAVE_BEHIND)
def test_a_pooled_connection_keeps_no_cursor_or_statement_of_the_last_request(
    loaded: str, leave: str, borrow: str
) -> None:
    """A WITH HOLD cursor or a prepared statement made under seller A outlives A's transaction:
    the reset must close it, or the next borrower, under seller B, reads A's rows through it."""
    with login_role(loaded, "socialdb_app") as (_, url), _open_pool(url, False) as pool:
        with pool.connection(timeout=10) as conn, seller(conn, SELLERS["a"]):
            conn.execute(leave)
        refused = pytest.raises(psycopg.errors.Error, match="does not exist")
        with pool.connection(timeout=10) as conn, refused, seller(conn, SELLERS["b"]):
            conn.execute(borrow)


@pytest.mark.parametrize(("leave", "borrow"), _LEAVE_BEHIND)
def test_an_async_pooled_connection_keeps_nothing_of_the_last_request(loaded: str, leave: str, borrow: str) -> None:
    async def scenario(url: str) -> None:
        async with _open_pool(url, True) as pool:
            async with pool.connection(timeout=10) as conn, aseller(conn, SELLERS["a"]):
                await conn.execute(leave)
            async with pool.connection(timeout=10) as conn:
                assert await (await conn.execute("SELECT current_setting('app.user_id', true)")).fetchone() in [
                    (None,),
                    ("",),
                ]
                with pytest.raises(psycopg.errors.Error, match="does not exist"):
                    async with aseller(conn, SELLERS["b"]):
                        await conn.execute(borrow)

    with login_role(loaded, "socialdb_app") as (_, url):
        asyncio.run(asyncio.wait_for(scenario(url), 60))


def test_a_scope_refuses_a_connection_another_thread_holds(loaded: str) -> None:
    """Two threads on one connection, each in its own scope: the second is refused before it
    sets its seller, so the first one's reads stay its own."""
    inside, done = threading.Event(), threading.Event()
    seen: list[object] = []
    with login_role(loaded, "socialdb_app") as (_, url), psycopg.connect(url, autocommit=True) as conn:

        def first() -> None:
            with seller(conn, SELLERS["a"]):
                inside.set()
                assert done.wait(30)
                seen.append(_acting_for(conn))

        thread, errors = in_background(first, "seller-a")
        assert inside.wait(30)
        with pytest.raises(SellerScopeError, match="another thread or task"), seller(conn, SELLERS["b"]):
            pass
        done.set()
        join(thread)
        assert errors == [] and seen == [SELLERS["a"]]
        with seller(conn, SELLERS["b"]):  # free again once the first scope ended
            assert _acting_for(conn) == SELLERS["b"]


def test_threads_racing_for_one_connection_never_hold_it_together() -> None:
    """Eight threads released at once, 2,000 times, each trying to take the same connection: the
    guard has no lock of its own, so the claim must be one atomic step. At every moment at most
    one thread holds it, and whenever it was free one of the racers got it (a check-then-set in
    place of dict.setdefault fails here)."""
    conn = psycopg.Connection.__new__(psycopg.Connection)  # never connected: the guard only marks it
    racers, rounds = 8, 2000
    start = threading.Barrier(racers, timeout=30)
    holding, most, won = [0], [0], [0]
    count = threading.Lock()  # the test's own bookkeeping, not the guard's

    def race() -> None:
        for _ in range(rounds):
            start.wait()
            try:
                guard = tenant.hold(conn)
                guard.__enter__()
            except SellerScopeError:
                start.wait()
                continue
            with count:
                holding[0] += 1
                won[0] += 1
                most[0] = max(most[0], holding[0])
            start.wait()  # every racer has tried while this one held it
            with count:
                holding[0] -= 1
            guard.__exit__()

    threads = [threading.Thread(target=race, name=f"racer-{i}") for i in range(racers)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch between any two bytecodes: a check-then-set would lose
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        sys.setswitchinterval(switch)
    assert not any(thread.is_alive() for thread in threads)
    assert most[0] == 1 and won[0] == rounds


def test_a_scope_refuses_a_connection_another_task_holds(loaded: str) -> None:
    async def scenario(url: str) -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            inside, done = asyncio.Event(), asyncio.Event()

            async def first() -> object:
                async with aseller(conn, SELLERS["a"]):
                    inside.set()
                    await done.wait()
                    row = await (await conn.execute("SELECT current_setting('app.user_id', true)")).fetchone()
                    return row[0] if row else None

            task = asyncio.create_task(first())
            await inside.wait()
            with pytest.raises(SellerScopeError, match="another thread or task"):
                async with aseller(conn, SELLERS["b"]):
                    pass
            done.set()
            assert await task == str(SELLERS["a"])
            async with aseller(conn, SELLERS["a"]), aseller(conn, SELLERS["b"]):  # nesting in one task: allowed
                pass

    with login_role(loaded, "socialdb_app") as (_, url):
        asyncio.run(asyncio.wait_for(scenario(url), 60))


# -- issue 22: no seller makes another's messages vanish --------------------------------------


def _deliver(url: str, seller_id: str, account: uuid.UUID, content: str) -> bool:
    """One webhook delivery of message 'shared-id' (the id both sellers' platforms sent)."""
    message = IncomingMessage(
        account, "dm-1", "cust", "shared-id", "customer", datetime(2026, 3, 1, tzinfo=UTC), content
    )
    with psycopg.connect(url, autocommit=True) as conn, app_session.session(conn, seller_id) as s:
        return s.ingest_message(message)


def test_a_seller_cannot_make_another_sellers_message_vanish(loaded: str) -> None:
    """Seller A stores a message id first; seller B's own message with that id was dropped as a
    redelivery before 043-045. Each seller now keeps its own, and redeliveries stay redeliveries."""
    accounts = {s: uuid.UUID(hashlib.md5(f"acct-{s}".encode()).hexdigest()) for s in SELLERS}
    with login_role(loaded, "socialdb_app") as (_, url):
        assert _deliver(url, SELLERS["a"], accounts["a"], "from a")
        assert _deliver(url, SELLERS["b"], accounts["b"], "from b")
        assert not _deliver(url, SELLERS["b"], accounts["b"], "from b")
        batch = [IncomingMessage(accounts["b"], "dm-2", "cust", "m-a", "customer", datetime(2026, 3, 2, tzinfo=UTC))]
        with psycopg.connect(url, autocommit=True) as conn, app_session.session(conn, SELLERS["b"]) as s:
            assert s.ingest_batch(batch) == 1  # 'm-a' is seller a's id too (tests/sellers.py)
    with psycopg.connect(loaded) as admin:
        rows = admin.execute(
            "SELECT user_id::text, content FROM messages WHERE platform_message_id = 'shared-id' ORDER BY 1"
        ).fetchall()
    assert rows == [(SELLERS["a"], "from a"), (SELLERS["b"], "from b")]


def test_the_global_key_cannot_come_back_over_ids_held_twice(loaded: str) -> None:
    """Once two sellers hold one id, 045's rollback refuses, names the id and changes nothing."""
    accounts = {s: uuid.UUID(hashlib.md5(f"acct-{s}".encode()).hexdigest()) for s in SELLERS}
    with login_role(loaded, "socialdb_app") as (_, url):
        for suffix in SELLERS:
            assert _deliver(url, SELLERS[suffix], accounts[suffix], f"from {suffix}")
    before = _catalog_state(loaded)
    result = CliRunner().invoke(cli, ["migrate", "down", "--to", "43", "--database-url", loaded])
    assert result.exit_code == 1, result.output
    assert "cannot roll back 045: messages.platform_message_id held more than once" in result.output
    assert "'shared-id'" in result.output and "Traceback" not in result.output
    after = _catalog_state(loaded)
    assert after[0] >= 45 and after[1:] == before[1:]  # 045 still applied: the key per seller and both messages stay


def test_a_batch_on_another_sellers_account_tells_nothing_of_its_conversations(loaded: str) -> None:
    """Seller B batches messages on seller A's account: one to A's conversation 'c-a', one to a
    conversation id nobody has. Before the guard, the first stored nothing and returned 0 (the
    conversation's key met A's row) while the second failed A's account's foreign key: an
    oracle of A's conversations. Both are now refused alike, before anything is written."""
    account_a = uuid.UUID(hashlib.md5(b"acct-a").hexdigest())
    when = datetime(2026, 3, 2, tzinfo=UTC)
    refusals = []
    with login_role(loaded, "socialdb_app") as (_, url):
        for conversation in ("c-a", "never-seen"):
            batch = [IncomingMessage(account_a, conversation, "cust", f"probe-{conversation}", "customer", when)]
            with (
                psycopg.connect(url, autocommit=True) as conn,
                app_session.session(conn, SELLERS["b"]) as s,
                pytest.raises(AccountNotConnectedError) as refused,
            ):
                s.ingest_batch(batch)
            refusals.append((type(refused.value), refused.value.sqlstate, str(refused.value)))
        # The deprecated function answers alike (it runs the same check).
        with psycopg.connect(url) as conn, seller(conn, SELLERS["b"]), pytest.raises(AccountNotConnectedError):
            batch = [IncomingMessage(account_a, "c-a", "cust", "probe-old", "customer", when)]
            with pytest.warns(DeprecationWarning):
                operations.ingest_batch(conn, batch)
    assert refusals[0] == refusals[1]  # the same answer whether A has the conversation or not
    assert refusals[0][1] == "55000" and str(account_a) in refusals[0][2]
    assert issubclass(refusals[0][0], psycopg.errors.ObjectNotInPrerequisiteState)  # as one message's refusal
    with psycopg.connect(loaded) as admin:
        stored = admin.execute("SELECT count(*) FROM messages WHERE platform_message_id LIKE 'probe-%'").fetchone()
        opened = admin.execute("SELECT count(*) FROM conversations WHERE platform_conversation_id = 'never-seen'")
        assert stored == (0,) and opened.fetchone() == (0,)


def _catalog_state(url: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT max(version) FROM migrations),"
            " to_regclass('messages_seller_message_key') IS NOT NULL,"
            " to_regclass('messages_platform_message_id_key') IS NULL,"
            " (SELECT count(*) FROM messages WHERE platform_message_id = 'shared-id')"
        ).fetchone()
    assert row is not None
    return tuple(row)


# -- issue 22: nothing unbounded comes in -------------------------------------------------------


T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _stored(url: str, seller_id: uuid.UUID) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM messages WHERE user_id = %(s)s),"
            " (SELECT count(*) FROM conversations WHERE user_id = %(s)s)",
            {"s": seller_id},
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.fixture
def one_seller(db_url: str) -> tuple[str, uuid.UUID, uuid.UUID]:
    user, account = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(db_url, autocommit=True) as conn:
        add_seller(conn, user, account)
    return db_url, user, account


@pytest.mark.parametrize("size", [8193, 1_000_000])
def test_the_application_cannot_store_an_unbounded_message(
    one_seller: tuple[str, uuid.UUID, uuid.UUID], size: int
) -> None:
    """Called directly, past the library: the function's insert fails whole, conversation included."""
    url, user, account = one_seller
    params = ingest_parameters(user, IncomingMessage(account, "c1", "p1", "m1", "customer", T0, "ok"))
    with login_role(url, "socialdb_app") as (_, app_url), psycopg.connect(app_url, autocommit=True) as app:
        with pytest.raises(psycopg.errors.CheckViolation, match="chk_messages_platform_sizes"):
            app.execute(INGEST_STATEMENT, {**params, "content": "x" * size})
        assert _stored(url, user) == (0, 0)
        app.execute(INGEST_STATEMENT, {**params, "content": "x" * 8192})  # the bound itself is allowed
        assert _stored(url, user) == (1, 1)


def test_the_library_refuses_an_unbounded_field_before_sending_it(one_seller: tuple[str, uuid.UUID, uuid.UUID]) -> None:
    _, _, account = one_seller
    for field_name, limit in LIMITS.items():
        fields = {"content": "ok", "participant_username": "maria"} | {field_name: "x" * (limit + 1)}
        with pytest.raises(
            FieldLimitError, match=f"{field_name} has {limit + 1} characters, (at most|from 1 to) {limit}"
        ):
            IncomingMessage(
                account,
                fields.get("platform_conversation_id", "c1"),
                fields.get("participant_platform_id", "p1"),
                fields.get("platform_message_id", "m1"),
                "customer",
                T0,
                fields["content"],
                participant_username=fields["participant_username"],
            )


@settings(max_examples=300, deadline=None)
@given(
    lengths=st.fixed_dictionaries(
        {
            name: st.one_of(st.none(), st.sampled_from([0, 1, limit, limit + 1]), st.integers(0, limit + 2))
            for name, limit in LIMITS.items()
        }
    )
)
def test_a_message_is_refused_exactly_when_a_field_is_out_of_its_bound(lengths: dict[str, int | None]) -> None:
    """IncomingMessage checks the common case in one expression and names the field in a loop
    (decision 275): generated lengths on both sides of every bound, None for every field, and
    the one verdict both must give, read from LIMITS."""
    optional = {"participant_username", "content"}
    fields = {name: None if n is None else "x" * n for name, n in lengths.items()}
    wrong = [  # in LIMITS' order, the order in which the loop names them
        name
        for name, value in ((name, fields[name]) for name in LIMITS)
        if (value is None and name not in optional)
        or (value is not None and (len(value) > LIMITS[name] or (not value and name not in optional)))
    ]

    def make() -> IncomingMessage:
        return IncomingMessage(
            uuid.UUID(int=1), fields["platform_conversation_id"], fields["participant_platform_id"],  # type: ignore[arg-type]
            fields["platform_message_id"], "customer", T0, fields["content"],  # type: ignore[arg-type]
            participant_username=fields["participant_username"],
        )  # fmt: skip

    if wrong:
        with pytest.raises(FieldLimitError, match=f": {wrong[0]} has"):
            make()
    else:
        assert make().platform_message_id == fields["platform_message_id"]


# --- issue 22, gap 4: one seller dating an event far ahead kept maintenance failing -----------------------

FAR = datetime(2199, 12, 31, 12, tzinfo=UTC)  # 028's CHECK allows it; 047's trigger does not


def _upkeep(url: str) -> tuple[Any, Any]:
    """`socialdb maintain` as the migrating role and `socialdb summary refresh` as a
    socialdb_maintenance login, as cron runs them (the CLI's exit codes are the point)."""
    from tests.helpers import as_migrator

    upkeep = CliRunner().invoke(cli, ["maintain", "--database-url", as_migrator(url)])
    with login_role(url, "socialdb_maintenance") as (_, maintenance_url):
        summary = CliRunner().invoke(cli, ["summary", "refresh", "--database-url", maintenance_url])
    return upkeep, summary


def test_a_seller_cannot_date_an_event_far_ahead_and_upkeep_keeps_working(
    one_seller: tuple[str, uuid.UUID, uuid.UUID],
) -> None:
    """The adversary, a login role in socialdb_app under its seller's scope, records an event
    dated 2199-12. Before 047 it landed in the default partition and every `socialdb maintain`
    exited 1 until someone deleted it (following its advice meant ~2,080 partitions). Now the
    event is refused at the one boundary no role of the application's can lift, and upkeep
    goes on: maintain and the summary refresh exit 0, the seller's real events are counted."""
    from socialdb.app.operations import Event, record_events

    url, user, account = one_seller
    with login_role(url, "socialdb_app") as (_, app_url), psycopg.connect(app_url, autocommit=True) as app:
        with seller(app, user), pytest.raises(psycopg.errors.CheckViolation) as refused:
            record_events(app, [Event(user, account, "sale", "sales", FAR)])
        assert refused.value.diag.constraint_name == "analytics_events_not_far_ahead"
        assert "more than 1 day after now" in str(refused.value)
        with seller(app, user):  # the batch is one statement: a far event refuses it whole
            with pytest.raises(psycopg.errors.CheckViolation), app.transaction():
                record_events(app, [Event(user, account, "sale", "sales", T0), Event(user, None, "x", "sales", FAR)])
            assert record_events(app, [Event(user, account, "sale", "sales", T0)]) == 1
            # Nor by moving a stored event there, nor around the trigger.
            for statement in (
                "UPDATE analytics_events SET occurred_at = '2199-12-31 12:00+00'",
                "INSERT INTO analytics_events (user_id, event_type, event_category, occurred_at)"
                " SELECT public.app_user_id(), 'sale', 'sales', now() + interval '25 hours'",
            ):
                with pytest.raises(psycopg.errors.CheckViolation), app.transaction():
                    app.execute(statement.encode())
            for statement in (
                "SET session_replication_role = replica",
                "ALTER TABLE analytics_events DISABLE TRIGGER analytics_events_not_far_ahead",
                "ALTER TABLE analytics_events DISABLE TRIGGER ALL",
                "DROP TRIGGER analytics_events_not_far_ahead ON analytics_events",
                "INSERT INTO analytics_events_default (user_id, event_type, event_category, occurred_at)"
                f" VALUES ('{user}', 'sale', 'sales', '2199-12-31 12:00+00')",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege), app.transaction():
                    app.execute(statement.encode())
            # A clock a few hours fast is not refused (the margin is a day).
            app.execute("INSERT INTO analytics_events (user_id, event_type, event_category, occurred_at)"
                        " SELECT public.app_user_id(), 'sale', 'sales', now() + interval '14 hours'")  # fmt: skip
    upkeep, summary = _upkeep(url)
    assert (upkeep.exit_code, summary.exit_code) == (0, 0), (upkeep.output, summary.output)
    assert "warning" not in upkeep.output and "error" not in upkeep.output + summary.output
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM ONLY analytics_events_default").fetchone() == (0,)
        counted = conn.execute("SELECT sum(event_count) FROM analytics_daily_summary WHERE user_id = %s", (user,))
        assert counted.fetchone() == (2,)  # the event at T0 and the one 14 hours ahead; the mixed batch stored none


def test_a_far_event_stored_before_046_is_set_aside_and_reported_not_a_failure(
    one_seller: tuple[str, uuid.UUID, uuid.UUID],
) -> None:
    """The same event written before 047 (here: by the owner, its trigger off in its own
    transaction) stays in the default partition: maintain warns, naming its month, and exits
    0 (decision 161, superseding 89's exit 1); the summary refresh places its day (any day 028
    allows) and exits 0."""
    from tests.helpers import events_dated_freely

    url, user, account = one_seller
    with psycopg.connect(url, autocommit=True) as owner, events_dated_freely(owner):
        owner.execute(
            "INSERT INTO analytics_events (user_id, client_account_id, event_type, event_category, occurred_at)"
            " VALUES (%s, %s, 'sale', 'sales', %s), (%s, %s, 'sale', 'sales', '2199-12-31 23:59:59.999999+00')",
            (user, account, FAR, user, account),
        )
    upkeep, summary = _upkeep(url)
    assert (upkeep.exit_code, summary.exit_code) == (0, 0), (upkeep.output, summary.output)
    warnings = [line for line in upkeep.output.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: 2 event(s) left in analytics_events_default, of months no partition holds: 2199-12 (2):"
        " no partition will hold them (an event may be dated at most 1 day ahead since migration 047):"
        " correct or delete them"
    ]
    assert "summary refreshed" in summary.output
    with psycopg.connect(url) as conn:
        days = conn.execute("SELECT date::text, event_count FROM analytics_daily_summary WHERE user_id = %s", (user,))
        assert days.fetchall() == [("2199-12-31", 2)]
