"""Tenant isolation: least-privilege roles and row-level security per seller."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql

from socialdb.app.tenant import seller
from socialdb.migrate import runner
from socialdb.scripts.files import default_directory
from tests.helpers import LATEST, TENANT_TABLES
from tests.sellers import DATA, SELLERS

Conn = psycopg.Connection[tuple[Any, ...]]


@pytest.fixture
def two_sellers(db_url: str) -> str:
    with psycopg.connect(db_url, autocommit=True) as conn:
        for suffix, user_id in SELLERS.items():
            conn.execute(DATA.format(u=user_id, s=suffix).encode())
        conn.execute("SELECT refresh_analytics_daily_summary()")
    return db_url


@pytest.fixture
def app_conn(two_sellers: str) -> Any:
    """A connection acting as the application role (SET ROLE from the test's superuser)."""
    with psycopg.connect(two_sellers) as conn:
        conn.execute("SET ROLE socialdb_app")
        conn.commit()
        yield conn


def count(conn: Conn, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else -1


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_each_seller_sees_updates_and_deletes_only_its_own_rows(app_conn: Conn, two_sellers: str, table: str) -> None:
    with psycopg.connect(two_sellers) as admin:
        theirs = count(admin, table) - count(admin, f"{table} WHERE user_id = '{SELLERS['a']}'")
    assert theirs >= 1
    with seller(app_conn, SELLERS["a"]):
        owners = app_conn.execute(f"SELECT DISTINCT user_id::text FROM {table}").fetchall()  # type: ignore[arg-type]
        assert owners == [(SELLERS["a"],)]
        mine = count(app_conn, table)
        assert app_conn.execute(f"UPDATE {table} SET created_at = created_at").rowcount == mine  # type: ignore[arg-type]
        assert app_conn.execute(f"DELETE FROM {table}").rowcount == mine  # type: ignore[arg-type]
        with psycopg.connect(two_sellers) as admin:  # seller b's rows untouched (the delete is not committed yet)
            assert count(admin, f"{table} WHERE user_id = '{SELLERS['b']}'") == theirs
        raise psycopg.Rollback()


def test_users_table_shows_only_the_seller_itself(app_conn: Conn) -> None:
    with seller(app_conn, SELLERS["b"]):
        assert app_conn.execute("SELECT id::text FROM users").fetchall() == [(SELLERS["b"],)]


def test_nothing_is_visible_without_a_seller(app_conn: Conn) -> None:
    for table in ["users", *TENANT_TABLES]:
        assert count(app_conn, table) == 0, table
    app_conn.rollback()
    # A setting cleared at the end of an earlier transaction reads '' and still means nobody.
    with seller(app_conn, SELLERS["a"]):
        pass
    assert count(app_conn, "products") == 0


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO products (user_id, name) VALUES ('{b}', 'not mine')",
        "INSERT INTO notifications (user_id, type, title, message) VALUES ('{b}', 'x', 'y', 'z')",
        "INSERT INTO messages (conversation_id, user_id, platform_message_id, sender_type, sent_at)"
        " VALUES (md5('conv-b')::uuid, '{b}', 'sneaky', 'user', now())",
        "UPDATE products SET user_id = '{b}'",
    ],
)
def test_writing_rows_for_the_other_seller_is_refused(app_conn: Conn, statement: str) -> None:
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"),
        seller(app_conn, SELLERS["a"]),
    ):
        app_conn.execute(statement.format(b=SELLERS["b"]).encode())


def test_inserts_default_to_the_current_seller(app_conn: Conn) -> None:
    with seller(app_conn, SELLERS["a"]):
        app_conn.execute(
            "INSERT INTO messages (conversation_id, platform_message_id, sender_type, sent_at)"
            " VALUES (md5('conv-a')::uuid, 'm-a-2', 'customer', now())"
        )
        row = app_conn.execute(
            "SELECT m.user_id::text, c.unread_count FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE platform_message_id = 'm-a-2'"
        ).fetchone()
        assert row == (SELLERS["a"], 2)  # the fixture's unread message and this one: the trigger works under RLS


def test_a_message_cannot_carry_another_seller_than_its_conversation(two_sellers: str) -> None:
    with psycopg.connect(two_sellers) as admin, pytest.raises(psycopg.errors.ForeignKeyViolation):
        admin.execute(
            "INSERT INTO messages (conversation_id, user_id, platform_message_id, sender_type, sent_at)"
            " VALUES (md5('conv-a')::uuid, %s, 'cross', 'user', now())",
            (SELLERS["b"],),
        )


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (
            "SELECT id FROM conversations WHERE client_account_id = md5('acct-a')::uuid AND status = 'open'"
            " ORDER BY last_message_at DESC NULLS LAST, id DESC LIMIT 20",
            "idx_conversations_inbox",
        ),
        (
            "SELECT id FROM messages WHERE conversation_id = md5('conv-a')::uuid ORDER BY sent_at DESC, id DESC LIMIT 50",
            "idx_messages_conversation_page",
        ),
        (
            "SELECT id FROM products WHERE user_id = app_user_id() AND is_available AND deleted_at IS NULL"
            " ORDER BY created_at DESC LIMIT 20",
            "idx_products_user_available",
        ),
    ],
)
def test_seller_reads_keep_their_index_plans_under_rls(app_conn: Conn, query: str, index: str) -> None:
    with seller(app_conn, SELLERS["a"]):
        app_conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in app_conn.execute(f"EXPLAIN {query}").fetchall())  # type: ignore[arg-type]
    assert index in plan, plan


@pytest.mark.parametrize(
    ("relation", "table"),  # the table behind it, which the admin reads (the view's own filter hides all)
    [
        ("analytics_daily_summary", "analytics_daily_summary"),
        ("analytics_daily_rollup", "analytics_daily_rollup"),
        ("seller_daily_summary", "analytics_daily_summary"),
    ],
)
def test_the_summary_shows_only_the_sellers_rows(app_conn: Conn, two_sellers: str, relation: str, table: str) -> None:
    with psycopg.connect(two_sellers) as admin:
        assert count(admin, f"{table} WHERE user_id = '{SELLERS['b']}'") >= 1
    with seller(app_conn, SELLERS["a"]):
        query = sql.SQL("SELECT DISTINCT user_id::text FROM {}").format(sql.Identifier(relation))
        assert app_conn.execute(query).fetchall() == [(SELLERS["a"],)]
    assert count(app_conn, relation) == 0  # no seller, no rows


def test_maintenance_refreshes_the_summary_for_every_seller(two_sellers: str) -> None:
    with psycopg.connect(two_sellers, autocommit=True) as admin:
        admin.execute(
            "INSERT INTO analytics_events (user_id, event_type, event_category, occurred_at)"
            " VALUES (%s, 'login', 'engagement', now()), (%s, 'login', 'engagement', now())",
            (SELLERS["b"], SELLERS["b"]),
        )
    with psycopg.connect(two_sellers, autocommit=True) as maintenance:
        maintenance.execute("SET ROLE socialdb_maintenance")
        maintenance.execute("SELECT refresh_analytics_daily_summary()")  # it runs as the owner
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # while maintenance itself reads nothing
            count(maintenance, "analytics_events")
    with psycopg.connect(two_sellers) as admin:  # and the refresh saw seller b's new events
        assert admin.execute("SELECT sum(event_count) FROM analytics_daily_summary").fetchone() == (6,)
        assert count(admin, "analytics_summary_changes") == 0


def test_sign_in_path_returns_one_users_credentials_only(app_conn: Conn) -> None:
    row = app_conn.execute("SELECT id::text, password_hash FROM auth_user_by_email('SELLER-A@example.com')").fetchone()
    assert row == (SELLERS["a"], "hash-a")
    assert count(app_conn, "users") == 0


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE sneaky (id int)",
        "ALTER TABLE products ADD COLUMN sneaky int",
        "DROP TABLE products",
        "TRUNCATE products",
        "TRUNCATE messages",
        "SELECT * FROM migrations",
        "INSERT INTO migrations (version, name, file, checksum, execution_ms) VALUES (999, 'x', 'x', 'x', 0)",
        "DELETE FROM analytics_daily_summary",
        "INSERT INTO analytics_daily_rollup (user_id, date, event_category, event_count) VALUES (app_user_id(), now(), 'sales', 1)",
        "SELECT * FROM analytics_summary_changes",
        "SELECT rebuild_analytics_daily_summary()",
        "SELECT refresh_analytics_daily_summary()",
        "CREATE INDEX sneaky ON products (name)",
        "ALTER TABLE messages DISABLE ROW LEVEL SECURITY",
        "DROP POLICY products_seller ON products",
    ],
)
def test_application_role_has_no_ddl_truncate_or_history(app_conn: Conn, statement: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute(statement.encode())


def test_objects_belong_to_the_owner_role(two_sellers: str) -> None:
    with psycopg.connect(two_sellers) as admin:
        owners = admin.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class"
            " WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'm', 'v')"
        ).fetchall()
        functions = admin.execute(
            "SELECT DISTINCT pg_get_userbyid(proowner), proname = 'seller_ingest_message' FROM pg_proc p"
            " WHERE pronamespace = 'public'::regnamespace"
            " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"  # extensions' own
            " ORDER BY 2"
        ).fetchall()
    # One exception (migration 036): the webhook function runs as socialdb_ingest, whose
    # name tells the unread trigger that the function counts the message itself.
    assert owners == [("socialdb_owner",)]
    assert functions == [("socialdb_owner", False), ("socialdb_ingest", True)]


def test_roles_need_createrole_and_the_error_says_what_to_run(two_sellers: str) -> None:
    statement = runner.prepare(_roles_migration(), "up")[0].sql
    with psycopg.connect(two_sellers) as admin:
        # Role changes are transactional: hide the existing roles, act as a user without CREATEROLE, roll back.
        admin.execute("ALTER ROLE socialdb_owner RENAME TO socialdb_owner_hidden")
        admin.execute("ALTER ROLE socialdb_app RENAME TO socialdb_app_hidden")
        admin.execute("CREATE ROLE limited_migrator NOLOGIN")
        admin.execute("SET ROLE limited_migrator")
        with pytest.raises(psycopg.errors.RaiseException) as caught:
            admin.execute(statement.encode())
        admin.rollback()
    message = caught.value.diag.message_primary or ""
    assert "limited_migrator may not create roles" in message
    assert (
        "CREATE ROLE socialdb_owner NOLOGIN; CREATE ROLE socialdb_app NOLOGIN; GRANT socialdb_owner TO limited_migrator"
        in message
    )


def test_role_migration_is_idempotent_where_roles_exist(db_url: str) -> None:
    done = runner.down(db_url, LATEST - 17)  # back to before 018
    assert done[-1].migration.version == 18
    assert [o.migration.version for o in runner.up(db_url)] == list(range(18, LATEST + 1))


def _roles_migration() -> Any:
    from socialdb.scripts.files import load_migrations

    return next(m for m in load_migrations(default_directory()) if m.version == 18)
