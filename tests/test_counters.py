"""unread_count and last_message_at stay exact while eight writers ingest, read and delete
at once on the same conversations, through every write path the platform has: the
webhook function (which counts its message itself, migration 036), batches (counted by
the statement-level trigger), mark-read and deletes (issue 15)."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from socialdb.app import operations as ops
from socialdb.app.operations import IncomingMessage
from socialdb.app.tenant import seller
from socialdb.errors import MigrationFailed
from socialdb.migrate import runner
from tests.helpers import add_seller, join, login_role, wait_for

Conn = psycopg.Connection[Any]
SELLER = uuid.UUID("cccccccc-0000-4000-8000-00000000000c")
ACCOUNT = uuid.UUID("cccccccc-0000-4000-8000-0000000000ac")
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CONVERSATIONS = [f"c{n}" for n in range(5)]  # few, so that writers collide on them
WRITERS = 8
STEPS = 200

# Deletes: a random message, three at once, or a conversation's newest (the case that
# moves last_message_at back).
DELETES = [
    "DELETE FROM messages WHERE id = (SELECT id FROM messages ORDER BY random() LIMIT 1) AND %s::text IS NOT NULL",
    "DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY random() LIMIT 3) AND %s::text IS NOT NULL",
    "DELETE FROM messages WHERE id = (SELECT m.id FROM messages AS m JOIN conversations AS c"
    " ON c.id = m.conversation_id WHERE c.platform_conversation_id = %s ORDER BY m.sent_at DESC LIMIT 1)",
]

# The truth, recomputed from the messages, against the stored counters.
DRIFT = """
SELECT c.platform_conversation_id, c.unread_count, c.last_message_at, t.unread, t.newest
FROM conversations AS c
LEFT JOIN LATERAL (
  SELECT count(*) FILTER (WHERE m.sender_type = 'customer' AND NOT m.is_read) AS unread, max(m.sent_at) AS newest
  FROM messages AS m WHERE m.conversation_id = c.id
) AS t ON true
WHERE c.unread_count <> t.unread OR c.last_message_at IS DISTINCT FROM t.newest
"""


@pytest.fixture
def app_url(db_url: str) -> Iterator[str]:
    with psycopg.connect(db_url, autocommit=True) as admin:
        add_seller(admin, SELLER, ACCOUNT)
    yield db_url


def message(rng: random.Random, n: int) -> IncomingMessage:
    """A webhook message; one in five is a redelivery of an earlier id, some with a lying time."""
    name = f"m{rng.randrange(n)}" if n and rng.random() < 0.2 else f"m{uuid.uuid4().hex}"
    conversation = rng.choice(CONVERSATIONS)
    sent_at = T0 + timedelta(seconds=rng.randrange(100_000))
    sender = rng.choice(("customer", "customer", "user"))
    return IncomingMessage(ACCOUNT, conversation, "p-" + conversation, name, sender, sent_at)


def step(conn: Conn, rng: random.Random, n: int) -> None:
    """One random operation of the application's, as socialdb_app."""
    choice = rng.random()
    if choice < 0.4:
        ops.ingest_message(conn, SELLER, message(rng, n))
        return
    with seller(conn, SELLER):
        if choice < 0.6:
            ops.ingest_batch(conn, [message(rng, n) for _ in range(rng.randrange(1, 6))])
        elif choice < 0.8:
            row = conn.execute(
                "SELECT id FROM conversations WHERE platform_conversation_id = %s", (rng.choice(CONVERSATIONS),)
            ).fetchone()
            if row:
                ops.mark_read(conn, row[0])
        else:
            conn.execute(DELETES[min(int((choice - 0.8) * 12), 2)], (rng.choice(CONVERSATIONS),))


def writer(url: str, index: int, errors: list[BaseException], retried: list[str]) -> None:
    rng = random.Random(index)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET ROLE socialdb_app")
            for n in range(STEPS):
                attempt(lambda n=n: step(conn, rng, n), retried)  # type: ignore[misc]
    except BaseException as error:  # reported by the test
        errors.append(error)


def attempt(operation: Callable[[], None], retried: list[str]) -> None:
    """A deadlock between two writers is the server's to break and the caller's to retry;
    where it struck (the trigger or function, if any) is kept for the test."""
    for _ in range(20):
        try:
            operation()
            return
        except psycopg.errors.DeadlockDetected as error:
            retried.append(error.diag.context or "")
    raise AssertionError("20 deadlocks in a row")


def test_counters_stay_exact_under_eight_concurrent_writers(app_url: str) -> None:
    errors: list[BaseException] = []
    retried: list[str] = []
    threads = [
        threading.Thread(target=writer, args=(app_url, i, errors, retried), name=f"writer-{i}") for i in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        join(thread, 120)
    assert errors == []
    # Every writer of messages locks the messages, then their conversations in id order
    # (038): none of the triggers or the webhook function may take part in a deadlock. The
    # test's own deletes of random rows may still meet each other, rarely.
    ours = [where for where in retried if "PL/pgSQL function" in where]
    assert ours == [], f"{len(ours)} deadlocks in a trigger or function: {ours[:2]}"
    assert len(retried) <= 5, f"{len(retried)} deadlocks in {WRITERS * STEPS} operations"
    with psycopg.connect(app_url) as admin:
        counts = admin.execute("SELECT count(*), count(DISTINCT conversation_id) FROM messages").fetchone()
        drift = admin.execute(DRIFT).fetchall()
        unread = admin.execute("SELECT sum(unread_count) FROM conversations").fetchone()
    assert counts is not None and counts[0] > 50 and counts[1] == len(CONVERSATIONS)  # the mix really wrote
    assert unread is not None and unread[0] is not None
    assert drift == []


def test_a_delete_waiting_on_another_delete_recounts_from_what_is_left(app_url: str) -> None:
    """Two deletes in one conversation: the second waits for the first's lock on the
    conversation, then must recompute last_message_at from the messages left after the
    first committed, not from its own older snapshot (which still shows the first's row)."""
    times = {"old": T0, "middle": T0 + timedelta(hours=1), "newest": T0 + timedelta(hours=2)}
    with psycopg.connect(app_url, autocommit=True) as first, psycopg.connect(app_url, autocommit=True) as watcher:
        first.execute("SET ROLE socialdb_app")
        with seller(first, SELLER):
            ops.ingest_batch(
                first, [IncomingMessage(ACCOUNT, "c0", "p-c0", name, "customer", at) for name, at in times.items()]
            )
        errors: list[BaseException] = []

        def second() -> None:
            try:
                with psycopg.connect(app_url, autocommit=True) as conn:
                    conn.execute("SET ROLE socialdb_app")
                    with seller(conn, SELLER):
                        conn.execute("DELETE FROM messages WHERE platform_message_id = 'newest'")
            except BaseException as error:  # reported below
                errors.append(error)

        with seller(first, SELLER):  # one transaction: holds the conversation until it ends
            first.execute("DELETE FROM messages WHERE platform_message_id = 'middle'")
            thread = threading.Thread(target=second, name="second-delete")
            thread.start()
            wait_for(
                lambda: watcher.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone() == (1,),
                what="the second delete to wait for the first",
            )
        join(thread, 60)
        assert errors == []
        assert watcher.execute(DRIFT).fetchall() == []
        row = watcher.execute("SELECT unread_count, last_message_at FROM conversations").fetchone()
    assert row == (1, times["old"])


def test_a_redelivery_takes_its_count_back_even_when_it_lies_about_its_time(app_url: str) -> None:
    """A redelivery must move no counter, even with a later time. The same id in another
    conversation is that conversation's message (the key is the seller's conversation's since
    043-045, decision 117): counted there, and nothing moves in the first."""
    with psycopg.connect(app_url, autocommit=True) as conn:
        conn.execute("SET ROLE socialdb_app")
        first = IncomingMessage(ACCOUNT, "c0", "p-c0", "m1", "customer", T0)
        assert ops.ingest_message(conn, SELLER, first)
        assert ops.ingest_message(
            conn, SELLER, IncomingMessage(ACCOUNT, "c0", "p-c0", "m2", "user", T0 + timedelta(minutes=1))
        )
        later = IncomingMessage(ACCOUNT, "c0", "p-c0", "m1", "customer", T0 + timedelta(days=3))
        assert not ops.ingest_message(conn, SELLER, later)
        elsewhere = IncomingMessage(ACCOUNT, "c9", "p-c9", "m1", "customer", T0 + timedelta(days=4))
        assert ops.ingest_message(conn, SELLER, elsewhere)  # opens c9, with its own message
        with seller(conn, SELLER):
            rows = conn.execute(
                "SELECT platform_conversation_id, unread_count, last_message_at FROM conversations ORDER BY 1"
            ).fetchall()
            assert conn.execute(DRIFT).fetchall() == []
    assert rows == [("c0", 1, T0 + timedelta(minutes=1)), ("c9", 1, T0 + timedelta(days=4))]


def test_the_application_cannot_become_the_role_that_skips_the_count(app_url: str) -> None:
    """Only seller_ingest_message runs as socialdb_ingest; every other insert, the
    application's included, is counted by the trigger."""
    with login_role(app_url, "socialdb_app") as (_, url), psycopg.connect(url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SET ROLE socialdb_ingest")
        with seller(conn, SELLER):
            conversation = conn.execute(
                "INSERT INTO conversations (client_account_id, platform_conversation_id, participant_platform_id)"
                " VALUES (%s, 'c0', 'p') RETURNING id",
                (ACCOUNT,),
            ).fetchone()
            assert conversation is not None
            conn.execute(
                "INSERT INTO messages (conversation_id, platform_message_id, sender_type, sent_at)"
                " VALUES (%s, 'direct', 'customer', %s)",
                (conversation[0], T0),
            )
            assert conn.execute("SELECT unread_count, last_message_at FROM conversations").fetchone() == (1, T0)
        owner = conn.execute(
            "SELECT pg_get_userbyid(proowner), prosecdef FROM pg_proc WHERE proname = 'seller_ingest_message'"
        ).fetchone()
        members = conn.execute(
            "SELECT r.rolname FROM pg_auth_members AS a JOIN pg_roles AS r ON r.oid = a.member"
            " WHERE a.roleid = 'socialdb_ingest'::regrole AND r.rolname LIKE 'socialdb%%'"
        ).fetchall()
    assert owner == ("socialdb_ingest", True)
    assert members == []  # no socialdb role can act as it


def test_a_delete_does_not_wait_for_an_insert_that_only_checked_its_conversation(app_url: str) -> None:
    """An insert's foreign-key check holds KEY SHARE on its conversation until it commits. The
    delete's lock of the conversation (036) must not wait for it: FOR UPDATE did, and
    deadlocked with a transaction that had checked one conversation and then inserted into
    another being deleted from; FOR NO KEY UPDATE, the lock an UPDATE of the counters takes,
    does not (found in review)."""
    with psycopg.connect(app_url, autocommit=True) as setup:
        setup.execute("SET ROLE socialdb_app")
        with seller(setup, SELLER):
            ops.ingest_batch(setup, [IncomingMessage(ACCOUNT, "c0", "p-c0", "first", "customer", T0)])
            row = setup.execute("SELECT id FROM conversations").fetchone()
        assert row is not None
        with psycopg.connect(app_url) as inserter, psycopg.connect(app_url, autocommit=True) as deleter:
            inserter.execute("SET ROLE socialdb_app")
            inserter.execute("SELECT set_config('app.user_id', %s, true)", (str(SELLER),))
            # What the foreign-key check of a batch's earlier row takes, until the commit.
            inserter.execute("SELECT 1 FROM conversations WHERE id = %s FOR KEY SHARE", (row[0],))
            deleter.execute("SET ROLE socialdb_app")
            deleter.execute("SET lock_timeout = '5s'")  # waiting would fail the test, not hang it
            with seller(deleter, SELLER):
                deleted = deleter.execute("DELETE FROM messages WHERE platform_message_id = 'first'").rowcount
            inserter.execute(
                "INSERT INTO messages (conversation_id, platform_message_id, sender_type, sent_at)"
                " VALUES (%s, 'held', 'user', %s)",
                (row[0], T0 + timedelta(minutes=1)),
            )
            inserter.commit()
        with seller(setup, SELLER):
            assert setup.execute(DRIFT).fetchall() == []
            counters = setup.execute("SELECT unread_count, last_message_at FROM conversations").fetchone()
    assert deleted == 1 and counters == (0, T0 + timedelta(minutes=1))


@pytest.mark.parametrize("attribute", ["LOGIN", "BYPASSRLS"])
def test_a_socialdb_ingest_made_beforehand_with_more_rights_is_refused(db_url: str, attribute: str) -> None:
    """The function runs with socialdb_ingest's rights: 036 refuses a role of that name made
    beforehand with more than the application's (found in review)."""
    runner.down(db_url, to=35)  # back before 036
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute(f"ALTER ROLE socialdb_ingest {attribute}".encode())
        try:
            with pytest.raises(MigrationFailed, match="role socialdb_ingest exists with more than it needs"):
                runner.up(db_url)
        finally:
            admin.execute(f"ALTER ROLE socialdb_ingest NO{attribute}".encode())
    runner.up(db_url)  # as made by 036 again: applies
    with psycopg.connect(db_url) as admin:
        owner = admin.execute("SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'seller_ingest_message'")
        assert owner.fetchone() == ("socialdb_ingest",)


def _locked_conversation(conn: Conn, name: str) -> None:
    """Hold conversation `name`'s row lock, as a batch's or a delete's trigger does, in the
    transaction open on `conn`."""
    conn.execute("SELECT 1 FROM conversations WHERE platform_conversation_id = %s FOR NO KEY UPDATE", (name,))


def test_a_redelivery_locks_no_conversation(app_url: str) -> None:
    """The webhook function locks the conversation only after storing a new message (038). A
    redelivery waiting for a conversation held by a transaction that was itself about to
    wait for the redelivered message (a mark-read or delete of it) was the deadlock of 036."""
    with psycopg.connect(app_url, autocommit=True) as conn, psycopg.connect(app_url) as holder:
        conn.execute("SET ROLE socialdb_app")
        conn.execute("SET lock_timeout = '5s'")  # waiting would fail the test, not hang it
        stored = IncomingMessage(ACCOUNT, "c0", "p-c0", "m1", "customer", T0)
        assert ops.ingest_message(conn, SELLER, stored)
        _locked_conversation(holder, "c0")
        assert not ops.ingest_message(conn, SELLER, stored)
        assert not ops.ingest_message(conn, SELLER, IncomingMessage(ACCOUNT, "c0", "p-c0", "m1", "user", T0))
        holder.rollback()
        assert conn.execute(DRIFT).fetchall() == []


def test_a_batch_locks_its_conversations_in_id_order(app_url: str) -> None:
    """Deletes lock their conversations in id order (036); a batch's trigger must too (038),
    whatever plan the server picks, or a batch and a delete sharing two conversations can each
    hold the one the other waits for. Held back at the highest id, the batch already holds
    every lower one."""
    names = [f"k{n:02}" for n in range(20)]
    with psycopg.connect(app_url, autocommit=True) as setup:
        setup.execute("SET ROLE socialdb_app")
        with seller(setup, SELLER):
            for n, name in enumerate(names, start=1):
                setup.execute(
                    "INSERT INTO conversations (id, client_account_id, platform_conversation_id, participant_platform_id)"
                    " VALUES (%s, %s, %s, 'p')",
                    (uuid.UUID(int=n * 7919), ACCOUNT, name),
                )
    errors: list[BaseException] = []

    def batch() -> None:
        try:
            with psycopg.connect(app_url, autocommit=True) as conn:
                conn.execute("SET ROLE socialdb_app")
                conn.execute("SET enable_sort = off")  # a plan whose join order is not the id order
                with seller(conn, SELLER):
                    ops.ingest_batch(conn, [IncomingMessage(ACCOUNT, c, "p", "n-" + c, "customer", T0) for c in names])
        except BaseException as error:  # reported below
            errors.append(error)

    with psycopg.connect(app_url) as holder, psycopg.connect(app_url, autocommit=True) as prober:
        _locked_conversation(holder, names[-1])
        thread = threading.Thread(target=batch, name="batch")
        thread.start()
        wait_for(
            lambda: prober.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone() == (1,),
            what="the batch to wait for the highest conversation",
        )
        free = []
        for name in names[:-1]:
            try:
                prober.execute(
                    "SELECT 1 FROM conversations WHERE platform_conversation_id = %s FOR NO KEY UPDATE NOWAIT", (name,)
                )
                free.append(name)
            except psycopg.errors.LockNotAvailable:
                pass
        holder.rollback()
        join(thread, 60)
    assert errors == []
    assert free == []  # every lower conversation was locked before the batch waited
    with psycopg.connect(app_url) as admin:
        assert admin.execute(DRIFT).fetchall() == []
        assert admin.execute("SELECT count(*) FROM messages").fetchone() == (len(names),)


def test_a_conversation_deleted_between_the_two_passes_is_not_refused_as_another_sellers(app_url: str) -> None:
    """Pass 1 finds no c1 (another transaction is creating it); its INSERT waits and does
    nothing when that commits; c1 is deleted before pass 2. The seller's own conversation
    must not be refused as another seller's (42501, found in review): pass 2 creates it
    afresh and the message is stored. The window is microseconds wide; a statement-level
    trigger that pauses the function's conversation INSERT (fault injection) widens it."""
    with psycopg.connect(app_url, autocommit=True) as admin:
        admin.execute(
            "CREATE FUNCTION review_pause() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF current_setting('review.pause', true) = 'on' THEN PERFORM pg_sleep(1); END IF;"
            " RETURN NULL; END $$"
        )
        admin.execute(
            "CREATE TRIGGER review_pause AFTER INSERT ON conversations FOR EACH STATEMENT EXECUTE FUNCTION review_pause()"
        )
    outcome: list[Any] = []

    def webhook() -> None:
        try:
            with psycopg.connect(app_url, autocommit=True) as conn:
                conn.execute("SET ROLE socialdb_app")
                conn.execute("SET review.pause = 'on'")
                outcome.append(
                    ops.ingest_message(conn, SELLER, IncomingMessage(ACCOUNT, "c1", "p-c1", "n1", "customer", T0))
                )
        except BaseException as error:  # reported below
            outcome.append(error)

    with psycopg.connect(app_url) as creator, psycopg.connect(app_url, autocommit=True) as deleter:
        creator.execute(
            "INSERT INTO conversations (client_account_id, platform_conversation_id, participant_platform_id, user_id)"
            " VALUES (%s, 'c1', 'p-c1', %s)",
            (ACCOUNT, SELLER),
        )
        thread = threading.Thread(target=webhook, name="webhook")
        thread.start()
        wait_for(
            lambda: deleter.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone() == (1,),
            what="pass 1's INSERT to wait for the creator",
        )
        creator.commit()  # pass 1's INSERT does nothing; the trigger then pauses it for 1 s
        deleter.execute("SELECT pg_sleep(0.2)")
        deleter.execute("DELETE FROM conversations WHERE platform_conversation_id = 'c1'")
        join(thread, 60)
    assert outcome == [True]
    with psycopg.connect(app_url) as admin:
        assert admin.execute(DRIFT).fetchall() == []
        assert admin.execute(
            "SELECT unread_count FROM conversations WHERE platform_conversation_id = 'c1'"
        ).fetchone() == (1,)
