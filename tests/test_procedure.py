"""BE-002's ten-step testing procedure, as CLI calls plus SQL checks."""

from __future__ import annotations

import psycopg
import pytest
from typer.testing import CliRunner

from socialdb.cli import app
from tests.helpers import LATEST, LOOKUP_TABLES, SUMMARY_TABLES, TABLES

EXPECTED_INDEXES = {
    "idx_users_created_at",
    "idx_users_subscription_tier",
    "idx_refresh_tokens_user_id",
    "idx_refresh_tokens_expires_at",
    "idx_client_accounts_user_id",
    "idx_client_accounts_status",
    "idx_client_accounts_last_sync",
    "idx_oauth_tokens_user_id",
    "idx_oauth_tokens_expires_at",
    "idx_products_user_id",
    "idx_products_category",
    "idx_products_is_available",
    "idx_products_tags",
    "idx_product_links_client_account",
    "idx_product_links_instagram_media",
    "idx_message_products_product",
    "idx_analytics_client_account",
    "idx_analytics_event_type",
    "idx_analytics_category",
    "idx_analytics_occurred_at",
    "idx_analytics_entity",
    "idx_analytics_daily_unique",
    "idx_analytics_daily_date",
    "idx_instagram_media_client_account",
    "idx_instagram_media_timestamp",
    "idx_notifications_user_id",
    "idx_notifications_is_read",
    "idx_notifications_created_at",
    # 013
    "idx_client_accounts_user_platform",
    "idx_products_user_available",
    "idx_analytics_user_date_category",
    "idx_product_links_product_clicks",
    "idx_messages_content_search",
    # 021 (replacing the spec's idx_products_name_search and idx_products_description_search)
    "idx_products_search",
    "idx_analytics_daily_user_date",
    # 024 (replacing 013's idx_conversations_active and idx_messages_conversation_sent)
    "idx_conversations_inbox",
    "idx_messages_conversation_page",
    # 026 dropped the spec's idx_conversations_status, idx_conversations_last_message and
    # idx_messages_sent_at, written by every message and read by no query.
    # 015's targets of the composite tenant keys are the primary keys since 052, and
    # idx_oauth_tokens_client_account and idx_conversations_platform gave way to keys that
    # name the seller (049, 050, 051; decision 191).
    # 056 dropped idx_users_email, idx_refresh_tokens_token_hash and
    # idx_client_accounts_platform_account: the rules across sellers live in lookup tables
    # (054), and 055's keys name the seller (decisions 220, 221).
}


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_spec_procedure(empty_db_url: str) -> None:
    url = ["--database-url", empty_db_url]
    # 1. Run all migrations
    assert f"{LATEST} migration(s) applied" in invoke("migrate", "up", *url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        # 2. All 12 tables listed (plus the history table and the daily summary's three, 023)
        tables = {  # analytics_events' partitions (migration 034) are not tables of the schema
            r[0]
            for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
                " AND relkind IN ('r', 'p') AND NOT relispartition"
            )
        }
        assert tables - {"migrations"} == TABLES | SUMMARY_TABLES | LOOKUP_TABLES
        # 3. All indexes created, and every one valid
        rows = conn.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relnamespace = 'public'::regnamespace AND (c.relname LIKE 'idx_%' OR c.relname LIKE '%_user_id_key')"
        ).fetchall()
        assert {name for name, _ in rows} == EXPECTED_INDEXES
        assert all(valid for _, valid in rows)
        # 4. Foreign key violation
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(
                "INSERT INTO client_accounts (user_id, platform, platform_account_id, username)"
                " VALUES ('00000000-0000-0000-0000-000000000000', 'instagram', '123', 'test')"
            )
        # 5. created_at = updated_at on insert
        conn.execute("INSERT INTO users (email, password_hash, name) VALUES ('test@example.com', 'hash', 'Test')")
        created, updated = conn.execute(
            "SELECT created_at, updated_at FROM users WHERE email = 'test@example.com'"
        ).fetchone()  # type: ignore[misc]
        assert created == updated
        # 6. updated_at > created_at after an update
        conn.execute("UPDATE users SET name = 'Updated' WHERE email = 'test@example.com'")
        created, updated = conn.execute(
            "SELECT created_at, updated_at FROM users WHERE email = 'test@example.com'"
        ).fetchone()  # type: ignore[misc]
        assert updated > created
    # 7. Roll back the last migration
    assert f"rolled back {LATEST:03d}-" in invoke("migrate", "down", "1", *url)
    # 8. Re-run migrations
    assert f"applied {LATEST:03d}-" in invoke("migrate", "up", *url)
    # 9. Load seed data (the spec's psql -f of a file in the migrations folder is `socialdb seed`)
    invoke("seed", *url)
    # 10. 20 products
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM products").fetchone() == (20,)
