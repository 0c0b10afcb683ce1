"""The writes that the lookups of the rules across sellers follow, on a real Citus cluster
(issue 26; migration 059, decisions 260-263), as a login role in socialdb_app.

A coordinator and two workers (tests/citus.py `distributed_database`: migrated, two sellers'
rows, distributed), after `socialdb citus logins`' step (socialdb_owner may log in to the
nodes: the four functions write as it). Through socialdb.app: a sign-up, a connection, a
disconnection, a reconnection and a link work; another seller's email, account or short link
is refused with one server's error (the same 23505, constraint and AccountTakenError); a key
left by a soft delete is taken over, and the old holder's revival is then refused. The
application role cannot go around the functions: a plain INSERT of a user, an account or a
link is refused by the shard's trigger, naming the function; the lookups and the claims are
out of its reach; a sign-up under another id is refused. Two writers of one key at once:
the second waits for the first (a lock wait on the coordinator or a node), and exactly one
wins; so do a takeover and the old holder's revival by hand, in either order (decision 261).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from socialdb.app import aio, cluster
from socialdb.app.session import route_account, session, sign_in_lookup
from socialdb.app.tenant import seller
from socialdb.errors import AccountTakenError
from socialdb.migrate import citus_roles, runner
from tests import citus
from tests.citus import Cluster
from tests.helpers import LATEST, join, login_role, wait_for
from tests.sellers import SELLERS

pytestmark = pytest.mark.citus

Conn = psycopg.Connection[Any]
A, B = uuid.UUID(SELLERS["a"]), uuid.UUID(SELLERS["b"])
WAIT = 30  # seconds: every wait and join has a deadline
SCOPE = "SET LOCAL citus.propagate_set_commands = 'local'; SET LOCAL app.user_id = '{}'"


def _md5_uuid(text: str) -> uuid.UUID:
    """The ids tests/sellers.py gives its rows (`md5('...')::uuid`)."""
    return uuid.UUID(hashlib.md5(text.encode()).hexdigest())


PRODUCT_A, PRODUCT_B = _md5_uuid("prod-a"), _md5_uuid("prod-b")
ACCOUNT_A, ACCOUNT_B = _md5_uuid("acct-a"), _md5_uuid("acct-b")


@pytest.fixture(scope="module")
def cluster_url(citus_cluster: Cluster) -> Iterator[str]:
    """The superuser's URL of a distributed socialdb database, socialdb_owner able to log in
    (what `socialdb citus logins` does); put back as it was after the module."""
    url, _ = citus.distributed_database(citus_cluster, "socialdb_lookups")
    done = citus_roles.grant_node_logins(url)
    try:
        yield url
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            for role in done.logins:  # roles reach every node: the next module finds them as before
                admin.execute(f"ALTER ROLE {role} NOLOGIN".encode())


@pytest.fixture(scope="module")
def app_url(cluster_url: str) -> Iterator[str]:
    with login_role(cluster_url, "socialdb_app") as (_, url):
        yield url


def _new_user(app: Conn, email: str) -> uuid.UUID:
    user = uuid.uuid4()
    with session(app, user) as s:
        assert s.sign_up(email, "h", "Loja") == user
    return user


def test_sign_up_connect_disconnect_reconnect_and_link_work(cluster_url: str, app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as app:
        user = _new_user(app, "Nova@Example.com")
        found = sign_in_lookup(app, "nova@EXAMPLE.com")
        assert found is not None and found.user_id == user
        with session(app, user) as s:
            product = s.create_product("Vestido").id
            first = s.connect_account("instagram", "lk-1", "loja")
            assert (first.platform, first.platform_account_id, first.username, first.reconnected) == (
                "instagram",
                "lk-1",
                "loja",
                False,
            )
            assert s.connect_account("instagram", "lk-1", "loja").id == first.id  # again: the same row
            link = s.create_link(product, first.id, "https://s.example/lk-1")
            bare = s.create_link(product, first.id, None)  # type: ignore[arg-type]
            assert bare != link
        route = route_account(app, "instagram", "lk-1")
        assert route is not None and (route.seller_id, route.account_id) == (user, first.id)
        with session(app, user) as s:
            assert s.disconnect_account(first.id)
            assert not s.disconnect_account(first.id)  # once
        assert route_account(app, "instagram", "lk-1") is None
        with session(app, user) as s:
            again = s.connect_account("instagram", "lk-1", "loja2")
        assert (again.id, again.reconnected, again.username) == (first.id, True, "loja2")
        route = route_account(app, "instagram", "lk-1")
        assert route is not None and route.account_id == first.id
    # The lookups hold exactly the live rows: one each, for this seller.
    assert citus.rows(cluster_url, "SELECT user_id FROM user_emails WHERE email_key = 'nova@example.com'") == [(user,)]
    assert citus.rows(
        cluster_url, "SELECT user_id, client_account_id FROM platform_accounts WHERE platform_account_id = 'lk-1'"
    ) == [(user, first.id)]
    assert citus.rows(
        cluster_url, "SELECT user_id, product_link_id FROM short_links WHERE short_link LIKE '%lk-1'"
    ) == [(user, link)]


def test_the_async_session_takes_the_same_functions(cluster_url: str, app_url: str) -> None:
    user = uuid.uuid4()

    async def calls() -> tuple[Any, ...]:
        async with await psycopg.AsyncConnection.connect(app_url, autocommit=True) as conn:
            async with aio.session(conn, user) as s:
                signed = await s.sign_up("async@example.com", "h", "Loja")
                product = (await s.create_product("Saia")).id
                account = await s.connect_account("whatsapp", "lk-async", "loja")
                link = await s.create_link(product, account.id, "https://s.example/lk-async")
                gone = await s.disconnect_account(account.id)
                back = await s.connect_account("whatsapp", "lk-async", "loja")
            async with aio.session(conn, B) as s:
                try:
                    await s.connect_account("whatsapp", "lk-async", "loja_b")
                except AccountTakenError:
                    taken = True
                else:
                    taken = False
            return signed, account.id, link is not None, gone, (back.id, back.reconnected), taken

    signed, account, linked, gone, back, taken = asyncio.run(calls())
    assert (signed, linked, gone, back, taken) == (user, True, True, (account, True), True)
    assert citus.rows(cluster_url, "SELECT user_id FROM platform_accounts WHERE platform_account_id = 'lk-async'") == [
        (user,)
    ]


def test_another_sellers_key_is_refused_with_one_servers_error(app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as app:
        intruder = uuid.uuid4()
        with pytest.raises(psycopg.errors.UniqueViolation) as refused, session(app, intruder) as s:
            s.sign_up("SELLER-A@example.com", "h", "x")  # seller a's (tests/sellers.py), in another case
        assert refused.value.diag.constraint_name == "user_emails_pkey"
        assert str(refused.value).startswith('duplicate key value violates unique constraint "user_emails_pkey"')
        assert refused.value.diag.message_detail == "Key (email_key)=(seller-a@example.com) already exists."
        taken = "instagram account 'ig-a' is connected by another seller"
        with pytest.raises(AccountTakenError, match=taken), session(app, B) as s:
            s.connect_account("instagram", "ig-a", "loja_b")
        with pytest.raises(psycopg.errors.UniqueViolation) as refused, session(app, B) as s:
            s.create_link(PRODUCT_B, ACCOUNT_B, "https://s.example/a")  # seller a's
        assert refused.value.diag.constraint_name == "short_links_pkey"
        with pytest.raises(psycopg.errors.UniqueViolation) as refused, session(app, A) as s:
            s.create_link(PRODUCT_A, ACCOUNT_A, "https://s.example/a")  # its own, again
        assert refused.value.diag.constraint_name == "product_links_seller_short_link_key"
        route = route_account(app, "instagram", "ig-a")
        assert route is not None and route.seller_id == A


def test_a_key_left_by_a_soft_delete_is_taken_over_and_the_old_holders_revival_refused(
    cluster_url: str, app_url: str
) -> None:
    with psycopg.connect(app_url, autocommit=True) as app:
        leaving = _new_user(app, "leaving@example.com")
        with seller(app, leaving):  # a soft delete by hand: the shard cannot delete the lookup row
            app.execute("UPDATE users SET deleted_at = now() WHERE id = %s", (leaving,))
        assert sign_in_lookup(app, "leaving@example.com") is None
        newcomer = _new_user(app, "LEAVING@example.com")
        found = sign_in_lookup(app, "leaving@example.com")
        assert found is not None and found.user_id == newcomer
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="sign_up_user"), seller(app, leaving):
            app.execute("UPDATE users SET deleted_at = NULL WHERE id = %s", (leaving,))
    assert citus.rows(cluster_url, "SELECT user_id FROM user_emails WHERE email_key = 'leaving@example.com'") == [
        (newcomer,)
    ]
    # An account disconnected by hand: its lookup row stays, and another seller's connection takes it over.
    with psycopg.connect(app_url, autocommit=True) as app:
        with session(app, B) as s:
            left = s.connect_account("instagram", "lk-left", "loja_b").id
        with seller(app, B):
            app.execute("UPDATE client_accounts SET deleted_at = now() WHERE id = %s", (left,))
        with session(app, A) as s:
            took = s.connect_account("instagram", "lk-left", "loja_a")
        route = route_account(app, "instagram", "lk-left")
        assert route is not None and (route.seller_id, route.account_id) == (A, took.id)
        with pytest.raises(AccountTakenError), session(app, B) as s:  # B's reconnection: A has it now
            s.connect_account("instagram", "lk-left", "loja_b")


def test_the_application_role_cannot_go_around_the_functions(app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as app:
        stranger = uuid.uuid4()
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="sign_up_user"), seller(app, stranger):
            app.execute(
                "INSERT INTO users (id, email, password_hash, name) VALUES (%s, 'x@example.com', 'h', 'x')", (stranger,)
            )
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="connect_client_account"), seller(app, B):
            app.execute(
                "INSERT INTO client_accounts (platform, platform_account_id, username) VALUES ('instagram', 'skip', 'x')"
            )
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="create_product_link"), seller(app, B):
            app.execute(
                "INSERT INTO product_links (product_id, client_account_id, short_link) VALUES (%s, %s, 'https://s.example/skip')",
                (PRODUCT_B, ACCOUNT_B),
            )
        # Nor another seller's account's takeover by hand: B's row naming A's account, revived.
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation), seller(app, B):
            app.execute("UPDATE client_accounts SET platform_account_id = 'ig-a' WHERE id = %s", (ACCOUNT_B,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege), seller(app, B):
            app.execute("INSERT INTO user_emails (email_key, user_id) VALUES ('y@example.com', %s)", (B,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege), seller(app, B):
            app.execute("SELECT claim_short_link('https://s.example/a', %s, gen_random_uuid())", (B,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"), seller(app, B):
            app.execute("SELECT sign_up_user(%s, 'z@example.com', 'h', 'z')", (stranger,))  # not the seller's id
        assert sign_in_lookup(app, "x@example.com") is None
        route = route_account(app, "instagram", "ig-a")
        assert route is not None and route.seller_id == A


# -- two writers of one key at once ---------------------------------------------------------------

# Whether the second writer's backend on the coordinator waits for a lock, or any node does.
WAITS = (
    "SELECT (SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s) IS TRUE"
    " OR EXISTS (SELECT FROM citus_lock_waits)"
)


def _race(
    app_url: str, cluster_url: str, user: uuid.UUID, first: str, params: tuple[Any, ...], second: Callable[[Conn], None]
) -> BaseException:
    """`first` (a statement) writes a key for `user` and stays open; `second` writes the same
    key from another connection, waits for the first, and fails once the first commits."""
    outcome: list[BaseException] = []
    with psycopg.connect(app_url) as holder, psycopg.connect(app_url, autocommit=True) as other:
        holder.execute(SCOPE.format(user).encode())
        holder.execute(first.encode(), params)
        pid = other.info.backend_pid

        def run() -> None:
            try:
                second(other)
            except BaseException as exc:  # handed to the test
                outcome.append(exc)

        thread = threading.Thread(target=run, name="second writer")
        thread.start()
        try:
            with psycopg.connect(cluster_url, autocommit=True) as watch:
                wait_for(
                    lambda: watch.execute(WAITS.encode(), (pid,)).fetchone() == (True,),
                    WAIT,
                    "the second writer to wait for the first",
                )
        finally:
            holder.commit()
            join(thread, WAIT)
    assert len(outcome) == 1, "the second writer won too"
    return outcome[0]


def test_two_sign_ups_with_one_email_at_once_exactly_one_wins(cluster_url: str, app_url: str) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()

    def sign_up(c: Conn) -> None:
        with session(c, second) as s:
            s.sign_up("RACE@example.com", "h", "b")

    loser = _race(
        app_url, cluster_url, first, "SELECT sign_up_user(%s, 'race@example.com', 'h', 'a')", (first,), sign_up
    )
    assert isinstance(loser, psycopg.errors.UniqueViolation), loser
    assert loser.diag.constraint_name == "user_emails_pkey"
    assert citus.rows(cluster_url, "SELECT user_id FROM user_emails WHERE email_key = 'race@example.com'") == [(first,)]
    assert citus.rows(cluster_url, "SELECT count(*) FROM users WHERE id = %s", (second,)) == [(0,)]


def test_two_connections_of_one_account_at_once_exactly_one_wins(cluster_url: str, app_url: str) -> None:
    def connect(c: Conn) -> None:
        with session(c, B) as s:
            s.connect_account("whatsapp", "race-1", "b")

    loser = _race(
        app_url, cluster_url, A, "SELECT * FROM connect_client_account('whatsapp', 'race-1', 'a')", (), connect
    )
    assert isinstance(loser, AccountTakenError), loser
    live = "SELECT user_id FROM client_accounts WHERE platform_account_id = 'race-1' AND deleted_at IS NULL"
    assert citus.rows(cluster_url, live) == [(A,)]
    assert citus.rows(cluster_url, "SELECT user_id FROM platform_accounts WHERE platform_account_id = 'race-1'") == [
        (A,)
    ]


def test_two_links_with_one_short_link_at_once_exactly_one_wins(cluster_url: str, app_url: str) -> None:
    def link(c: Conn) -> None:
        with session(c, B) as s:
            s.create_link(PRODUCT_B, ACCOUNT_B, "https://s.example/race")

    loser = _race(
        app_url,
        cluster_url,
        A,
        "SELECT create_product_link(%s, %s, 'https://s.example/race', NULL)",
        (PRODUCT_A, ACCOUNT_A),
        link,
    )
    assert isinstance(loser, psycopg.errors.UniqueViolation) and loser.diag.constraint_name == "short_links_pkey", loser
    assert citus.rows(cluster_url, "SELECT user_id FROM product_links WHERE short_link = 'https://s.example/race'") == [
        (A,)
    ]


def test_a_revival_under_way_makes_a_takeover_wait_then_refuse(cluster_url: str, app_url: str) -> None:
    """The holder's own revival (by hand) holds its row; another user's claim of the email, which
    would take over a row no longer live, locks that row first: it waits, then finds it live."""
    with psycopg.connect(app_url, autocommit=True) as app:
        old = _new_user(app, "revived@example.com")
        with seller(app, old):
            app.execute("UPDATE users SET deleted_at = now() WHERE id = %s", (old,))
    newcomer = uuid.uuid4()

    def sign_up(c: Conn) -> None:
        with session(c, newcomer) as s:
            s.sign_up("revived@example.com", "h", "n")

    loser = _race(app_url, cluster_url, old, "UPDATE users SET deleted_at = NULL WHERE id = %s", (old,), sign_up)
    assert isinstance(loser, psycopg.errors.UniqueViolation) and loser.diag.constraint_name == "user_emails_pkey", loser
    assert citus.rows(cluster_url, "SELECT user_id FROM user_emails WHERE email_key = 'revived@example.com'") == [
        (old,)
    ]
    assert citus.rows(cluster_url, "SELECT deleted_at IS NULL FROM users WHERE id = %s", (old,)) == [(True,)]


def test_a_takeover_under_way_makes_a_revival_wait_then_refuses_it(cluster_url: str, app_url: str) -> None:
    """The other order: a claim takes over the email of a user gone and holds its row; the old
    user's revival by hand waits for that row, then the shard's check finds the key taken."""
    with psycopg.connect(app_url, autocommit=True) as app:
        old = _new_user(app, "taken-over@example.com")
        with seller(app, old):
            app.execute("UPDATE users SET deleted_at = now() WHERE id = %s", (old,))
    newcomer = uuid.uuid4()

    def revive(c: Conn) -> None:
        with seller(c, old):
            c.execute("UPDATE users SET deleted_at = NULL WHERE id = %s", (old,))

    sign_up = "SELECT sign_up_user(%s, 'Taken-Over@example.com', 'h', 'n')"
    loser = _race(app_url, cluster_url, newcomer, sign_up, (newcomer,), revive)
    assert isinstance(loser, psycopg.errors.IntegrityConstraintViolation), loser
    assert citus.rows(cluster_url, "SELECT user_id FROM user_emails WHERE email_key = 'taken-over@example.com'") == [
        (newcomer,)
    ]
    assert citus.rows(cluster_url, "SELECT deleted_at IS NULL FROM users WHERE id = %s", (old,)) == [(False,)]


def test_inside_atomic_a_refused_claim_leaves_the_transaction_usable(cluster_url: str, app_url: str) -> None:
    """Each call a savepoint (docs/library.md): a taken account, refused in the function on the
    coordinator, rolls back to it, and the transaction's other writes go on and commit."""
    with psycopg.connect(app_url, autocommit=True) as app, session(app, B) as s, s.atomic():
        with pytest.raises(AccountTakenError):
            s.connect_account("instagram", "ig-a", "loja_b")  # seller a's
        mine = s.connect_account("instagram", "lk-atomic", "loja_b")
        link = s.create_link(PRODUCT_B, mine.id, "https://s.example/lk-atomic")
    assert citus.rows(
        cluster_url, "SELECT user_id, product_link_id FROM short_links WHERE short_link LIKE '%lk-atomic'"
    ) == [(B, link)]
    route = "SELECT user_id FROM platform_accounts WHERE platform_account_id = 'lk-atomic'"
    assert citus.rows(cluster_url, route) == [(B,)]


# -- a snapshot older than a takeover (review of 059; decision 264) ---------------------------


def _stale_snapshot(app_url: str, holder: uuid.UUID, read: str, takeover: Callable[[Conn], object]) -> Conn:
    """A REPEATABLE READ transaction of `holder`'s whose snapshot on the worker predates
    `takeover`, which another connection commits meanwhile; left open for the caller's write."""
    stale = psycopg.connect(app_url)
    stale.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    stale.execute(SCOPE.format(holder).encode())
    stale.execute(read.encode()).fetchall()  # the snapshot is taken here, on the shard's node too
    with psycopg.connect(app_url, autocommit=True) as other:
        takeover(other)
    return stale


def test_a_snapshot_older_than_a_takeover_cannot_revive_the_old_email(cluster_url: str, app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as app:
        old = _new_user(app, "rr@example.com")
        with seller(app, old):
            app.execute("UPDATE users SET deleted_at = now() WHERE id = %s", (old,))
    stale = _stale_snapshot(app_url, old, "SELECT count(*) FROM users", lambda c: _new_user(c, "RR@example.com"))
    with stale, pytest.raises(psycopg.errors.InvalidTransactionState, match="only in READ COMMITTED"):
        stale.execute("UPDATE users SET deleted_at = NULL WHERE id = %s", (old,))
    live = "SELECT count(*) FROM users WHERE lower(email) = 'rr@example.com' AND deleted_at IS NULL"
    assert citus.rows(cluster_url, live) == [(1,)]


def test_a_snapshot_older_than_a_takeover_cannot_insert_the_old_email_again(cluster_url: str, app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as app:
        old = _new_user(app, "rr-del@example.com")
        with seller(app, old):
            app.execute("DELETE FROM users WHERE id = %s", (old,))  # by hand: its lookup row stays
    stale = _stale_snapshot(app_url, old, "SELECT count(*) FROM users", lambda c: _new_user(c, "rr-del@example.com"))
    insert = "INSERT INTO users (id, email, password_hash, name) VALUES (%s, 'rr-del@example.com', 'h', 'x')"
    with stale, pytest.raises(psycopg.errors.InvalidTransactionState):
        stale.execute(insert, (old,))
    live = "SELECT count(*) FROM users WHERE email = 'rr-del@example.com' AND deleted_at IS NULL"
    assert citus.rows(cluster_url, live) == [(1,)]


def test_a_snapshot_older_than_a_takeover_cannot_revive_the_old_connection(cluster_url: str, app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as app:
        with session(app, B) as s:
            left = s.connect_account("instagram", "rr-acct", "loja_b").id
        with seller(app, B):
            app.execute("UPDATE client_accounts SET deleted_at = now() WHERE id = %s", (left,))

    def take(conn: Conn) -> object:
        with session(conn, A) as s:
            return s.connect_account("instagram", "rr-acct", "loja_a")

    stale = _stale_snapshot(app_url, B, "SELECT count(*) FROM client_accounts", take)
    revive = "UPDATE client_accounts SET deleted_at = NULL, status = 'active' WHERE id = %s"
    with stale, pytest.raises(psycopg.errors.InvalidTransactionState):
        stale.execute(revive, (left,))
    live = "SELECT user_id FROM client_accounts WHERE platform_account_id = 'rr-acct' AND deleted_at IS NULL"
    assert citus.rows(cluster_url, live) == [(A,)]


def test_a_repeatable_read_write_is_refused_with_its_reason_and_read_committed_still_works(app_url: str) -> None:
    with psycopg.connect(app_url) as app:
        app.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        refused = pytest.raises(psycopg.errors.InvalidTransactionState, match="READ COMMITTED, not SERIALIZABLE")
        with refused, session(app, uuid.uuid4()) as s:
            s.sign_up("serializable@example.com", "h", "Loja")
        app.rollback()
        app.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
        user = uuid.uuid4()
        with session(app, user) as s:
            assert s.sign_up("serializable@example.com", "h", "Loja") == user
        app.commit()


def test_a_server_that_preloads_citus_without_the_extension_is_one_server(citus_cluster: Cluster) -> None:
    """Citus's library loaded, no CREATE EXTENSION citus in this database: the library takes one
    server's statements and the write functions write no claims (they did read Citus's catalog)."""
    url = citus.plain_database(citus_cluster, "socialdb_no_citus")
    with login_role(url, "socialdb_app") as (_, app_url), psycopg.connect(app_url, autocommit=True) as app:
        assert app.execute("SELECT current_setting('citus.shard_count', true) IS NOT NULL").fetchone() == (True,)
        user = _new_user(app, "plain@example.com")
        with session(app, user) as s:
            account = s.connect_account("instagram", "plain-acct", "loja").id
            assert s.disconnect_account(account) is not None
        assert cluster.known(app) is False
    assert citus.rows(url, "SELECT user_id FROM user_emails WHERE email_key = 'plain@example.com'") == [(user,)]


def test_a_truncate_on_the_cluster_empties_the_lookups_and_061_applies_after_distributing(
    citus_cluster: Cluster,
) -> None:
    """061's TRUNCATE triggers, created again on tables already distributed (its rollback and
    its up part as the migrator), empty the reference tables from the coordinator (decision 274)."""
    url, migrator_url = citus.distributed_database(citus_cluster, "socialdb_truncate")
    assert [o.migration.version for o in runner.down(migrator_url, 1)] == [LATEST]
    assert [o.migration.version for o in runner.up(migrator_url)] == [LATEST]
    counts = "SELECT (SELECT count(*) FROM user_emails), (SELECT count(*) FROM platform_accounts)"
    assert citus.rows(url, counts)[0] != (0, 0)  # the seed's sellers and accounts
    with psycopg.connect(migrator_url, autocommit=True) as owner:
        owner.execute("TRUNCATE users CASCADE")
    assert citus.rows(url, counts) == [(0, 0)]
    assert citus.rows(url, "SELECT count(*) FROM short_links") == [(0,)]
