"""The schema against the spec's acceptance criteria and the corrections of issue 2 (docs/decisions.md)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from tests.helpers import LOOKUP_TABLES, SUMMARY_TABLES, TABLES

Conn = psycopg.Connection[tuple[Any, ...]]
T0 = datetime(2026, 1, 1, 10, tzinfo=UTC)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def scalar(conn: Conn, query: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


def make_user(conn: Conn, email: str = "ana@example.com") -> Any:
    return scalar(conn, "INSERT INTO users (email, password_hash, name) VALUES (%s, 'h', 'Ana') RETURNING id", (email,))


def make_account(conn: Conn, user_id: Any, platform_id: str = "ig-1") -> Any:
    return scalar(
        conn,
        "INSERT INTO client_accounts (user_id, platform, platform_account_id, username)"
        " VALUES (%s, 'instagram', %s, 'loja') RETURNING id",
        (user_id, platform_id),
    )


def make_conversation(conn: Conn, account_id: Any, key: str = "c-1") -> Any:
    return scalar(
        conn,
        "INSERT INTO conversations (client_account_id, user_id, platform_conversation_id, participant_platform_id)"
        " SELECT id, user_id, %s, 'cust-1' FROM client_accounts WHERE id = %s RETURNING id",
        (key, account_id),
    )


def add_message(conn: Conn, conversation_id: Any, key: str, sender: str, sent_at: str, is_read: bool = False) -> Any:
    return scalar(
        conn,
        "INSERT INTO messages (conversation_id, user_id, platform_message_id, sender_type, content, sent_at, is_read)"
        " SELECT id, user_id, %s, %s, 'oi', %s, %s FROM conversations WHERE id = %s RETURNING id",
        (key, sender, sent_at, is_read, conversation_id),
    )


def conversation(conn: Conn, conversation_id: Any) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT unread_count, last_message_at FROM conversations WHERE id = %s", (conversation_id,)
    ).fetchone()
    assert row is not None
    return row


# A valid row of each table. In the values: "{n}" becomes a number of the row's own, DAY a
# date of its own, "@table" the id of that table's row among the shared parents, "+table" the
# id of a new row of that table (tokens and message_products, whose unique rules would
# otherwise tie every row to the shared parents).
DAY = object()
ROWS: dict[str, dict[str, Any]] = {
    "users": {"email": "user{n}@example.com", "password_hash": "h", "name": "Ana"},
    "refresh_tokens": {"user_id": "@users", "token_hash": "hash-{n}", "expires_at": T0},
    "client_accounts": {"user_id": "@users", "platform": "instagram", "platform_account_id": "ig-{n}", "username": "u"},
    "oauth_tokens": {
        "user_id": "@users",
        "client_account_id": "+client_accounts",
        "platform": "instagram",
        "access_token": "v2.k1.{n}",
        "expires_at": T0,
        "scopes": ["basic"],
    },
    "products": {"user_id": "@users", "name": "product {n}"},
    "product_links": {
        "user_id": "@users",
        "product_id": "@products",
        "client_account_id": "@client_accounts",
        "short_link": "s{n}",
    },
    "conversations": {
        "user_id": "@users",
        "client_account_id": "@client_accounts",
        "platform_conversation_id": "c-{n}",
        "participant_platform_id": "customer-1",
    },
    "messages": {
        "user_id": "@users",
        "conversation_id": "@conversations",
        "platform_message_id": "m-{n}",
        "sender_type": "customer",
        "sent_at": T0,
    },
    "message_products": {"user_id": "@users", "message_id": "@messages", "product_id": "+products"},
    "analytics_events": {
        "user_id": "@users",
        "client_account_id": "@client_accounts",
        "event_type": "sale",
        "event_category": "sales",
        "occurred_at": T0,
    },
    "instagram_media": {
        "user_id": "@users",
        "client_account_id": "@client_accounts",
        "platform_media_id": "media-{n}",
        "media_type": "IMAGE",
    },
    "notifications": {"user_id": "@users", "type": "sale", "title": "t", "message": "m"},
    "analytics_daily_summary": {
        "user_id": "@users",
        "client_account_id": "@client_accounts",
        "client_account_key": "@client_accounts",
        "date": DAY,
        "event_category": "sales",
        "event_type": "type-{n}",
        "event_count": 1,
    },
    "analytics_daily_rollup": {"user_id": "@users", "date": DAY, "event_category": "sales", "event_count": 1},
    "analytics_summary_changes": {"user_id": "@users", "date": DAY},
    # The lookups of the rules across sellers (054); ids of any row: they have no foreign keys.
    "user_emails": {"email_key": "lookup-{n}@example.com", "user_id": "@users"},
    "platform_accounts": {
        "platform": "instagram",
        "platform_account_id": "lookup-{n}",
        "user_id": "@users",
        "client_account_id": "@client_accounts",
    },
    "short_links": {"short_link": "lookup-{n}", "user_id": "@users", "product_link_id": "@users"},
}


class Rows:
    """Inserts valid rows (ROWS) into any table, every one different in each unique rule.

    Use it as the test database's owner (the `conn` fixture, a superuser), whom row-level
    security does not filter.
    """

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.count = 0
        self.parents: dict[str, Any] = {}
        for table in ("users", "client_accounts", "products", "conversations", "messages"):
            self.parents[table] = self.insert(table)["id"]

    def insert(self, table: str, **overrides: Any) -> dict[str, Any]:
        """Insert a row of `table`, `overrides` replacing or adding columns; returns it as stored."""
        row = {**self.values(table), **overrides}
        query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING *").format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join([sql.Placeholder()] * len(row)),
        )
        stored = self.conn.cursor(row_factory=dict_row).execute(query, list(row.values())).fetchone()
        assert stored is not None
        return stored

    def values(self, table: str) -> dict[str, Any]:
        self.count += 1
        return {column: self._value(value, self.count) for column, value in ROWS[table].items()}

    def _value(self, value: Any, n: int) -> Any:
        if value is DAY:
            return date(2026, 1, 1) + timedelta(days=n)
        if not isinstance(value, str):
            return value
        if value.startswith("@"):
            return self.parents[value[1:]]
        if value.startswith("+"):
            return self.insert(value[1:])["id"]
        return value.replace("{n}", str(n))


# --- acceptance criteria of BE-002 -------------------------------------------------------------


def test_all_twelve_tables_exist(conn: Conn) -> None:
    # analytics_events is partitioned by month (migration 034): its partitions are not tables of the schema.
    rows = conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')"
        " AND NOT relispartition"
    ).fetchall()
    assert {r[0] for r in rows} - {"migrations"} == TABLES | SUMMARY_TABLES | LOOKUP_TABLES


def test_foreign_keys_reject_orphans(conn: Conn) -> None:
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        make_account(conn, "00000000-0000-0000-0000-000000000000")


# Every foreign key, exactly: the spec's (001-011), the single-column ones below users made
# composite by 016 and 017 (decision 23), so a child row always names its parent's seller.
FOREIGN_KEYS = {
    ("refresh_tokens", ("user_id",)): ("users", ("id",)),
    ("client_accounts", ("user_id",)): ("users", ("id",)),
    ("oauth_tokens", ("user_id",)): ("users", ("id",)),
    ("oauth_tokens", ("client_account_id", "user_id")): ("client_accounts", ("id", "user_id")),
    ("products", ("user_id",)): ("users", ("id",)),
    ("product_links", ("product_id", "user_id")): ("products", ("id", "user_id")),
    ("product_links", ("client_account_id", "user_id")): ("client_accounts", ("id", "user_id")),
    ("conversations", ("client_account_id", "user_id")): ("client_accounts", ("id", "user_id")),
    ("messages", ("conversation_id", "user_id")): ("conversations", ("id", "user_id")),
    ("message_products", ("message_id", "user_id")): ("messages", ("id", "user_id")),
    ("message_products", ("product_id", "user_id")): ("products", ("id", "user_id")),
    ("analytics_events", ("user_id",)): ("users", ("id",)),
    ("analytics_events", ("client_account_id", "user_id")): ("client_accounts", ("id", "user_id")),
    ("instagram_media", ("client_account_id", "user_id")): ("client_accounts", ("id", "user_id")),
    ("notifications", ("user_id",)): ("users", ("id",)),
}
_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text,
       array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k (num, pos)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num ORDER BY k.pos),
       c.confrelid::regclass::text,
       array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k (num, pos)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num ORDER BY k.pos),
       c.confdeltype, c.convalidated,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1]
               AND i.indpred IS NULL)
FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
  AND c.conparentid = 0  -- a partition's copy of its parent's key is the parent's key
"""


def test_every_foreign_key_cascades_and_has_an_index(conn: Conn) -> None:
    rows = conn.execute(_FOREIGN_KEYS).fetchall()
    assert {(t, tuple(cols)): (ref, tuple(ref_cols)) for t, cols, ref, ref_cols, *_ in rows} == FOREIGN_KEYS
    assert [(t, cols) for t, cols, _, _, on_delete, _, _ in rows if on_delete != "c"] == []  # CASCADE
    assert [(t, cols) for t, cols, _, _, _, validated, _ in rows if not validated] == []
    # Each key's first column leads an index, so ON DELETE CASCADE never scans a whole table; but
    # oauth_tokens.client_account_id, under a partial unique index only (live tokens): a small
    # table, one row per account (decision 21).
    unindexed = [(t, tuple(cols)) for t, cols, _, _, _, _, indexed in rows if not indexed]
    assert unindexed == [("oauth_tokens", ("client_account_id", "user_id"))]


def test_updated_at_trigger(conn: Conn) -> None:
    conn.execute("BEGIN")
    make_user(conn)
    created, updated = conn.execute("SELECT created_at, updated_at FROM users").fetchone()  # type: ignore[misc]
    assert created == updated
    conn.execute("COMMIT")
    conn.execute("UPDATE users SET name = 'Updated'")
    created, updated = conn.execute("SELECT created_at, updated_at FROM users").fetchone()  # type: ignore[misc]
    assert updated > created


def test_updated_at_trigger_on_every_table_with_the_column(conn: Conn) -> None:
    found = conn.execute(
        "SELECT table_name::text FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_name = 'updated_at' ORDER BY 1"
    ).fetchall()
    tables = [t for (t,) in found]
    assert tables == ["client_accounts", "conversations", "oauth_tokens", "product_links", "products", "users"]
    rows = Rows(conn)
    for table in tables:
        row = rows.insert(table, updated_at=LONG_AGO)  # an INSERT keeps what it is given
        update = sql.SQL("UPDATE {} SET created_at = created_at WHERE id = %s RETURNING updated_at, now()")
        after = conn.execute(update.format(sql.Identifier(table)), (row["id"],)).fetchone()
        assert after is not None and after[0] == after[1] > LONG_AGO, table  # the UPDATE's own time


def test_cascade_deletes_from_users(conn: Conn) -> None:
    user = make_user(conn)
    account = make_account(conn, user)
    conv = make_conversation(conn, account)
    add_message(conn, conv, "m1", "customer", "2026-01-01T10:00Z")
    conn.execute("DELETE FROM users WHERE id = %s", (user,))
    for table in ("client_accounts", "conversations", "messages"):
        assert scalar(conn, f"SELECT count(*) FROM {table}") == 0


def test_unique_constraints(conn: Conn) -> None:
    user = make_user(conn)
    account = make_account(conn, user)
    with pytest.raises(psycopg.errors.UniqueViolation):
        make_account(conn, user)  # same platform account, live
    conv = make_conversation(conn, account)
    with pytest.raises(psycopg.errors.UniqueViolation):
        make_conversation(conn, account)
    add_message(conn, conv, "m1", "customer", "2026-01-01T10:00Z")
    with pytest.raises(psycopg.errors.UniqueViolation):
        add_message(conn, conv, "m1", "customer", "2026-01-01T10:00Z")


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO products (user_id, name, price) VALUES (%s, 'p', -1)",
        "INSERT INTO products (user_id, name, stock_quantity) VALUES (%s, 'p', -5)",
        "INSERT INTO products (user_id, name, currency) VALUES (%s, 'p', 'reais')",
        "INSERT INTO products (user_id, name) VALUES (%s, '')",
        "INSERT INTO notifications (user_id, type, title, message) VALUES (%s, 'x', 't', 'm'), (%s, '', 't', 'm')",
        "INSERT INTO client_accounts (user_id, platform, platform_account_id, username) VALUES (%s, 'tiktok', 'a', 'b')",
        "INSERT INTO client_accounts (user_id, platform, platform_account_id, username, follower_count) VALUES (%s, 'instagram', 'a', 'b', -1)",
        "INSERT INTO products (user_id, name, images) VALUES (%s, 'p', '{}')",
        "INSERT INTO users (email, password_hash, name, subscription_tier) VALUES ('x@y.z' || %s::text, 'h', 'n', 'gold')",
        "INSERT INTO users (email, password_hash, name) VALUES ('not-an-email' || %s::text, 'h', 'n')",
    ],
)
def test_check_constraints_reject_invalid_values(conn: Conn, statement: str) -> None:
    user = make_user(conn)
    params = (user, user) if statement.count("%s") == 2 else (user,)
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(statement, params)  # type: ignore[arg-type]


def test_counters_cannot_go_negative(conn: Conn) -> None:
    user = make_user(conn)
    account = make_account(conn, user)
    conv = make_conversation(conn, account)
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE conversations SET unread_count = -1 WHERE id = %s", (conv,))
    link_product = scalar(conn, "INSERT INTO products (user_id, name) VALUES (%s, 'p') RETURNING id", (user,))
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO product_links (product_id, client_account_id, user_id, clicks) VALUES (%s, %s, %s, -1)",
            (link_product, account, user),
        )


def test_jsonb_metadata_columns(conn: Conn) -> None:
    # Every jsonb column, exactly: the spec's metadata columns (002, 004, 006, 007, 009, 010, 011) and products.images.
    rows = conn.execute(
        "SELECT table_name::text, column_name::text FROM information_schema.columns"
        " WHERE table_schema = 'public' AND data_type = 'jsonb'"
        " AND table_name NOT IN (SELECT relname FROM pg_class WHERE relispartition)"  # partitions (034)
    ).fetchall()
    assert set(rows) == {
        ("client_accounts", "metadata"),
        ("products", "images"),
        ("products", "metadata"),
        ("conversations", "metadata"),
        ("messages", "metadata"),
        ("analytics_events", "metadata"),
        ("instagram_media", "metadata"),
        ("notifications", "metadata"),
    }


# The spec's lists of allowed values (BE-002), each in its CHECK constraint.
SPEC_CHECK_LISTS = [
    ("users", "subscription_tier", "chk_subscription_tier", ["free", "basic", "pro", "enterprise"]),
    ("client_accounts", "platform", "chk_platform", ["instagram", "whatsapp"]),
    ("client_accounts", "status", "chk_status", ["active", "token_expired", "token_revoked", "disconnected", "error"]),
    ("oauth_tokens", "platform", "chk_oauth_platform", ["instagram", "whatsapp"]),
    ("conversations", "status", "chk_conversation_status", ["open", "closed", "archived"]),
    ("messages", "sender_type", "chk_sender_type", ["user", "customer"]),
    (
        "messages",
        "message_type",
        "chk_message_type",
        ["text", "image", "video", "audio", "story_mention", "story_reply"],
    ),
    ("instagram_media", "media_type", "chk_media_type", ["IMAGE", "VIDEO", "CAROUSEL_ALBUM"]),
]


@pytest.mark.parametrize(
    ("table", "column", "constraint", "allowed"), SPEC_CHECK_LISTS, ids=[f"{t}.{c}" for t, c, _, _ in SPEC_CHECK_LISTS]
)
def test_spec_value_lists_take_each_value_and_refuse_others(
    conn: Conn, table: str, column: str, constraint: str, allowed: list[str]
) -> None:
    definition = scalar(
        conn,
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
        (constraint, table),
    )
    assert re.findall(r"'([^']*)'::text", definition) == allowed  # the list itself, in the spec's order
    rows = Rows(conn)
    for value in allowed:
        assert rows.insert(table, **{column: value})[column] == value
    near_miss = allowed[0].swapcase()  # 'Instagram': the lists are case-sensitive
    for bad in ("bogus", near_miss):
        with pytest.raises(psycopg.errors.CheckViolation) as caught:
            rows.insert(table, **{column: bad})
        assert caught.value.diag.constraint_name == constraint


_NOT_NULL_COLUMNS = """
SELECT c.relname::text, a.attname::text FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname <> 'migrations'
  AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull
ORDER BY 1, 2
"""


# The columns that may be NULL, exactly: every other one is NOT NULL (the spec's, and those
# with a default, decision 17).
NULLABLE = {
    "users": {
        *{"email_verification_token", "password_reset_token", "password_reset_expires"},
        *{"last_login_at", "last_login_ip", "deleted_at"},
    },
    "refresh_tokens": {"revoked_at"},
    "client_accounts": {"profile_picture_url", "last_sync_at", "deleted_at"},
    "oauth_tokens": {"revoked_at"},
    "products": {"description", "price", "category", "tags", "stock_quantity", "sku", "deleted_at"},
    "product_links": {"instagram_media_id", "short_link"},
    "conversations": {"participant_username", "participant_profile_pic", "last_message_at"},
    "messages": {"sender_platform_id", "content", "media_url", "media_type", "delivered_at", "read_at"},
    "analytics_events": {"client_account_id", "entity_type", "entity_id", "value"},
    "instagram_media": {"media_url", "thumbnail_url", "permalink", "caption", "timestamp"},
    "notifications": {"action_url", "read_at"},
    "analytics_daily_summary": {"client_account_id", "total_value", "avg_value"},
    "analytics_daily_rollup": {"total_value"},
}
_NULLABLE_COLUMNS = _NOT_NULL_COLUMNS.replace("AND a.attnotnull", "AND NOT a.attnotnull")


def test_every_not_null_column_refuses_null(conn: Conn) -> None:
    nullable: dict[str, set[str]] = {}
    for table, column in conn.execute(_NULLABLE_COLUMNS).fetchall():
        nullable.setdefault(table, set()).add(column)
    assert nullable == NULLABLE
    rows, accepted = Rows(conn), []
    columns = conn.execute(_NOT_NULL_COLUMNS).fetchall()
    for table, column in columns:
        try:
            with conn.transaction(force_rollback=True):  # a NULL wrongly taken leaves no row behind
                rows.insert(table, **{column: None})  # an explicit NULL, defaults or not
            accepted.append((table, column))
        except psycopg.errors.NotNullViolation as exc:
            assert (_parent(conn, exc.diag.table_name), exc.diag.column_name) == (table, column)
    assert len(columns) > 100  # every table's: the spec's twelve and the summary's three
    assert accepted == []


# Every unique rule, exactly: index (a UNIQUE or PRIMARY KEY constraint has one) -> its table.
UNIQUE_RULES = {
    # analytics_daily_summary is keyed by idx_analytics_daily_unique below; analytics_summary_changes by nothing
    **{f"{t}_pkey": t for t in (TABLES | LOOKUP_TABLES | {"analytics_daily_rollup"})},
    # The rules across sellers are the lookups' primary keys since 056 (decision 220): a live
    # email (lower(email), decision 4), a live connection, a short link; within one seller:
    "refresh_tokens_seller_token_hash_key": "refresh_tokens",  # live tokens only (decision 221)
    "client_accounts_seller_platform_account_key": "client_accounts",  # live accounts only
    "oauth_tokens_live_account_key": "oauth_tokens",  # one live token per account, seller named: 049
    "product_links_seller_short_link_key": "product_links",
    "conversations_account_platform_key": "conversations",  # (client_account_id, user_id, platform_conversation_id): 049
    "messages_seller_message_key": "messages",  # (user_id, conversation_id, platform_message_id): 043
    "message_products_message_product_key": "message_products",  # (message_id, product_id, user_id): 049
    "instagram_media_seller_media_key": "instagram_media",  # (user_id, client_account_id, platform_media_id): 043
    "idx_analytics_daily_unique": "analytics_daily_summary",
    # The primary keys of the tenant tables are (id, user_id) since 052 (decision 191): 015's
    # targets of the composite foreign keys, promoted.
}
# Each unique index with every column it reads:
# key columns, and those of its expressions and predicate (recorded in pg_depend).
_UNIQUE_INDEXES = """
SELECT c.relname::text, i.indexrelid::regclass::text,
       array(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = i.indrelid AND a.attnum > 0
               AND (a.attnum = ANY (i.indkey)
                    OR EXISTS (SELECT 1 FROM pg_depend d
                               WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                                 AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid
                                 AND d.refobjsubid = a.attnum)))
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
WHERE c.relnamespace = 'public'::regnamespace AND i.indisunique AND c.relname <> 'migrations'
  AND NOT c.relispartition
ORDER BY 1, 2
"""


def refused_by(conn: Conn, rows: Rows, table: str, columns: list[str]) -> str | None:
    """The unique rule that refuses a second row equal to a first one in `columns`, if any."""
    with conn.transaction(force_rollback=True):
        first = rows.insert(table)
        try:
            with conn.transaction():
                rows.insert(table, **{column: first[column] for column in columns})
        except psycopg.errors.UniqueViolation as exc:
            # PostgreSQL 18 names the partition's index (migration 034): the rule is its parent's.
            return _parent(conn, exc.diag.constraint_name)
    return None


_PARENT = "SELECT coalesce((SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = to_regclass(%s)), %s)"


def _parent(conn: Conn, name: str | None) -> str | None:
    """The partitioned table or index `name` is a partition of, else `name`."""
    return None if name is None else conn.execute(_PARENT, (name, name)).fetchone()[0]  # type: ignore[index]


def test_every_unique_rule_refuses_a_duplicate(conn: Conn) -> None:
    rows = Rows(conn)
    indexes = conn.execute(_UNIQUE_INDEXES).fetchall()
    assert {name: table for table, name, _ in indexes} == UNIQUE_RULES
    columns_of = {name: set(columns) for _, name, columns in indexes}
    wrong = {}
    for table, name, columns in indexes:
        rule = refused_by(conn, rows, table, columns)
        # (id, user_id), the target of the composite foreign keys, is refused by the primary key first.
        implied = {other for t, other, _ in indexes if t == table and columns_of[other] <= set(columns)}
        if rule not in implied:
            wrong[name] = rule
    assert wrong == {}


def test_every_timestamp_is_timestamptz(conn: Conn) -> None:
    rows = conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' AND data_type LIKE 'timestamp%%' AND table_name <> 'migrations'"
    ).fetchall()
    assert len(rows) > 30
    assert [r for r in rows if r[2] != "timestamp with time zone"] == []


def test_no_varchar_columns(conn: Conn) -> None:
    count = scalar(
        conn,
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND data_type = 'character varying'",
    )
    assert count == 0


def test_full_text_indexes(conn: Conn) -> None:
    rows = conn.execute(
        "SELECT indexname FROM pg_indexes WHERE indexdef ~ '(to_tsvector|product_search_document)'"
    ).fetchall()
    assert {r[0] for r in rows} == {"idx_products_search", "idx_messages_content_search"}


def test_soft_delete_columns(conn: Conn) -> None:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'deleted_at'"
    ).fetchall()
    assert {r[0] for r in rows} == {"users", "client_accounts", "products"}


def test_no_extensions_beyond_trusted_contrib(conn: Conn) -> None:
    # Neither uuid-ossp nor pgcrypto (absent from the embedded server); only trusted contrib modules.
    rows = conn.execute("SELECT extname FROM pg_extension").fetchall()
    assert {r[0] for r in rows} == {"plpgsql", "unaccent", "btree_gin"}


# --- corrections --------------------------------------------------------------------------------


def test_soft_deleted_user_frees_the_email(conn: Conn) -> None:
    first = make_user(conn, "maria@example.com")
    with pytest.raises(psycopg.errors.UniqueViolation):
        make_user(conn, "maria@example.com")
    conn.execute("UPDATE users SET deleted_at = now() WHERE id = %s", (first,))
    second = make_user(conn, "maria@example.com")
    assert second != first


def test_email_is_unique_case_insensitively_among_live_users(conn: Conn) -> None:
    make_user(conn, "Joao@Example.com")
    with pytest.raises(psycopg.errors.UniqueViolation):
        make_user(conn, "joao@example.COM")


def test_sign_in_lookup_uses_the_email_key(conn: Conn) -> None:
    """auth_user_by_email reads user_emails by its key (056), then the user by id."""
    conn.execute("SET enable_seqscan = off")
    plan = conn.execute("EXPLAIN SELECT user_id FROM user_emails WHERE email_key = lower('a@b.c')").fetchall()
    assert "user_emails_pkey" in "\n".join(r[0] for r in plan)


def test_no_duplicate_or_prefix_indexes(conn: Conn) -> None:
    rows = conn.execute(
        """
        SELECT a.indexrelid::regclass::text, b.indexrelid::regclass::text
        FROM pg_index a JOIN pg_index b ON a.indrelid = b.indrelid AND a.indexrelid <> b.indexrelid
        JOIN pg_class ca ON ca.oid = a.indexrelid JOIN pg_class cb ON cb.oid = b.indexrelid
        WHERE ca.relam = cb.relam
          AND a.indpred IS NOT DISTINCT FROM b.indpred
          AND a.indexprs IS NOT DISTINCT FROM b.indexprs
          AND a.indnatts <= b.indnatts
          AND (b.indkey::int2[])[0:a.indnatts - 1] = a.indkey::int2[]
          -- a shorter unique index enforces what the longer cannot; an identical one is still a duplicate
          AND ((a.indnatts < b.indnatts AND NOT a.indisunique) OR (a.indnatts = b.indnatts AND a.indexrelid < b.indexrelid))
          AND a.indrelid::regclass::text <> 'migrations'
        """
    ).fetchall()
    assert rows == []


def test_each_platform_id_has_one_unique_index_of_its_scope(conn: Conn) -> None:
    """A platform's ids are unique within the seller's conversation or account (043, decision 117);
    a short link, resolved before any seller is known, across the platform: by the lookup short_links
    (054-056, decision 220), and within the seller by product_links' own key."""
    for table, columns in [
        ("messages", ["user_id", "conversation_id", "platform_message_id"]),
        ("instagram_media", ["user_id", "client_account_id", "platform_media_id"]),
        ("product_links", ["user_id", "short_link"]),
        ("short_links", ["short_link"]),
    ]:
        keys = conn.execute(
            "SELECT array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k (attnum, n)"
            "  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.n)"
            " FROM pg_index i WHERE i.indrelid = %s::regclass AND i.indisunique AND %s = ANY (SELECT attname"
            "  FROM pg_attribute WHERE attrelid = i.indrelid AND attnum = ANY (i.indkey::int2[]))",
            (table, columns[-1]),
        ).fetchall()
        assert keys == [(columns,)], table


def test_last_message_at_follows_every_message(conn: Conn) -> None:
    conv = make_conversation(conn, make_account(conn, make_user(conn)))
    add_message(conn, conv, "m1", "customer", "2026-03-01T10:00Z")
    add_message(conn, conv, "m2", "user", "2026-03-01T11:00Z")  # the seller's reply
    unread, last = conversation(conn, conv)
    assert unread == 1
    assert last.isoformat() == "2026-03-01T11:00:00+00:00"
    add_message(conn, conv, "m0", "customer", "2026-02-01T09:00Z")  # a late backfill does not move it back
    assert conversation(conn, conv)[1].isoformat() == "2026-03-01T11:00:00+00:00"


def test_unread_count_stays_exact(conn: Conn) -> None:
    conv = make_conversation(conn, make_account(conn, make_user(conn)))
    m1 = add_message(conn, conv, "m1", "customer", "2026-03-01T10:00Z")
    m2 = add_message(conn, conv, "m2", "customer", "2026-03-01T10:01Z")
    add_message(conn, conv, "m3", "customer", "2026-03-01T10:02Z", is_read=True)
    add_message(conn, conv, "m4", "user", "2026-03-01T10:03Z")
    assert conversation(conn, conv)[0] == 2
    conn.execute("DELETE FROM messages WHERE id = %s", (m1,))  # an unread customer message deleted
    assert conversation(conn, conv)[0] == 1
    conn.execute("UPDATE messages SET is_read = true WHERE id = %s", (m2,))
    assert conversation(conn, conv)[0] == 0
    conn.execute("UPDATE messages SET is_read = false WHERE id = %s", (m2,))
    assert conversation(conn, conv)[0] == 1
    conn.execute("UPDATE messages SET delivered_at = now()")  # unrelated updates change nothing
    assert conversation(conn, conv)[0] == 1
    actual = scalar(
        conn,
        "SELECT count(*) FROM messages WHERE conversation_id = %s AND sender_type = 'customer' AND NOT is_read",
        (conv,),
    )
    assert actual == 1


def test_batch_insert_counts_every_message(conn: Conn) -> None:
    account = make_account(conn, make_user(conn))
    convs = [make_conversation(conn, account, f"c{i}") for i in range(3)]
    conn.execute(
        """
        INSERT INTO messages (conversation_id, user_id, platform_message_id, sender_type, sent_at)
        SELECT c.id, c.user_id, 'b' || n, CASE WHEN n %% 2 = 0 THEN 'customer' ELSE 'user' END,
               '2026-01-01'::timestamptz + n * interval '1 minute'
        FROM generate_series(1, 300) AS n
        JOIN conversations AS c ON c.id = (%s::uuid[])[1 + n %% 3]
        """,
        (convs,),
    )
    for conv in convs:
        expected = scalar(
            conn,
            "SELECT count(*) FROM messages WHERE conversation_id = %s AND sender_type = 'customer' AND NOT is_read",
            (conv,),
        )
        newest = scalar(conn, "SELECT max(sent_at) FROM messages WHERE conversation_id = %s", (conv,))
        assert conversation(conn, conv) == (expected, newest)


def test_deleting_the_newest_message_moves_last_message_at_back(conn: Conn) -> None:
    conv = make_conversation(conn, make_account(conn, make_user(conn)))
    add_message(conn, conv, "m1", "customer", "2026-03-01T10:00Z")
    m2 = add_message(conn, conv, "m2", "user", "2026-03-01T11:00Z")
    conn.execute("DELETE FROM messages WHERE id = %s", (m2,))
    assert conversation(conn, conv)[1].isoformat() == "2026-03-01T10:00:00+00:00"


def _events(conn: Conn) -> Any:
    user = make_user(conn)
    account = make_account(conn, user)
    conn.execute(
        """
        INSERT INTO analytics_events (user_id, client_account_id, event_type, event_category, value, occurred_at)
        VALUES (%(u)s, %(a)s, 'sale', 'sales', 10, '2026-05-01T23:30Z'),
               (%(u)s, %(a)s, 'sale', 'sales', 20, '2026-05-02T00:30Z'),
               (%(u)s, NULL, 'login', 'engagement', NULL, '2026-05-01T12:00Z'),
               (%(u)s, NULL, 'login', 'engagement', NULL, '2026-05-01T13:00Z')
        """,
        {"u": user, "a": account},
    )
    return user


def test_daily_summary_refresh_keeps_account_less_events(conn: Conn) -> None:
    _events(conn)
    conn.execute("SELECT refresh_analytics_daily_summary()")
    rows = conn.execute(
        "SELECT client_account_id IS NULL, date::text, event_count FROM analytics_daily_summary ORDER BY 2, 1"
    ).fetchall()
    assert rows == [(False, "2026-05-01", 1), (True, "2026-05-01", 2), (False, "2026-05-02", 1)]
    conn.execute("SELECT refresh_analytics_daily_summary()")
    assert scalar(conn, "SELECT count(*) FROM analytics_daily_summary") == 3


def test_refreshing_twice_without_new_events_changes_nothing(conn: Conn) -> None:
    _events(conn)
    conn.execute("SELECT refresh_analytics_daily_summary()")
    before = conn.execute("SELECT ctid::text, * FROM analytics_daily_summary ORDER BY 1").fetchall()
    conn.execute("SELECT rebuild_analytics_daily_summary()")  # every day recomputed, and equal
    after = conn.execute("SELECT ctid::text, * FROM analytics_daily_summary ORDER BY 1").fetchall()
    # Same rows at the same physical places: no row (the NULL-account one included) was rewritten.
    assert after == before


def test_daily_summary_buckets_days_in_utc_whatever_the_session_timezone(conn: Conn) -> None:
    _events(conn)
    conn.execute("SET TimeZone = 'America/Sao_Paulo'")  # 2026-05-02T00:30Z is still May 1st there
    conn.execute("SELECT refresh_analytics_daily_summary()")
    dates = conn.execute(
        "SELECT DISTINCT date::text FROM analytics_daily_summary WHERE event_type = 'sale' ORDER BY 1"
    ).fetchall()
    assert [d[0] for d in dates] == ["2026-05-01", "2026-05-02"]
