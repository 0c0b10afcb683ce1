"""Every hot call of socialdb.app on a real Citus cluster (issue 26, item 3; migration 057,
decisions 230-234), as a login role in socialdb_app with row-level security in force.

A coordinator and two workers (tests/citus.py); the database is migrated as the migrator, given
two sellers' rows, and distributed by `socialdb citus distribute` (tests/citus.py
`distributed_database`), which delegates the seller-taking functions to their seller's node. Then, through `socialdb.app.session` (and the async twin):
ingest_message and ingest_batch store with exact counts and recognise redeliveries,
mark_read moves the counter exactly, search_products finds the seller's products, and
record_events stores the events and notes the summary's changes; each answers for its seller
only: another seller's conversation, account or product gives nothing or a refusal, as on one
server, and without a seller nothing is seen; deletes keep the counters exact. Last, eight
writers ingesting, marking read and deleting at once leave every unread_count equal to a recount.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from socialdb.app import aio, calls
from socialdb.app import operations as ops
from socialdb.app.inputs import IncomingMessage, NewEvent
from socialdb.app.refused import AccountNotConnectedError
from socialdb.app.session import session
from socialdb.app.tenant import seller
from socialdb.errors import NoSellerError
from tests import citus
from tests.citus import Cluster
from tests.helpers import join, login_role
from tests.sellers import SELLERS

A, B = uuid.UUID(SELLERS["a"]), uuid.UUID(SELLERS["b"])
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
# The functions `socialdb citus distribute` delegates to the node of their seller argument.
DELEGATED = {
    "seller_ingest_message",
    "seller_ingest_batch",
    "seller_mark_read",
    "seller_record_events",
    "seller_search_products",
}
# The truth, recomputed from the messages (joined on the seller too, as Citus joins co-located
# shards), against every conversation's counters, those without messages included.
DRIFT = """
SELECT c.id, c.unread_count, t.unread, c.last_message_at, t.newest
FROM conversations AS c
LEFT JOIN (SELECT m.conversation_id, m.user_id,
                  count(*) FILTER (WHERE m.sender_type = 'customer' AND NOT m.is_read) AS unread,
                  max(m.sent_at) AS newest
           FROM messages AS m GROUP BY 1, 2) AS t ON t.conversation_id = c.id AND t.user_id = c.user_id
WHERE c.unread_count <> coalesce(t.unread, 0) OR c.last_message_at IS DISTINCT FROM t.newest
"""


def _md5_uuid(text: str) -> uuid.UUID:
    """The ids tests/sellers.py gives its rows (`md5('...')::uuid`)."""
    return uuid.UUID(hashlib.md5(text.encode()).hexdigest())


ACCOUNT_A, ACCOUNT_B = _md5_uuid("acct-a"), _md5_uuid("acct-b")


@pytest.fixture(scope="module")
def cluster_url(citus_cluster: Cluster) -> str:
    """The superuser's URL of a socialdb database distributed by seller (4 shards)."""
    url, _ = citus.distributed_database(citus_cluster, "socialdb_calls")
    return url


@pytest.fixture(scope="module")
def app_url(cluster_url: str) -> Iterator[str]:
    with login_role(cluster_url, "socialdb_app") as (_, url):
        yield url


def _message(
    name: str, conversation: str = "c-new", sender: str = "customer", account: uuid.UUID = ACCOUNT_A, at: datetime = T0
) -> IncomingMessage:
    return IncomingMessage(account, conversation, "p-" + conversation, name, sender, at, content="olá")


def _counters(url: str, seller: uuid.UUID, conversation: str) -> tuple[Any, ...] | None:
    found = citus.rows(
        url,
        "SELECT unread_count, last_message_at FROM conversations WHERE user_id = %s AND platform_conversation_id = %s",
        (seller, conversation),
    )
    return found[0] if found else None


def test_the_seller_calls_are_delegated_to_the_sellers_node(cluster_url: str) -> None:
    found = citus.rows(
        cluster_url,
        "SELECT p.proname::text, d.distribution_argument_index, d.colocationid = (SELECT colocationid FROM"
        " pg_dist_partition WHERE logicalrelid = 'users'::regclass), coalesce(d.force_delegation, false)"
        " FROM pg_dist_object AS d"
        " JOIN pg_proc AS p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid WHERE p.proname = ANY (%s)",
        (list(DELEGATED),),
    )
    # The two SECURITY DEFINER functions (owned by NOLOGIN roles) are delegated inside transactions too.
    forced = {"seller_ingest_message", "seller_search_products"}
    assert sorted(found) == sorted((name, 0, True, name in forced) for name in DELEGATED)


def test_each_call_is_one_task_on_the_node_of_the_sellers_shards(cluster_url: str, app_url: str) -> None:
    """The library's statements on Citus, as it sends them (socialdb.app.calls), planned by the
    coordinator as one task on the worker that holds the seller's shards: the call runs there."""
    message = _message("plan-1", "c-plan")
    event = NewEvent(ACCOUNT_A, "view", "engagement", datetime.now(UTC))
    planned = [
        calls.ingest_message(A, message),
        calls.citus_ingest_batch(A, [message]),
        calls.mark_read(A, _md5_uuid("conv-a")),
        calls.search_products(A, "vestido", 5),
        calls.citus_record_events(A, [event]),
    ]
    node = citus.rows(
        cluster_url,
        "SELECT nodeport FROM citus_shards WHERE shardid = get_shard_id_for_distribution_column('users', %s)",
        (A,),
    )[0][0]
    with psycopg.connect(app_url, autocommit=True) as conn:
        for call in planned:
            ((statement, params),) = call.statements
            plan = "\n".join(row[0] for row in conn.execute(f"EXPLAIN (COSTS OFF) {statement}", params).fetchall())
            assert "Task Count: 1" in plan and f"port={node} " in plan, (statement, plan)


def test_ingest_message_stores_once_and_counts_on_the_cluster(cluster_url: str, app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as conn, session(conn, A) as s:
        assert s.ingest_message(_message("single-1", "c-single"))  # a first contact
        assert s.ingest_message(_message("single-2", "c-single", at=T0 + timedelta(minutes=1)))
        assert s.ingest_message(_message("single-3", "c-single", sender="user", at=T0 + timedelta(minutes=2)))
        assert not s.ingest_message(_message("single-1", "c-single", at=T0 + timedelta(days=3)))  # redelivered
    assert _counters(cluster_url, A, "c-single") == (2, T0 + timedelta(minutes=2))
    assert citus.rows(cluster_url, DRIFT) == []


def test_ingest_message_refuses_another_sellers_account_and_stores_nothing(cluster_url: str, app_url: str) -> None:
    before = citus.rows(cluster_url, "SELECT count(*) FROM messages")
    with (
        psycopg.connect(app_url, autocommit=True) as conn,
        session(conn, A) as s,
        pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="not a connected account"),
    ):
        s.ingest_message(_message("theirs-1", "c-b", account=ACCOUNT_B))
    assert citus.rows(cluster_url, "SELECT count(*) FROM messages") == before


def test_ingest_batch_counts_new_messages_exactly_and_skips_redeliveries(cluster_url: str, app_url: str) -> None:
    batch = [
        _message("batch-1", "c-batch"),
        _message("batch-2", "c-batch", at=T0 + timedelta(minutes=5)),
        _message("batch-3", "c-batch", sender="user", at=T0 + timedelta(minutes=6)),
        _message("batch-4", "c-batch-2"),
        _message("batch-1", "c-batch"),  # twice in one batch: stored once
    ]
    with psycopg.connect(app_url, autocommit=True) as conn, session(conn, A) as s:
        assert s.ingest_batch(batch) == 4
        assert s.ingest_batch(batch) == 0  # all redelivered
        assert s.ingest_batch([*batch, _message("batch-5", "c-batch", at=T0 + timedelta(minutes=9))]) == 1
    assert _counters(cluster_url, A, "c-batch") == (3, T0 + timedelta(minutes=9))
    assert _counters(cluster_url, A, "c-batch-2") == (1, T0)
    assert citus.rows(cluster_url, DRIFT) == []


def test_ingest_batch_naming_another_sellers_account_is_refused_whole(cluster_url: str, app_url: str) -> None:
    before = citus.rows(cluster_url, "SELECT count(*) FROM messages")
    with (
        psycopg.connect(app_url, autocommit=True) as conn,
        session(conn, A) as s,
        pytest.raises(AccountNotConnectedError, match=str(ACCOUNT_B)),
    ):
        s.ingest_batch([_message("mixed-1", "c-mixed"), _message("mixed-2", "c-b", account=ACCOUNT_B)])
    assert citus.rows(cluster_url, "SELECT count(*) FROM messages") == before
    assert _counters(cluster_url, A, "c-mixed") is None


def test_mark_read_is_exact_and_the_sellers_own(cluster_url: str, app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as conn:
        with session(conn, A) as s:
            s.ingest_batch([_message(f"read-{n}", "c-read", at=T0 + timedelta(minutes=n)) for n in range(3)])
            conversation = citus.rows(
                cluster_url,
                "SELECT id FROM conversations WHERE user_id = %s AND platform_conversation_id = 'c-read'",
                (A,),
            )[0][0]
            assert s.mark_read(_md5_uuid("conv-b")) == 0  # another seller's conversation: nothing
            assert s.mark_read(conversation) == 3
            assert s.mark_read(conversation) == 0
        with session(conn, B) as s:
            assert s.mark_read(conversation) == 0  # seller a's, seen from b
    assert _counters(cluster_url, A, "c-read")[0] == 0  # type: ignore[index]
    assert citus.rows(cluster_url, "SELECT unread_count FROM conversations WHERE id = %s", (_md5_uuid("conv-b"),)) == [
        (1,)
    ]
    assert citus.rows(cluster_url, DRIFT) == []


def test_search_finds_the_sellers_products_only(app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as conn:
        with session(conn, A) as s:
            assert [hit.id for hit in s.search_products("vestido")] == [_md5_uuid("prod-a")]
            assert [hit.id for hit in s.search_products("promocao")] == [_md5_uuid("prod-a")]  # accents ignored
            assert list(s.search_products("sapato")) == []
        with session(conn, B) as s:
            assert [hit.id for hit in s.search_products("vestido")] == [_md5_uuid("prod-b")]


def test_batches_of_five_thousand_store_every_value_as_sent(cluster_url: str, app_url: str) -> None:
    """5,000 messages and 5,000 events in one call each (057's batches grew with the square of
    the batch and ran out of memory here; 060, decision 273), values that need quoting included,
    from a session in another time zone."""
    tricky = ["it's", 'a "quote"', "back\\slash", "olá, 🙂", "$1", "'); DROP TABLE messages; --"]
    at = T0 + timedelta(microseconds=123457)
    batch = [
        IncomingMessage(ACCOUNT_A, f"c-big-{n % 7}", "p-big", f"big-{n}", "customer", at + timedelta(seconds=n),
                        content=tricky[n % len(tricky)])
        for n in range(5000)
    ]  # fmt: skip
    day = datetime.now(UTC).replace(microsecond=654321) - timedelta(hours=20)  # after the other tests' days
    events = [NewEvent(ACCOUNT_A if n % 2 else None, "view", "engagement", day, Decimal(n) / 100) for n in range(5000)]
    with psycopg.connect(app_url, autocommit=True) as conn:
        conn.execute("SET timezone = 'Asia/Kolkata'")  # a session in another zone: the values land as sent
        with session(conn, A) as s:
            assert s.ingest_batch(batch) == 5000
            assert s.record_events(events) == 5000
    stored = citus.rows(
        cluster_url,
        "SELECT platform_message_id, content, sent_at FROM messages WHERE user_id = %s AND platform_message_id LIKE 'big-%%'",
        (A,),
    )
    assert sorted(stored) == sorted((m.platform_message_id, m.content, m.sent_at) for m in batch)
    total = citus.rows(cluster_url, "SELECT count(*), sum(value) FROM analytics_events WHERE occurred_at = %s", (day,))
    assert total == [(5000, sum(e.value for e in events if e.value is not None))]
    assert citus.rows(cluster_url, DRIFT) == []


def test_record_events_stores_them_and_notes_the_summarys_changes(cluster_url: str, app_url: str) -> None:
    """Days before the fixture's own events (today), so that only these are counted."""
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    events = [
        NewEvent(ACCOUNT_A, "sale", "sales", first, Decimal("12.50")),
        NewEvent(None, "login", "engagement", first + timedelta(days=1)),
    ]
    with psycopg.connect(app_url, autocommit=True) as conn:
        with session(conn, A) as s:
            assert s.record_events(events) == 2
            assert s.record_events([]) == 0
        with session(conn, B) as s:
            assert s.record_events(events[1:]) == 1
    stored = citus.rows(
        cluster_url,
        "SELECT user_id, event_type, value FROM analytics_events WHERE occurred_at <= %s",
        (first + timedelta(days=1),),
    )
    assert sorted(stored, key=str) == sorted(
        [(A, "sale", Decimal("12.50")), (A, "login", None), (B, "login", None)], key=str
    )
    # The statement trigger noted each (seller, UTC day) on the node of its shard.
    days = [(first + timedelta(days=n)).astimezone(UTC).date() for n in (0, 1)]
    noted = citus.rows(
        cluster_url, "SELECT DISTINCT user_id, date FROM analytics_summary_changes WHERE date <= %s", (days[1],)
    )
    assert set(noted) == {(A, days[0]), (A, days[1]), (B, days[1])}


def test_an_event_for_another_sellers_account_is_refused(app_url: str) -> None:
    with (
        psycopg.connect(app_url, autocommit=True) as conn,
        session(conn, A) as s,
        pytest.raises(psycopg.errors.ForeignKeyViolation),
    ):
        s.record_events([NewEvent(ACCOUNT_B, "sale", "sales", datetime.now(UTC))])


def test_the_async_session_takes_the_same_statements(cluster_url: str, app_url: str) -> None:
    async def calls() -> tuple[Any, ...]:
        async with (
            await psycopg.AsyncConnection.connect(app_url, autocommit=True) as conn,
            aio.session(conn, B) as s,
        ):
            new = await s.ingest_message(_message("async-1", "c-async", account=ACCOUNT_B))
            batch = await s.ingest_batch([_message(f"async-{n}", "c-async", account=ACCOUNT_B) for n in (1, 2, 3)])
            page = await s.inbox_page(ACCOUNT_B, limit=200)
            conversation = next(row.id for row in page if row.platform_conversation_id == "c-async")
            read = await s.mark_read(conversation)
            hits = [hit.id for hit in await s.search_products("vestido")]
            events = await s.record_events([NewEvent(ACCOUNT_B, "view", "engagement", datetime.now(UTC))])
            return new, batch, read, hits, events

    assert asyncio.run(calls()) == (True, 2, 3, [_md5_uuid("prod-b")], 1)
    assert citus.rows(cluster_url, DRIFT) == []


def test_without_a_seller_nothing_is_seen_or_done(app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as conn:
        with pytest.raises(NoSellerError):
            ops.mark_read(conn, _md5_uuid("conv-a"))
        with pytest.raises(NoSellerError):
            ops.search_products(conn, "vestido")
        # A null seller is refused by each function, but not sent here: Citus 13.2.2 crashes the
        # coordinator's backend planning the delegation of a call whose seller is a null constant
        # (decision 234).
        assert conn.execute("SELECT count(*) FROM messages").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM analytics_events").fetchone() == (0,)


def test_calls_inside_an_atomic_block_run_on_the_cluster(cluster_url: str, app_url: str) -> None:
    """In a transaction Citus delegates only a forced function: the invoker ones run on the
    coordinator, each statement naming the seller; the two definers, owned by roles that may
    not log in to a worker, are delegated (`force_delegation`), so that they open no connection.
    More than psycopg's five executions before it prepares: a prepared call delegates too."""
    for round_ in range(7):
        with psycopg.connect(app_url, autocommit=True) as conn, session(conn, A) as s, s.atomic():
            assert s.ingest_message(_message(f"atomic-{round_}", "c-atomic"))
            assert (
                s.ingest_batch([_message(f"atomic-{round_}b", "c-atomic"), _message(f"atomic-{round_}", "c-atomic")])
                == 1
            )
            found = [row.id for row in s.inbox_page(ACCOUNT_A, limit=200) if row.platform_conversation_id == "c-atomic"]
            assert s.mark_read(found[0]) == 2
            assert [hit.id for hit in s.search_products("vestido")] == [_md5_uuid("prod-a")]
            assert s.record_events([NewEvent(ACCOUNT_A, "click", "engagement", datetime.now(UTC))]) == 1
            assert not s.ingest_message(_message(f"atomic-{round_}b", "c-atomic"))  # stored by the batch
    assert _counters(cluster_url, A, "c-atomic")[0] == 0  # type: ignore[index]
    assert citus.rows(cluster_url, DRIFT) == []


def test_deleting_messages_and_a_conversation_keeps_the_counters_exact(cluster_url: str, app_url: str) -> None:
    """Deletes (a seller's own statements, and the cascade of a conversation's) fire the delete
    trigger on the shard's node: the count and last_message_at fall back exactly."""
    with psycopg.connect(app_url, autocommit=True) as conn, session(conn, A) as s:
        s.ingest_batch([_message(f"del-{n}", "c-del", at=T0 + timedelta(minutes=n)) for n in range(3)])
        s.ingest_batch([_message("gone-1", "c-gone")])
        with s.atomic():  # a seller scope: row-level security confines the deletes
            conn.execute("DELETE FROM messages WHERE user_id = %s AND platform_message_id = 'del-2'", (A,))
            conn.execute("DELETE FROM conversations WHERE user_id = %s AND platform_conversation_id = 'c-gone'", (A,))
            conn.execute("DELETE FROM messages WHERE platform_message_id = 'm-b'")  # another seller's: nothing
    assert _counters(cluster_url, A, "c-del") == (2, T0 + timedelta(minutes=1))
    assert _counters(cluster_url, A, "c-gone") is None
    assert citus.rows(cluster_url, "SELECT count(*) FROM messages WHERE platform_message_id = 'm-b'") == [(1,)]
    assert citus.rows(cluster_url, DRIFT) == []


# -- the counters under eight writers ---------------------------------------------------------

WRITERS = 8
STEPS = 50
MIX = [f"mix-{n}" for n in range(4)]  # few conversations, so that writers collide on them


NEWEST_DELETED = """
DELETE FROM messages WHERE user_id = %(seller)s AND id = (
  SELECT m.id FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id AND c.user_id = m.user_id
  WHERE m.user_id = %(seller)s AND c.platform_conversation_id = %(conversation)s
  ORDER BY m.sent_at DESC, m.id DESC LIMIT 1)
"""


def _random_message(rng: random.Random) -> IncomingMessage:
    """One in five is a redelivery of an id another writer may have stored."""
    name = f"mix-m{rng.randrange(30)}" if rng.random() < 0.2 else f"mix-m{uuid.uuid4().hex}"
    sender = rng.choice(("customer", "customer", "user"))
    return _message(name, rng.choice(MIX), sender, at=T0 + timedelta(seconds=rng.randrange(100_000)))


def _step(conn: psycopg.Connection[Any], rng: random.Random, conversations: dict[str, uuid.UUID]) -> None:
    with session(conn, A) as s:
        choice = rng.random()
        if choice < 0.4:
            s.ingest_message(_random_message(rng))
        elif choice < 0.7:
            s.ingest_batch([_random_message(rng) for _ in range(rng.randrange(1, 5))])
        elif choice < 0.9:
            if not conversations:
                rows = s.inbox_page(ACCOUNT_A, limit=200)
                conversations.update(
                    {r.platform_conversation_id: r.id for r in rows if r.platform_conversation_id in MIX}
                )
            target = conversations.get(rng.choice(MIX))
            if target is not None:
                s.mark_read(target)
            else:
                conversations.clear()
        else:  # the newest message of a conversation: the delete that moves last_message_at back
            with s.atomic():
                conn.execute(NEWEST_DELETED, {"seller": A, "conversation": rng.choice(MIX)})


def _writer(url: str, index: int, errors: list[BaseException], retried: list[str]) -> None:
    rng = random.Random(index)
    conversations: dict[str, uuid.UUID] = {}
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for _ in range(STEPS):
                _attempt(lambda: _step(conn, rng, conversations), retried)
    except BaseException as error:  # reported by the test
        errors.append(error)


def _attempt(operation: Callable[[], None], retried: list[str]) -> None:
    """A deadlock (Citus detects distributed ones too) is the caller's to retry."""
    for _ in range(20):
        try:
            operation()
            return
        except psycopg.errors.DeadlockDetected as error:
            retried.append(error.diag.context or str(error))
    raise AssertionError("20 deadlocks in a row")


def test_counters_stay_exact_under_eight_concurrent_writers_on_the_cluster(cluster_url: str, app_url: str) -> None:
    errors: list[BaseException] = []
    retried: list[str] = []
    threads = [
        threading.Thread(target=_writer, args=(app_url, i, errors, retried), name=f"w-{i}") for i in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        join(thread, 120)
    assert errors == []
    assert len(retried) <= 5, retried[:3]
    written = citus.rows(
        cluster_url,
        "SELECT count(*), count(DISTINCT conversation_id) FROM messages AS m JOIN conversations AS c"
        " ON c.id = m.conversation_id AND c.user_id = m.user_id WHERE c.platform_conversation_id LIKE 'mix-%%'",
    )
    assert written[0][0] > 40 and written[0][1] == len(MIX)  # the mix really wrote
    assert citus.rows(cluster_url, DRIFT) == []


def test_a_null_seller_is_refused_and_the_coordinator_stays_up(cluster_url: str, app_url: str) -> None:
    """The application role calls each delegated function with a NULL seller, as a literal and as
    a bound parameter, in autocommit and inside a transaction. On Citus 13.2.2 as released this
    crashed the coordinator's backend and put the whole server into recovery (citusdata/citus#7242);
    .ci/citus-build patches it (decision 250). The call may fail or answer nothing; the server
    must not restart, and another session must see it still up."""
    started = citus.rows(cluster_url, "SELECT pg_postmaster_start_time()")[0][0]
    calls_with_null: list[tuple[str, tuple[Any, ...]]] = [
        ("SELECT * FROM seller_inbox_page(NULL::uuid, %s, 20, NULL, NULL)", (ACCOUNT_A,)),
        ("SELECT * FROM seller_message_page(NULL::uuid, %s, 50, NULL, NULL)", (_md5_uuid("conv-a"),)),
        ("SELECT seller_mark_read(NULL::uuid, %s)", (_md5_uuid("conv-a"),)),
        ("SELECT * FROM seller_search_products(NULL::uuid, %s, 5)", ("vestido",)),  # force-delegated
    ]
    with psycopg.connect(app_url, autocommit=True) as conn:
        for statement, rest in calls_with_null:
            for text, params in ((statement, rest), (statement.replace("NULL::uuid", "%s::uuid", 1), (None, *rest))):
                for in_transaction in (False, True):
                    try:
                        with conn.transaction() if in_transaction else contextlib.nullcontext():
                            conn.execute(text.encode(), params).fetchall()
                    except psycopg.errors.Error as error:
                        assert not isinstance(error, psycopg.OperationalError), f"{text}: {error}"
    assert citus.rows(cluster_url, "SELECT pg_postmaster_start_time()")[0][0] == started


def test_mark_read_in_a_sellers_transaction_puts_that_seller_back_on_the_workers_too(app_url: str) -> None:
    """062's seller_mark_read named another seller inside seller a's transaction (allowed: the
    seller is the caller's to name). After it the transaction acts for a again on every node,
    as after 057's call (its SET LOCAL of the previous seller, which Citus sends to the workers)
    and 053's pages: the mirror of test_attacks' one-server test. Not invoker-delegated in a
    transaction, the function runs on the coordinator, so its SET LOCAL of b reaches the workers;
    062 puts a back with set_config(), which Citus sends nowhere."""
    with psycopg.connect(app_url, autocommit=True) as conn, seller(conn, A):

        def sellers_seen() -> set[uuid.UUID]:
            return {row[0] for row in conn.execute("SELECT user_id FROM conversations").fetchall()}

        assert sellers_seen() == {A}
        # A conversation of no one: nothing changes, but the UPDATE goes to b's shard.
        assert conn.execute("SELECT seller_mark_read(%s, %s)", (B, uuid.uuid4())).fetchone() == (0,)
        assert conn.execute("SELECT current_setting('app.user_id')").fetchone() == (str(A),)  # the coordinator
        assert sellers_seen() == {A}  # the workers, where row-level security reads it
