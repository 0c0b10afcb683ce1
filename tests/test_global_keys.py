"""The rules across sellers without a unique key across sellers (migrations 054-056, decisions 220, 221).

A live email, a live connection of a platform account and a short link are each one seller's
across the platform. Since 056 no unique index of users, client_accounts or product_links
holds those rules (a Citus shard can only check a key with the seller in it): each lives in a
lookup table (user_emails, platform_accounts, short_links) whose primary key is the rule,
kept by a SECURITY DEFINER row trigger of the parent table in the writer's transaction.

Here, on one server, as a LOGIN role in socialdb_app (the application's way in): seller B
cannot take seller A's email, account or short link; two writers of one key at once, exactly
one wins and the other gets the library's error; the application role cannot reach the
lookups nor turn the triggers off; rows loaded in bulk fill the lookups (the bench's loader,
the seed); the library's lookups (sign_in_lookup, route_account) and calls (connect,
disconnect, reconnect, create_link) answer as before; 055 fills what was written before it;
and 056's rollback refuses, naming them, rows held twice.

On a Citus cluster (tests/citus.py, `distributed_database`), the lookups are reference tables
and the webhook route reads them; the writes they follow go through migration 059's functions
there, tested in tests/test_citus_lookups.py (decisions 260-263).
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from socialdb.app.session import route_account, session, sign_in_lookup
from socialdb.app.tenant import seller
from socialdb.bench import generate
from socialdb.errors import AccountTakenError, MigrationFailed
from socialdb.migrate import runner
from tests import citus
from tests.citus import Cluster
from tests.helpers import LOOKUP_TABLES, as_migrator, join, login_role, wait_for
from tests.sellers import SELLERS

Conn = psycopg.Connection[Any]

A = uuid.UUID("a1a1a1a1-0000-4000-8000-00000000000a")
B = uuid.UUID("b2b2b2b2-0000-4000-8000-00000000000b")
SIGN_UP = "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'h', 'Loja')"
WAIT = 30  # seconds: every wait has a deadline


@pytest.fixture
def app_url(db_url: str) -> Iterator[str]:
    with login_role(db_url, "socialdb_app") as (_, url):
        yield url


def _sign_up(conn: Conn, user: uuid.UUID, email: str) -> None:
    """A seller's sign-up as the application does it: its own row, in its own scope."""
    with seller(conn, user):
        conn.execute(SIGN_UP, (user, email))


def _product(conn: Conn, user: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """A product and a connected account of the seller's (as the application writes them)."""
    with session(conn, user) as s:
        product = s.create_product("Vestido").id
        account = s.connect_account("instagram", f"shop-{user}", "loja").id
    return product, account


def test_the_application_role_cannot_reach_the_lookups_nor_turn_their_triggers_off(app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as conn:
        for table in sorted(LOOKUP_TABLES):
            privileges = conn.execute(
                "SELECT has_table_privilege(%s, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')", (table,)
            ).fetchone()
            assert privileges == (False,), table
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"DELETE FROM {table}".encode())
        for function in ("keep_user_emails()", "keep_platform_accounts()", "keep_short_links()"):
            assert conn.execute("SELECT has_function_privilege(%s, 'EXECUTE')", (function,)).fetchone() == (False,)
        for table in ("users", "client_accounts", "product_links"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER".encode())
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SET session_replication_role = replica")


def test_seller_b_cannot_take_seller_as_live_email_in_any_case(app_url: str, conn: Conn) -> None:
    with psycopg.connect(app_url, autocommit=True) as app:
        _sign_up(app, A, "Ana@Example.com")
        with pytest.raises(psycopg.errors.UniqueViolation) as refused:
            _sign_up(app, B, "ana@EXAMPLE.com")
        assert refused.value.diag.constraint_name == "user_emails_pkey"
        assert sign_in_lookup(app, "ANA@example.com") is not None
        assert sign_in_lookup(app, "ana@example.com").user_id == A  # type: ignore[union-attr]
        # A changes its email: the old one is free, the new one A's.
        with seller(app, A):
            app.execute("UPDATE users SET email = 'ana.nova@example.com' WHERE id = %s", (A,))
        assert sign_in_lookup(app, "ana@example.com") is None
        _sign_up(app, B, "ana@example.com")
        assert sign_in_lookup(app, "Ana@Example.com").user_id == B  # type: ignore[union-attr]
        # B leaves (a soft delete): its email is free for anyone, and B's sign-in is gone.
        with seller(app, B):
            app.execute("UPDATE users SET deleted_at = now() WHERE id = %s", (B,))
        assert sign_in_lookup(app, "ana@example.com") is None
        with seller(app, A):
            app.execute("UPDATE users SET email = 'ANA@example.com' WHERE id = %s", (A,))
        assert sign_in_lookup(app, "ana@example.com").user_id == A  # type: ignore[union-attr]
    # B cannot come back with A's email: the lookup refuses the revival.
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("UPDATE users SET deleted_at = NULL WHERE id = %s", (B,))
    conn.rollback()
    assert conn.execute("SELECT email_key, user_id FROM user_emails ORDER BY 1").fetchall() == [("ana@example.com", A)]


def test_an_account_connected_by_one_seller_is_refused_to_another_until_disconnected(app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as app:
        _sign_up(app, A, "a@example.com")
        _sign_up(app, B, "b@example.com")
        with session(app, A) as s:
            first = s.connect_account("instagram", "17841", "loja_a")
        taken_by_a = "instagram account '17841' is connected by another seller"
        with pytest.raises(AccountTakenError, match=taken_by_a), session(app, B) as s:
            s.connect_account("instagram", "17841", "loja_b")
        route = route_account(app, "instagram", "17841")
        assert route is not None and (route.seller_id, route.account_id) == (A, first.id)
        with session(app, A) as s:
            assert s.connect_account("instagram", "17841", "loja_a").id == first.id  # again: the same row
            assert s.disconnect_account(first.id)
        assert route_account(app, "instagram", "17841") is None
        with session(app, B) as s:
            taken = s.connect_account("instagram", "17841", "loja_b")
        assert route_account(app, "instagram", "17841").seller_id == B  # type: ignore[union-attr]
        with pytest.raises(AccountTakenError), session(app, A) as s:  # A's reconnect: B has it now
            s.connect_account("instagram", "17841", "loja_a")
        with session(app, B) as s:
            assert s.disconnect_account(taken.id)
        with session(app, A) as s:
            again = s.connect_account("instagram", "17841", "loja_a")
        assert (again.id, again.reconnected) == (first.id, True)
        assert route_account(app, "instagram", "17841").account_id == first.id  # type: ignore[union-attr]


def test_a_short_link_is_used_once_across_sellers(app_url: str, conn: Conn) -> None:
    with psycopg.connect(app_url, autocommit=True) as app:
        _sign_up(app, A, "a@example.com")
        _sign_up(app, B, "b@example.com")
        product_a, account_a = _product(app, A)
        product_b, account_b = _product(app, B)
        with session(app, A) as s:
            link = s.create_link(product_a, account_a, "https://s.example/x1")
        with pytest.raises(psycopg.errors.UniqueViolation) as refused, session(app, B) as s:
            s.create_link(product_b, account_b, "https://s.example/x1")
        assert refused.value.diag.constraint_name == "short_links_pkey"
        with pytest.raises(psycopg.errors.UniqueViolation) as refused, session(app, A) as s:
            s.create_link(product_a, account_a, "https://s.example/x1")
        assert refused.value.diag.constraint_name == "product_links_seller_short_link_key"
        with session(app, B) as s:
            s.create_link(product_b, account_b, "https://s.example/x2")
    assert conn.execute("SELECT short_link, user_id, product_link_id FROM short_links ORDER BY 1").fetchall()[0] == (
        "https://s.example/x1",
        A,
        link,
    )
    conn.execute("DELETE FROM products WHERE user_id = %s", (A,))  # the link goes with it (cascade)
    assert conn.execute("SELECT short_link FROM short_links").fetchall() == [("https://s.example/x2",)]


# -- two writers of one key at once ---------------------------------------------------------------


# Whether the second writer (its backend pid) waits for a lock.
WAITS = "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s"


def _race(
    app_url: str,
    db_url: str,
    hold: Callable[[Conn], None],
    second: Callable[[Conn], None],
) -> BaseException:
    """`hold` writes a key and stays open; `second` writes the same key from another connection,
    waits for the first (a lock wait, seen in pg_stat_activity), and fails once the first commits."""
    outcome: list[BaseException] = []
    with psycopg.connect(app_url) as first, psycopg.connect(app_url, autocommit=True) as other:
        hold(first)
        pid = other.info.backend_pid

        def run() -> None:
            try:
                second(other)
            except BaseException as exc:  # handed to the test
                outcome.append(exc)

        thread = threading.Thread(target=run, name="second writer")
        thread.start()
        with psycopg.connect(db_url, autocommit=True) as watch:
            wait_for(
                lambda: watch.execute(WAITS, (pid,)).fetchone() == (True,),
                WAIT,
                "the second writer to wait for the first",
            )
        first.commit()
        join(thread, WAIT)
    assert len(outcome) == 1, "the second writer won too"
    return outcome[0]


def test_two_sign_ups_with_one_email_at_once_exactly_one_wins(app_url: str, db_url: str, conn: Conn) -> None:
    def hold(c: Conn) -> None:
        c.execute("SELECT set_config('app.user_id', %s, true)", (str(A),))
        c.execute(SIGN_UP, (A, "same@example.com"))

    loser = _race(app_url, db_url, hold, lambda c: _sign_up(c, B, "SAME@example.com"))
    assert isinstance(loser, psycopg.errors.UniqueViolation)
    assert conn.execute("SELECT id FROM users").fetchall() == [(A,)]
    assert conn.execute("SELECT email_key, user_id FROM user_emails").fetchall() == [("same@example.com", A)]


def test_two_connections_of_one_account_at_once_exactly_one_wins(app_url: str, db_url: str, conn: Conn) -> None:
    with psycopg.connect(app_url, autocommit=True) as app:
        _sign_up(app, A, "a@example.com")
        _sign_up(app, B, "b@example.com")

    def hold(c: Conn) -> None:
        c.execute("SELECT set_config('app.user_id', %s, true)", (str(A),))
        c.execute(
            "INSERT INTO client_accounts (platform, platform_account_id, username) VALUES ('whatsapp', '5511', 'a')"
        )

    def connect(c: Conn) -> None:
        with session(c, B) as s:
            s.connect_account("whatsapp", "5511", "b")

    loser = _race(app_url, db_url, hold, connect)
    assert isinstance(loser, AccountTakenError), loser
    assert conn.execute("SELECT user_id FROM client_accounts WHERE platform_account_id = '5511'").fetchall() == [(A,)]
    assert conn.execute("SELECT user_id FROM platform_accounts WHERE platform_account_id = '5511'").fetchall() == [(A,)]


def test_two_links_with_one_short_link_at_once_exactly_one_wins(app_url: str, db_url: str, conn: Conn) -> None:
    with psycopg.connect(app_url, autocommit=True) as app:
        _sign_up(app, A, "a@example.com")
        _sign_up(app, B, "b@example.com")
        product_a, account_a = _product(app, A)
        product_b, account_b = _product(app, B)

    def hold(c: Conn) -> None:
        c.execute("SELECT set_config('app.user_id', %s, true)", (str(A),))
        c.execute(
            "INSERT INTO product_links (product_id, client_account_id, short_link) VALUES (%s, %s, 'https://s.example/r')",
            (product_a, account_a),
        )

    def link(c: Conn) -> None:
        with session(c, B) as s:
            s.create_link(product_b, account_b, "https://s.example/r")

    loser = _race(app_url, db_url, hold, link)
    assert isinstance(loser, psycopg.errors.UniqueViolation) and loser.diag.constraint_name == "short_links_pkey"
    assert conn.execute("SELECT user_id FROM product_links").fetchall() == [(A,)]


# -- refresh tokens (decision 221) ----------------------------------------------------------------


def test_a_live_token_hash_is_unique_per_seller(conn: Conn) -> None:
    for user in (A, B):
        conn.execute(SIGN_UP, (user, f"{user}@example.com"))
    insert = "INSERT INTO refresh_tokens (user_id, token_hash, expires_at) VALUES (%s, 'h1', now() + interval '1 day')"
    conn.execute(insert, (A,))
    conn.execute(insert, (B,))  # across sellers: no longer checked (a hash of a 256-bit secret)
    with pytest.raises(psycopg.errors.UniqueViolation) as refused, conn.transaction():
        conn.execute(insert, (A,))
    assert refused.value.diag.constraint_name == "refresh_tokens_seller_token_hash_key"
    conn.execute("UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = %s", (A,))
    conn.execute(insert, (A,))  # a revoked token's hash does not count


# -- rows written in bulk, and before 054 ---------------------------------------------------------


def test_a_bulk_copy_fills_the_lookups_and_the_loader_fills_them_with_triggers_off(conn: Conn) -> None:
    with conn.cursor().copy("COPY users (id, email, password_hash, name) FROM STDIN") as copy:
        for n in range(50):
            copy.write_row((uuid.UUID(int=n + 1), f"Bulk{n}@Example.com", "h", "Loja"))
    assert conn.execute("SELECT count(*) FROM user_emails WHERE email_key LIKE 'bulk%'").fetchone() == (50,)
    # The bench's loader copies with the triggers off (session_replication_role = replica), then
    # writes what they would have written in one pass (generate._LOOKUPS).
    conn.execute("SET session_replication_role = replica")
    with conn.cursor().copy("COPY users (id, email, password_hash, name) FROM STDIN") as copy:
        for n in range(50, 80):
            copy.write_row((uuid.UUID(int=n + 1), f"bulk{n}@example.com", "h", "Loja"))
    with conn.cursor().copy(
        "COPY client_accounts (id, user_id, platform, platform_account_id, username) FROM STDIN"
    ) as copy:
        for n in range(30):
            copy.write_row((uuid.UUID(int=1000 + n), uuid.UUID(int=n + 51), "instagram", f"acct{n}", "loja"))
    conn.execute("SET session_replication_role = origin")
    conn.execute("DELETE FROM user_emails")  # as the loader finds them: it fills every lookup from scratch
    conn.execute(generate._LOOKUPS)
    assert conn.execute("SELECT count(*) FROM user_emails").fetchone() == (80,)
    assert conn.execute(
        "SELECT count(*) FROM platform_accounts AS p JOIN client_accounts AS a ON a.id = p.client_account_id"
        " AND a.user_id = p.user_id AND a.platform_account_id = p.platform_account_id"
    ).fetchone() == (30,)


def test_the_seed_fills_the_lookup_and_a_second_seed_adds_nothing(db_url: str, conn: Conn) -> None:
    from socialdb.app.seed import DEMO_EMAIL, seed

    assert seed(db_url, {}).users_created == 1
    assert seed(db_url, {}).users_created == 0
    assert conn.execute("SELECT email_key FROM user_emails").fetchall() == [(DEMO_EMAIL.lower(),)]


def test_055_fills_what_was_written_before_054(db_url: str, conn: Conn) -> None:
    runner.down(db_url, to=53)
    conn.execute(SIGN_UP, (A, "Old@Example.com"))
    conn.execute(SIGN_UP, (B, "gone@example.com"))
    conn.execute("UPDATE users SET deleted_at = now() WHERE id = %s", (B,))
    conn.execute(
        "INSERT INTO client_accounts (id, user_id, platform, platform_account_id, username)"
        " VALUES (%s, %s, 'instagram', 'old', 'o')",
        (B, A),
    )
    conn.execute("INSERT INTO products (id, user_id, name) VALUES (%s, %s, 'p')", (A, A))
    conn.execute(
        "INSERT INTO product_links (id, user_id, product_id, client_account_id, short_link) VALUES (%s, %s, %s, %s, 's')",
        (A, A, A, B),
    )
    runner.up(db_url)
    assert conn.execute("SELECT email_key, user_id FROM user_emails").fetchall() == [("old@example.com", A)]
    assert conn.execute("SELECT * FROM platform_accounts").fetchall() == [("instagram", "old", A, B)]
    assert conn.execute("SELECT * FROM short_links").fetchall() == [("s", A, A)]


def test_a_stale_lookup_row_signs_no_one_in(app_url: str, conn: Conn) -> None:
    """The lookup names the user; sign-in also checks that user's own email. A lookup row left
    stale (the triggers bypassed by an owner's bulk fix) must not sign the user in by an email
    that is no longer theirs."""
    conn.execute(SIGN_UP, (A, "now@example.com"))
    conn.execute("INSERT INTO user_emails (email_key, user_id) VALUES ('then@example.com', %s)", (A,))
    with psycopg.connect(app_url, autocommit=True) as app:
        assert sign_in_lookup(app, "then@example.com") is None
        assert sign_in_lookup(app, "now@example.com").user_id == A  # type: ignore[union-attr]


def test_055_fills_rows_that_share_an_id_across_a_batch_boundary(db_url: str, conn: Conn) -> None:
    """Since 052 an id is unique per seller only: seller B's account reuses the id that ends
    055's first batch of 1,000 of seller A's. Paged on id alone, the second batch started past
    that id and skipped B's row (056 then refused for ever); paged on (id, user_id) it is filled."""
    runner.down(db_url, to=53)
    conn.execute(SIGN_UP, (A, "a-boundary@example.com"))
    conn.execute(SIGN_UP, (B, "b-boundary@example.com"))
    conn.execute(
        "INSERT INTO client_accounts (id, user_id, platform, platform_account_id, username)"
        " SELECT ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid, %s, 'instagram', 'a' || g, 'a'"
        " FROM generate_series(1, 1000) AS g",
        (A,),
    )
    shared = uuid.UUID("00000000-0000-0000-0000-000000001000")  # the last of the first batch
    assert A < B  # so B's row sorts after A's among the two that share the id
    conn.execute(
        "INSERT INTO client_accounts (id, user_id, platform, platform_account_id, username)"
        " VALUES (%s, %s, 'instagram', 'b-shared', 'b')",
        (shared, B),
    )
    runner.up(db_url)
    assert conn.execute("SELECT count(*) FROM platform_accounts").fetchone() == (1001,)
    assert conn.execute("SELECT user_id FROM platform_accounts WHERE platform_account_id = 'b-shared'").fetchall() == [
        (B,)
    ]


def test_056s_rollback_refuses_in_one_line_naming_rows_held_twice(db_url: str, conn: Conn) -> None:
    conn.execute("SET session_replication_role = replica")  # only with the triggers off can a duplicate land
    conn.execute(SIGN_UP, (A, "twice@example.com"))
    conn.execute(SIGN_UP, (B, "TWICE@example.com"))
    conn.execute("SET session_replication_role = origin")
    with pytest.raises(MigrationFailed) as refused:
        runner.down(db_url, to=55)
    message = str(refused.value)
    assert len(message.splitlines()) == 1, message
    assert (
        "cannot roll back 056: the global keys would refuse rows held twice across sellers: email 'twice@example.com'"
        in message
    )
    assert conn.execute("SELECT max(version) FROM migrations").fetchone()[0] >= 56  # type: ignore[index]
    assert conn.execute("SELECT to_regclass('idx_users_email')").fetchone() == (None,)


# -- on a Citus cluster: the lookups are reference tables ------------------------------------------
# What runs there and what does not yet (docs/scaling.md, "Tested on a Citus cluster"): the
# webhook route reads the reference table on the coordinator; sign-in reads users as the
# NOLOGIN socialdb_owner (a connection to a worker, refused, until `socialdb citus logins`),
# and the lookups' triggers run on the workers' shards, where Citus refuses their write to a
# reference table ("cannot execute a distributed query from a query on a shard"): decision
# 220. Since 059 they only check there, and the writes go through four functions: tested in
# tests/test_citus_lookups.py (decisions 260-263).


@pytest.fixture(scope="module")
def cluster_url(citus_cluster: Cluster) -> str:
    url, _ = citus.distributed_database(citus_cluster, "socialdb_keys")
    return url


@pytest.fixture(scope="module")
def cluster_app_url(cluster_url: str) -> Iterator[str]:
    with login_role(cluster_url, "socialdb_app") as (_, url):
        yield url


def test_on_the_cluster_the_webhook_route_reads_the_reference_table(cluster_url: str, cluster_app_url: str) -> None:
    with psycopg.connect(cluster_url, autocommit=True) as admin:
        kind = admin.execute(
            "SELECT partmethod::text, repmodel::text FROM pg_dist_partition WHERE logicalrelid = 'platform_accounts'::regclass"
        ).fetchone()
    assert kind == ("n", "t")  # a reference table: a copy on every node
    with psycopg.connect(cluster_app_url, autocommit=True) as app:
        for suffix, user_id in SELLERS.items():
            route = route_account(app, "instagram", f"ig-{suffix}")
            expected = uuid.UUID(hashlib.md5(f"acct-{suffix}".encode()).hexdigest())
            assert route is not None and (str(route.seller_id), route.account_id) == (user_id, expected)
        assert route_account(app, "instagram", "nobody") is None
        assert route_account(app, "whatsapp", "ig-a") is None


def test_a_truncate_empties_the_lookups_so_their_keys_can_be_taken_again(db_url: str, app_url: str) -> None:
    """A TRUNCATE fires no row trigger: before 061 the lookups kept the keys, and the next sign-up,
    connection or link with one was refused as taken for ever (decision 274)."""
    first, again = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(app_url, autocommit=True) as app:
        _sign_up(app, first, "gone@example.com")
        with session(app, first) as s:
            product = s.create_product("Vestido").id
            account = s.connect_account("instagram", "gone-shop", "loja").id
            s.create_link(product, account, "https://s.example/gone")
    with psycopg.connect(as_migrator(db_url), autocommit=True) as owner:  # the tables' owner's member
        owner.execute("TRUNCATE users CASCADE")
        assert [owner.execute(f"SELECT count(*) FROM {t}").fetchone() for t in LOOKUP_TABLES] == [(0,)] * 3
    with psycopg.connect(app_url, autocommit=True) as app:
        _sign_up(app, again, "GONE@example.com")
        with session(app, again) as s:
            product = s.create_product("Vestido").id
            account = s.connect_account("instagram", "gone-shop", "loja").id
            s.create_link(product, account, "https://s.example/gone")
        assert sign_in_lookup(app, "gone@example.com") is not None
    with psycopg.connect(app_url, autocommit=True) as app, pytest.raises(psycopg.errors.InsufficientPrivilege):
        app.execute("TRUNCATE users CASCADE")  # the application may not, so nothing of this is its to use
