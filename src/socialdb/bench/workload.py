"""The measured operations, on the spec's schema and on ours, with the same data.

Ours runs as production does: the application role, a seller set per transaction, or
passed to the seller_* functions (migration 025) for the calls that are one statement.
The spec's schema has no roles or policies: it runs as the connecting user, and those
same calls are one plain statement each, in autocommit too.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from socialdb.app import operations as ops
from socialdb.app import session as library
from socialdb.app import statements
from socialdb.app.calls import MESSAGE_ARRAYS, arrays, ingest_parameters
from socialdb.app.inputs import IncomingMessage, NewEvent
from socialdb.bench.generate import CUSTOMER_SAYS, ITEMS, QUALITIES, START

Conn = psycopg.Connection[Any]

# The spec's schema has neither search_seller_products nor seller_daily_summary: these are
# the queries a developer would write against it (its search is not accent-insensitive).
SPEC_SEARCH = """
SELECT p.id, p.name, p.price, ts_rank(to_tsvector('portuguese', p.name), q) AS rank
FROM products AS p, websearch_to_tsquery('portuguese', %(query)s) AS q
WHERE p.user_id = %(user)s AND p.deleted_at IS NULL
  AND (to_tsvector('portuguese', p.name) @@ q OR to_tsvector('portuguese', p.description) @@ q)
ORDER BY rank DESC, p.id
LIMIT 20
"""
SPEC_DASHBOARD = """
SELECT date, event_category, sum(event_count)::bigint, sum(total_value)
FROM analytics_daily_summary
WHERE user_id = %(user)s AND date BETWEEN %(first)s AND %(last)s
GROUP BY date, event_category
ORDER BY date, event_category
"""
# Ours makes these calls through the functions of migration 025, which take the seller;
# on the spec's schema they are these plain statements. Both run as one statement in
# autocommit (see `timed`).
SPEC_INBOX = """
SELECT id, platform_conversation_id, participant_username, last_message_at, unread_count
FROM conversations
WHERE client_account_id = %(account)s AND status = 'open'
ORDER BY last_message_at DESC NULLS LAST, id DESC
LIMIT 20
"""
SPEC_MESSAGES = """
SELECT id, sender_type, message_type, content, sent_at, is_read
FROM messages
WHERE conversation_id = %(conversation)s
ORDER BY sent_at DESC, id DESC
LIMIT 50
"""
SPEC_INGEST = """
WITH conversation AS (
  INSERT INTO conversations (client_account_id, platform_conversation_id, participant_platform_id, participant_username)
  VALUES (%(account)s, %(conversation)s, %(participant)s, %(username)s)
  ON CONFLICT (client_account_id, platform_conversation_id)
  DO UPDATE SET participant_username = coalesce(EXCLUDED.participant_username, conversations.participant_username)
  RETURNING id
)
INSERT INTO messages (conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
SELECT conversation.id, %(message)s, %(sender)s, %(type)s, %(content)s, %(sent_at)s
FROM conversation
ON CONFLICT (platform_message_id) DO NOTHING
RETURNING id
"""
# The library's INGEST_CONVERSATIONS on the spec's key: the spec has no user_id (ours names the
# seller's key since 049-050, decision 191).
SPEC_INGEST_CONVERSATIONS = """
INSERT INTO conversations (client_account_id, platform_conversation_id, participant_platform_id, participant_username)
SELECT DISTINCT ON (account, conversation) account, conversation, participant, username
FROM unnest(%(accounts)s::uuid[], %(conversations)s::text[], %(participants)s::text[], %(usernames)s::text[])
  AS i (account, conversation, participant, username)
ORDER BY account, conversation
ON CONFLICT (client_account_id, platform_conversation_id) DO NOTHING
"""
SPEC_EVENTS_COPY = (
    "COPY analytics_events (user_id, client_account_id, event_type, event_category, value, occurred_at) FROM STDIN"
)


REFRESH = "refresh daily summary after new events"
REBUILD = "rebuild daily summary, every day"


def webhook_name(connections: int, share: float = 0.0) -> str:
    """The webhook cell's name; with a share of first contacts, that share in percent (issue 22)."""
    name = f"webhook ingest, {connections} connection{'s' if connections > 1 else ''}"
    return name + (f", {share:.0%} first contact" if share else "")


def batch_name(size: int) -> str:
    return f"batched ingest, {size:,} per batch"


def events_name(size: int) -> str:
    return f"record events (COPY), {size:,} per batch"


@dataclass(frozen=True)
class Measure:
    operation: str
    schema: str  # "spec" or "socialdb"
    calls: int
    rows: int
    seconds: float
    latencies_ms: list[float]
    round: int = 0  # the round it was measured in (from 1), 0 outside rounds

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(p) - 1]


@dataclass(frozen=True)
class Sample:
    """Ids drawn from the data (the same in both databases), skewed as the traffic is."""

    conversations: list[tuple[UUID, UUID, UUID]]  # (conversation, its account, its seller)
    sellers: list[UUID]


def sample(url: str, n: int = 2000, seed: int = 7) -> Sample:
    with psycopg.connect(url) as conn:
        conn.execute("SELECT setseed(%s)", (1 / seed,))
        rows = conn.execute(
            "SELECT c.id, c.client_account_id, c.user_id"
            " FROM messages m JOIN conversations c ON c.id = m.conversation_id ORDER BY random() LIMIT %s",
            (n,),
        ).fetchall()
    return Sample([(a, b, c) for a, b, c in rows], [row[2] for row in rows])


APP_ROLE = "socialdb_app"


class Session:
    """One connection acting for a seller per transaction (ours) or plainly (spec).

    Ours acts as `role`: socialdb_app, or a login role in it (on Citus, whose connections to the
    workers log in as the current role, which socialdb_app may not: `socialdb.bench.citus`)."""

    def __init__(self, url: str, schema: str, role: str = APP_ROLE) -> None:
        self.schema = schema
        # Prepared statements after 2 uses, as a long-lived application connection would.
        self.conn: Conn = psycopg.connect(url, autocommit=True, prepare_threshold=2)
        if schema == "socialdb":
            self.conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))

    def run(self, seller: UUID | None, action: Callable[[Any], Any]) -> Any:
        """Ours: the action on a library session of the seller's, which chooses its transaction.
        The spec's: in a transaction for a seller; with none, as one statement in autocommit."""
        if self.schema == "socialdb":
            assert seller is not None, "every call of ours names its seller"
            with library.session(self.conn, seller) as session:
                return action(session)
        if seller is None:
            return action(self.conn)
        with self.conn.transaction():
            return action(self.conn)

    def close(self) -> None:
        self.conn.close()


# A step draws one call: the seller to set around it in a transaction, or None for a call
# that is a single statement on its own (autocommit), as the seller_* functions are.
Step = Callable[[random.Random], tuple[UUID | None, Callable[[Any], Any]]]


def timed(operation: str, session: Session, seconds: float, step: Step, seed: int = 11) -> Measure:
    """Call `step`'s actions for `seconds` (each in a seller transaction, or alone); one row per call."""
    rng = random.Random(seed)
    latencies: list[float] = []
    total_rows = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        seller, action = step(rng)
        t0 = time.perf_counter()
        session.run(seller, action)
        latencies.append((time.perf_counter() - t0) * 1000)
        total_rows += 1
    return Measure(operation, session.schema, len(latencies), total_rows, time.perf_counter() - started, latencies)


READS = ("inbox page", "message page", "product search", "dashboard, 90 days", "mark conversation read")


def read(url: str, schema: str, s: Sample, seconds: float, operation: str, role: str = APP_ROLE) -> Measure:
    """One of READS for `seconds` on a connection of its own."""
    session = Session(url, schema, role)
    try:
        return timed(operation, session, seconds, _read_steps(schema, s)[operation])
    finally:
        session.close()


def reads(url: str, schema: str, s: Sample, seconds: float) -> list[Measure]:
    return [read(url, schema, s, seconds, operation) for operation in READS]


def _read_steps(schema: str, s: Sample) -> dict[str, Step]:
    ours = schema == "socialdb"
    words = ITEMS + QUALITIES

    def inbox(rng: random.Random) -> tuple[UUID | None, Callable[[Any], Any]]:
        _, account, seller = rng.choice(s.conversations)
        if ours:
            return seller, lambda s: s.inbox_page(account)
        return None, lambda c: c.execute(SPEC_INBOX, {"account": account}).fetchall()

    def messages(rng: random.Random) -> tuple[UUID | None, Callable[[Any], Any]]:
        conversation, _, seller = rng.choice(s.conversations)
        if ours:
            return seller, lambda s: s.message_page(conversation)
        return None, lambda c: c.execute(SPEC_MESSAGES, {"conversation": conversation}).fetchall()

    def search(rng: random.Random) -> tuple[UUID | None, Callable[[Any], Any]]:
        seller, word = rng.choice(s.sellers), rng.choice(words).split()[-1]
        if ours:
            return seller, lambda s: s.search_products(word)
        return seller, lambda c: c.execute(SPEC_SEARCH, {"user": seller, "query": word}).fetchall()

    def dashboard(rng: random.Random) -> tuple[UUID | None, Callable[[Any], Any]]:
        seller = rng.choice(s.sellers)
        first = (START + timedelta(days=rng.randrange(270))).date()
        last = first + timedelta(days=89)
        if ours:
            return seller, lambda s: s.dashboard(first, last)
        params = {"user": seller, "first": first, "last": last}
        return seller, lambda c: c.execute(SPEC_DASHBOARD, params).fetchall()

    def mark_read(rng: random.Random) -> tuple[UUID | None, Callable[[Any], Any]]:
        conversation, _, seller = rng.choice(s.conversations)
        if ours:
            return seller, lambda s: s.mark_read(conversation)
        # The same statement, outside a seller scope: the spec's schema has none.
        return seller, lambda c: c.execute(statements.MARK_READ, {"conversation": conversation}).rowcount

    return dict(zip(READS, (inbox, messages, search, dashboard, mark_read), strict=True))


def webhook_ingest(
    url: str,
    schema: str,
    s: Sample,
    seconds: float,
    connections: int,
    tag: str,
    share: float = 0.0,
    role: str = APP_ROLE,
) -> Measure:
    """One message per transaction; each connection writes to its own conversations.

    A `share` of the messages (0 to 1, drawn per message) open a conversation: a platform
    conversation id never seen, on the account of the conversation drawn (issue 22: a
    customer's first message creates the conversation). The rest go to the sampled
    conversations. Both schemas draw the same sequence (the same seed per connection)."""
    by_worker: list[list[tuple[UUID, UUID, UUID]]] = [[] for _ in range(connections)]
    seen: set[UUID] = set()
    for item in s.conversations:
        if item[0] not in seen:
            seen.add(item[0])
            by_worker[len(seen) % connections].append(item)
    platform_ids = platform_conversation_ids(url, [c for c, _, _ in s.conversations])
    results: list[Measure] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        session = Session(url, schema, role)
        mine = by_worker[index]
        counter = iter(range(10**9))

        def step(rng: random.Random) -> tuple[UUID | None, Callable[[Any], Any]]:
            conversation, account, seller = rng.choice(mine)
            n = next(counter)
            platform_id = f"fc-{tag}-{index}-{n}" if share and rng.random() < share else platform_ids[conversation]
            message = IncomingMessage(
                account, platform_id, "cliente", f"{tag}-{index}-{n}", "customer", datetime.now(UTC),
                rng.choice(CUSTOMER_SAYS),
            )  # fmt: skip
            if schema == "socialdb":
                return seller, lambda s: s.ingest_message(message)
            return None, lambda c: _spec_ingest(c, message)

        measure = timed("webhook ingest", session, seconds, step, seed=index)
        session.close()
        with lock:
            results.append(measure)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies = [ms for m in results for ms in m.latencies_ms]
    return Measure(webhook_name(connections, share), schema, len(latencies), len(latencies), elapsed, latencies)


def batch_ingest(url: str, schema: str, s: Sample, batches: int, size: int, tag: str, role: str = APP_ROLE) -> Measure:
    """The same batches on both schemas: `size` messages over the sampled conversations of one seller each."""
    session = Session(url, schema, role)
    platform_ids = platform_conversation_ids(url, [c for c, _, _ in s.conversations])
    rng = random.Random(5)
    latencies: list[float] = []
    rows = 0
    started = time.perf_counter()
    for b in range(batches):
        seller = rng.choice(s.sellers)
        theirs = [item for item in s.conversations if item[2] == seller]
        batch = [
            IncomingMessage(account, platform_ids[conversation], "cliente", f"{tag}-b{b}-{n}",
                                "customer" if n % 3 else "user", START + timedelta(seconds=n), "Oi!")
            for n, (conversation, account, _) in enumerate(rng.choice(theirs) for _ in range(size))
        ]  # fmt: skip
        t0 = time.perf_counter()
        rows += session.run(seller, lambda c, batch=batch: _ingest_batch(schema, c, batch))  # type: ignore[misc]
        latencies.append((time.perf_counter() - t0) * 1000)
    session.close()
    return Measure(batch_name(size), schema, batches, rows, time.perf_counter() - started, latencies)


def record_events(
    url: str, schema: str, s: Sample, batches: int, size: int, days_ago: int = 0, role: str = APP_ROLE
) -> Measure:
    """`batches` batches of `size` sales, `days_ago` days before now (a day of its own for each round, so that
    every round's refresh recomputes as many events)."""
    session = Session(url, schema, role)
    rng = random.Random(9)
    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(batches):
        _, account, seller = rng.choice(s.conversations)
        when = datetime.now(UTC) - timedelta(days=days_ago)
        t0 = time.perf_counter()
        if schema == "socialdb":
            events = [NewEvent(account, "sale", "sales", when, Decimal("49.90")) for _ in range(size)]
            session.run(seller, lambda s, events=events: s.record_events(events))  # type: ignore[misc]
        else:
            rows = [ops.Event(seller, account, "sale", "sales", when, Decimal("49.90")) for _ in range(size)]
            session.run(seller, lambda c, rows=rows: spec_copy_events(c, rows))  # type: ignore[misc]
        latencies.append((time.perf_counter() - t0) * 1000)
    session.close()
    return Measure(events_name(size), schema, batches, batches * size, time.perf_counter() - started, latencies)


def refresh(url: str, schema: str, s: Sample, every_day: bool = False) -> tuple[Measure, float]:
    """Refresh the summary while another session keeps reading it; returns the refresh and
    the slowest read seen meanwhile (ms). The spec's refresh recomputes every day always;
    ours recomputes the days with new events, or, with every_day, all of them."""
    stop = threading.Event()
    slowest = [0.0]

    def reader() -> None:
        session = Session(url, schema)
        rng = random.Random(3)
        query = "SELECT count(*) FROM " + (
            "seller_daily_summary" if schema == "socialdb" else "analytics_daily_summary WHERE user_id = %(user)s"
        )
        while not stop.is_set():
            seller = rng.choice(s.sellers)
            params = {"user": seller} if schema == "spec" else None
            t0 = time.perf_counter()
            session.run(seller, lambda c, params=params: _read(schema, c, query, params))  # type: ignore[misc]
            slowest[0] = max(slowest[0], (time.perf_counter() - t0) * 1000)
        session.close()

    thread = threading.Thread(target=reader)
    thread.start()
    rebuild = every_day and schema == "socialdb"
    statement = "SELECT rebuild_analytics_daily_summary()" if rebuild else "SELECT refresh_analytics_daily_summary()"
    with psycopg.connect(url, autocommit=True) as conn:
        t0 = time.perf_counter()
        conn.execute(statement)
        ms = (time.perf_counter() - t0) * 1000
    stop.set()
    thread.join()
    return Measure(REBUILD if every_day else REFRESH, schema, 1, 1, ms / 1000, [ms]), slowest[0]


def _read(schema: str, target: Any, query: str, params: dict[str, Any] | None) -> object:
    """A query of the benchmark's own: ours in the library session's seller transaction."""
    if schema == "socialdb":
        with target.atomic():
            return target.conn.execute(query.encode(), params).fetchall()
    return target.execute(query.encode(), params).fetchall()


def _ingest_batch(schema: str, target: Any, batch: list[IncomingMessage]) -> int:
    """Ours through the library's session; the spec's with the same two statements, plainly (the
    conversations' conflict target is the spec's key, which has no seller)."""
    if schema == "socialdb":
        return int(target.ingest_batch(batch))
    columns = arrays(batch, MESSAGE_ARRAYS)
    target.execute(SPEC_INGEST_CONVERSATIONS, columns)
    return int(target.execute(statements.INGEST_MESSAGES, columns).rowcount)


def _spec_ingest(conn: Conn, m: IncomingMessage) -> bool:
    # The spec's statement has no seller: psycopg leaves that parameter unused.
    return conn.execute(SPEC_INGEST, ingest_parameters(None, m)).fetchone() is not None


def spec_copy_events(conn: Conn, events: list[ops.Event]) -> int:
    with conn.cursor() as cur, cur.copy(SPEC_EVENTS_COPY) as copy:
        for e in events:
            copy.write_row((e.user_id, e.client_account_id, e.event_type, e.event_category, e.value, e.occurred_at))
    return len(events)


def platform_conversation_ids(url: str, ids: list[UUID]) -> dict[UUID, str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, platform_conversation_id FROM conversations WHERE id = ANY(%s)", (ids,))
        return dict(rows.fetchall())
