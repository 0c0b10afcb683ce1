"""Migration 059's four write functions on one server (decisions 260-262): they exist there,
write no claim (054's triggers write the lookups, unchanged), and answer as the library's
statements do: the same rows, the same 23505 with the same constraint; as a login role in
socialdb_app. The library calls them on Citus only (tests/test_citus_lookups.py); here it keeps
its statements, and Session.sign_up is the platform's INSERT under the new user's id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from socialdb.app.session import route_account, session, sign_in_lookup
from socialdb.app.tenant import seller
from tests.helpers import login_role

Conn = psycopg.Connection[Any]

A = uuid.UUID("a1a1a1a1-0000-4000-8000-00000000000a")
B = uuid.UUID("b2b2b2b2-0000-4000-8000-00000000000b")


@pytest.fixture
def app_url(db_url: str) -> Iterator[str]:
    with login_role(db_url, "socialdb_app") as (_, url):
        yield url


def _sign_up(app: Conn, user: uuid.UUID, email: str) -> None:
    with seller(app, user):
        assert app.execute("SELECT sign_up_user(%s, %s, 'h', 'Loja')", (user, email)).fetchone() == (user,)


def test_session_sign_up_writes_the_user_and_refuses_a_taken_email(app_url: str, conn: Conn) -> None:
    with psycopg.connect(app_url, autocommit=True) as app:
        with session(app, A) as s:
            assert s.sign_up("Ana@Example.com", "h", "Ana") == A
        with pytest.raises(psycopg.errors.UniqueViolation) as refused, session(app, B) as s:
            s.sign_up("ana@EXAMPLE.com", "h", "Bia")
        assert refused.value.diag.constraint_name == "user_emails_pkey"
        found = sign_in_lookup(app, "ANA@example.com")
        assert found is not None and found.user_id == A
    assert conn.execute("SELECT email_key, user_id FROM user_emails").fetchall() == [("ana@example.com", A)]


def test_the_functions_answer_as_the_statements_do_on_one_server(app_url: str, conn: Conn) -> None:
    with psycopg.connect(app_url, autocommit=True) as app:
        _sign_up(app, A, "a@example.com")
        with pytest.raises(psycopg.errors.UniqueViolation) as refused:
            _sign_up(app, B, "A@example.com")
        assert refused.value.diag.constraint_name == "user_emails_pkey"
        _sign_up(app, B, "b@example.com")
        connect = "SELECT * FROM connect_client_account('instagram', 'one', %s)"
        with seller(app, A):
            first = app.execute(connect, ("loja_a",)).fetchone()
            assert first is not None and first[1:] == ("instagram", "one", "loja_a", "active", False)
            assert app.execute(connect, ("loja_a",)).fetchone() == first  # again: the same row
        with pytest.raises(psycopg.errors.UniqueViolation) as refused, seller(app, B):
            app.execute(connect, ("loja_b",))
        assert refused.value.diag.constraint_name == "platform_accounts_pkey"
        # The library's statement gives the same row back.
        with session(app, A) as s:
            assert s.connect_account("instagram", "one", "loja_a").id == first[0]
        with seller(app, A):
            assert app.execute("SELECT * FROM disconnect_client_account(%s)", (first[0],)).fetchone() == (1, 0)
            assert app.execute("SELECT * FROM disconnect_client_account(%s)", (first[0],)).fetchone() == (0, 0)
        assert route_account(app, "instagram", "one") is None
        with seller(app, B):
            taken = app.execute(connect, ("loja_b",)).fetchone()
        route = route_account(app, "instagram", "one")
        assert taken is not None and route is not None and route.seller_id == B
        with seller(app, B):
            app.execute("SELECT * FROM disconnect_client_account(%s)", (taken[0],))
        with seller(app, A):
            again = app.execute(connect, ("loja_a2",)).fetchone()
        assert again is not None and (again[0], again[3], again[5]) == (first[0], "loja_a2", True)
        with session(app, A) as s:
            product = s.create_product("Vestido").id
        link = "SELECT create_product_link(%s, %s, %s, NULL)"
        with seller(app, A):
            made = app.execute(link, (product, first[0], "https://s.example/f")).fetchone()
        with pytest.raises(psycopg.errors.UniqueViolation) as refused, seller(app, A):
            app.execute(link, (product, first[0], "https://s.example/f"))
        assert refused.value.diag.constraint_name == "product_links_seller_short_link_key"
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"), seller(app, B):
            app.execute("SELECT sign_up_user(%s, 'c@example.com', 'h', 'c')", (A,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege), seller(app, B):
            app.execute("SELECT claim_user_email('c@example.com', %s)", (B,))
    assert made is not None
    assert conn.execute("SELECT short_link, user_id, product_link_id FROM short_links").fetchall() == [
        ("https://s.example/f", A, made[0])
    ]
    assert conn.execute("SELECT user_id, client_account_id FROM platform_accounts").fetchall() == [(A, first[0])]
