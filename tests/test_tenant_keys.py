"""The keys that name the seller (migrations 049-052, issue 26, decision 191).

The ten tenant tables' primary keys are (id, user_id), promoted from the (id, user_id) unique
indexes that the composite foreign keys reference; the global keys whose rule another key
ties to one seller gave way to per-seller ones, and ingest names the conversation's in
ON CONFLICT. tests/test_scaling_rules.py holds the rules against docs/scaling.md; this file
holds what the keys do: a duplicate is refused, the foreign keys point at the primary keys,
and concurrent first contacts of one conversation still store it once.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from socialdb.app.inputs import IncomingMessage
from socialdb.app.session import session
from socialdb.cli import app as cli
from tests.helpers import TENANT_TABLES, add_seller, join, login_role

Conn = psycopg.Connection[Any]

# The ten whose primary key became (id, user_id) in 052: analytics_events is keyed with its
# partition column since 034.
KEYED = tuple(t for t in TENANT_TABLES if t != "analytics_events")
SELLER = uuid.UUID("dddddddd-0000-4000-8000-00000000000d")
ACCOUNT = uuid.UUID("dddddddd-0000-4000-8000-0000000000ad")
OTHER = uuid.UUID("eeeeeeee-0000-4000-8000-00000000000e")
OTHER_ACCOUNT = uuid.UUID("eeeeeeee-0000-4000-8000-0000000000ae")
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WRITERS = 8
ROUNDS = 4


def test_the_tenant_primary_keys_are_id_and_seller(conn: Conn) -> None:
    keys = dict(
        conn.execute(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'p' AND conrelid = ANY (%s::regclass[])",
            (list(KEYED),),
        ).fetchall()
    )
    assert keys == dict.fromkeys(KEYED, "PRIMARY KEY (id, user_id)")
    # Every foreign key to these tables references the primary key's index, and no second
    # unique index on (id, user_id) is left beside it (015's were promoted, not copied).
    elsewhere = conn.execute(
        "SELECT k.conname, k.conindid::regclass::text FROM pg_constraint AS k"
        " WHERE k.contype = 'f' AND k.confrelid = ANY (%s::regclass[]) AND NOT k.conrelid IN"
        "   (SELECT inhrelid FROM pg_inherits)"
        "   AND k.conindid <> (SELECT p.conindid FROM pg_constraint AS p WHERE p.conrelid = k.confrelid AND p.contype = 'p')",
        (list(KEYED),),
    ).fetchall()
    assert elsewhere == []
    twins = conn.execute(
        "SELECT i.indexrelid::regclass::text FROM pg_index AS i"
        " WHERE i.indrelid = ANY (%s::regclass[]) AND i.indisunique AND NOT i.indisprimary"
        "   AND pg_get_indexdef(i.indexrelid) LIKE '%%(id, user_id)'",
        (list(KEYED),),
    ).fetchall()
    assert twins == []


def test_a_duplicate_id_is_refused_within_a_seller_only(conn: Conn) -> None:
    add_seller(conn, SELLER, ACCOUNT)
    add_seller(conn, OTHER, OTHER_ACCOUNT)
    insert = (
        "INSERT INTO conversations (id, user_id, client_account_id, platform_conversation_id, participant_platform_id)"
        " VALUES (%s, %s, %s, %s, 'p')"
    )
    same = uuid.uuid4()
    conn.execute(insert, (same, SELLER, ACCOUNT, "first"))
    with pytest.raises(psycopg.errors.UniqueViolation) as refused, conn.transaction():
        conn.execute(insert, (same, SELLER, ACCOUNT, "second"))
    assert refused.value.diag.constraint_name == "conversations_pkey"
    # The key is per seller, as a Citus shard can check it: another seller's row may carry the id.
    conn.execute(insert, (same, OTHER, OTHER_ACCOUNT, "first"))
    # The conversation's own key names the seller too, and still refuses a platform's
    # conversation stored twice in one account.
    with pytest.raises(psycopg.errors.UniqueViolation) as twice, conn.transaction():
        conn.execute(insert, (uuid.uuid4(), SELLER, ACCOUNT, "first"))
    assert twice.value.diag.constraint_name == "conversations_account_platform_key"


def _first_contacts(url: str, batch: bool, conversation: str) -> list[BaseException]:
    """WRITERS sessions of a login role in socialdb_app, each storing one message of the same new
    conversation at the same moment (single calls or batches)."""
    ready = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn, session(conn, SELLER) as s:
                message = IncomingMessage(
                    ACCOUNT,
                    conversation,
                    "p-" + conversation,
                    f"{conversation}-m{n}",
                    "customer",
                    T0 + timedelta(seconds=n),
                )
                ready.wait(timeout=30)
                if batch:
                    assert s.ingest_batch([message]) == 1
                else:
                    assert s.ingest_message(message)
        except BaseException as error:  # reported by the test
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,), name=f"first-contact-{n}") for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        join(thread)
    return errors


@pytest.mark.parametrize("batch", [False, True], ids=["ingest_message", "ingest_batch"])
def test_concurrent_first_contacts_store_one_conversation(db_url: str, batch: bool) -> None:
    with psycopg.connect(db_url, autocommit=True) as admin:
        add_seller(admin, SELLER, ACCOUNT)
    for round_ in range(ROUNDS):
        conversation = f"race-{round_}"
        with login_role(db_url, "socialdb_app") as (_, url):  # as a service logs in
            assert _first_contacts(url, batch, conversation) == []
        with psycopg.connect(db_url, autocommit=True) as admin:
            rows = admin.execute(
                "SELECT c.unread_count, c.last_message_at, (SELECT count(*) FROM messages AS m WHERE m.conversation_id = c.id)"
                " FROM conversations AS c WHERE c.client_account_id = %s AND c.platform_conversation_id = %s",
                (ACCOUNT, conversation),
            ).fetchall()
        assert rows == [(WRITERS, T0 + timedelta(seconds=WRITERS - 1), WRITERS)]


def test_ids_held_by_two_sellers_stop_052s_rollback_before_any_change(db_url: str) -> None:
    """Once the key is per seller, the application may store another seller's id: the (id)
    keys cannot come back over it. The rollback names the rows and changes nothing."""
    same = uuid.uuid4()
    with psycopg.connect(db_url, autocommit=True) as admin:
        add_seller(admin, SELLER, ACCOUNT)
        add_seller(admin, OTHER, OTHER_ACCOUNT)
        for seller in (SELLER, OTHER):
            admin.execute("INSERT INTO products (id, user_id, name, price) VALUES (%s, %s, 'p', 1)", (same, seller))
    result = CliRunner().invoke(cli, ["migrate", "down", "--to", "51", "--database-url", db_url])
    assert result.exit_code == 1, result.output
    assert f"cannot roll back 052: ids held by more than one seller: products {same}" in result.output
    assert "Traceback" not in result.output
    with psycopg.connect(db_url) as admin:
        # Later files roll back first; 052 refuses and stays applied, its keys unchanged.
        assert admin.execute("SELECT max(version) FROM migrations").fetchone() == (52,)
        keys = admin.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'products'::regclass AND contype = 'p'"
        ).fetchone()
        assert keys == ("PRIMARY KEY (id, user_id)",)
