"""`socialdb schema diff`: a database changed by hand is reported precisely, one line per difference;
a freshly migrated one reports nothing (socialdb.schema.diff)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from socialdb.cli import app
from socialdb.errors import DriftCheckError
from socialdb.migrate import runner
from socialdb.schema import catalog, diff
from socialdb.schema.model import Catalog
from socialdb.scripts.files import default_directory, load_migrations
from tests.conftest import Databases

NEWEST = load_migrations(default_directory())[-1].filename
SELLER_LIMIT = "public.seller_limit(p_caller text, p_limit integer, p_max integer)"

# What was done by hand, and the lines `schema diff` must print for it: exactly these.
CASES: dict[str, tuple[str, list[str]]] = {
    "extra index": (
        "CREATE INDEX idx_drift ON messages (content)",
        ["index public.messages.idx_drift: expected none, found CREATE INDEX idx_drift ON public.messages USING btree (content)"],
    ),
    "dropped constraint": (
        "ALTER TABLE users DROP CONSTRAINT chk_users_name",
        ["constraint public.users.chk_users_name: expected CHECK (((char_length(name) >= 1) AND (char_length(name) <= 255))), found none"],
    ),
    "changed default": (
        "ALTER TABLE users ALTER COLUMN timezone SET DEFAULT 'UTC'",
        ["default of column public.users.timezone: expected 'America/Sao_Paulo'::text, found 'UTC'::text"],
    ),
    "disabled row-level security": (
        "ALTER TABLE products DISABLE ROW LEVEL SECURITY",
        ["row-level security of table public.products: expected enabled, found disabled"],
    ),
    "dropped policy": (
        "DROP POLICY products_seller ON products",
        ["policy public.products.products_seller: expected ALL to socialdb_app using (user_id = app_user_id()), found none"],
    ),
    "changed policy": (
        "ALTER POLICY products_seller ON products USING (true)",
        ["using of policy public.products.products_seller: expected (user_id = app_user_id()), found true"],
    ),
    "added grant": (
        "GRANT SELECT ON users TO PUBLIC",
        ["grant on table public.users to PUBLIC: expected none, found SELECT"],
    ),
    "added column grant": (
        "GRANT UPDATE (email) ON users TO socialdb_maintenance",
        ["grant on column public.users.email to socialdb_maintenance: expected none, found UPDATE"],
    ),
    "edited function": (
        "CREATE OR REPLACE FUNCTION seller_limit(p_caller text, p_limit integer, p_max integer) RETURNS integer"
        " LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$\nBEGIN\n  RETURN least(p_limit, p_max);\nEND;\n$$",
        [f"body of function {SELLER_LIMIT}: expected line 2 `IF p_limit IS NULL OR p_limit < 1 THEN`, found `RETURN least(p_limit, p_max);`"],
    ),
    "function setting": (
        "ALTER FUNCTION refresh_analytics_daily_summary() RESET work_mem",
        ["settings of function public.refresh_analytics_daily_summary(): expected search_path=pg_catalog, public, pg_temp, work_mem=256MB, found search_path=pg_catalog, public, pg_temp"],
    ),
    "function made security definer": (
        "ALTER FUNCTION seller_limit(text, integer, integer) SECURITY DEFINER",
        [f"security of function {SELLER_LIMIT}: expected invoker, found definer"],
    ),
    "disabled trigger": (
        "ALTER TABLE messages DISABLE TRIGGER message_increment_unread",
        ["state of trigger public.messages.message_increment_unread: expected enabled, found disabled"],
    ),
    "changed column type": (
        "ALTER TABLE notifications ALTER COLUMN action_url TYPE varchar(2000)",
        ["type of column public.notifications.action_url: expected text, found character varying(2000)"],
    ),
    "dropped NOT NULL": (
        "ALTER TABLE notifications ALTER COLUMN title DROP NOT NULL",
        ["nullability of column public.notifications.title: expected NOT NULL, found NULL allowed"],
    ),
    "extra table": (
        "CREATE TABLE scratchpad (id int PRIMARY KEY, note text)",
        ["table public.scratchpad: expected none, found table (id integer, note text)"],
    ),
    "dropped view": (
        "DROP VIEW seller_daily_summary",
        ["view public.seller_daily_summary: expected view (user_id uuid, client_account_id uuid, date date, event_category text, event_type text, event_count bigint, total_value numeric, avg_value numeric), found none"],
    ),
    "database privilege": (
        "DO $$ BEGIN EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO PUBLIC', current_database()); END $$",
        ["database privilege PUBLIC TEMPORARY: expected none, found granted"],
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def expected(databases: Databases, template_name: str) -> Catalog:
    """The catalog of a fresh copy of the migrated template: what every case is compared with."""
    url = databases.create(template=template_name)
    try:
        return catalog.read(url)
    finally:
        databases.drop(url)


@pytest.mark.parametrize("case", list(CASES))
def test_each_change_by_hand_is_one_precise_line(expected: Catalog, db_url: str, case: str) -> None:
    change, lines = CASES[case]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(change)
    assert [str(d) for d in diff.compare(expected, catalog.read(db_url))] == lines


def test_an_index_left_invalid_is_reported(expected: Catalog, db_url: str) -> None:
    """A failed CREATE INDEX CONCURRENTLY leaves an INVALID index with the very definition expected."""
    key = "refresh_tokens_seller_token_hash_key"
    with psycopg.connect(db_url, autocommit=True) as conn:
        comment = conn.execute("SELECT obj_description(%s::regclass, 'pg_class')", (key,)).fetchone()
        conn.execute(f"DROP INDEX {key}")
        user = conn.execute("INSERT INTO users (email, password_hash, name) VALUES ('a@b.c', 'h', 'A') RETURNING id")
        user_id = user.fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO refresh_tokens (user_id, token_hash, expires_at) VALUES (%s, 't', now()), (%s, 't', now())",
            (user_id, user_id),
        )
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                f"CREATE UNIQUE INDEX CONCURRENTLY {key} ON refresh_tokens (user_id, token_hash) WHERE revoked_at IS NULL"
            )
        conn.execute(sql.SQL("COMMENT ON INDEX {} IS {}").format(sql.Identifier(key), sql.Literal(comment[0])))  # type: ignore[index]
    assert [str(d) for d in diff.compare(expected, catalog.read(db_url))] == [
        f"validity of index public.refresh_tokens.{key}: expected valid, found INVALID"
    ]


def test_a_missing_tables_members_are_not_repeated(expected: Catalog, db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP TABLE message_products")
    assert [str(d) for d in diff.compare(expected, catalog.read(db_url))] == [
        "table public.message_products: expected table (id uuid, message_id uuid, product_id uuid, created_at timestamp with time zone, user_id uuid), found none"
    ]


def test_a_freshly_migrated_database_has_no_drift(db_url: str) -> None:
    report = diff.drift(db_url)  # the expected schema built in a scratch database on the same server
    assert report.differences == ()
    assert report.migration == NEWEST


def test_drift_is_measured_against_the_recorded_version(empty_db_url: str) -> None:
    runner.up(empty_db_url, to=12)
    report = diff.drift(empty_db_url)
    assert (report.migration, report.differences) == ("012-create-functions-triggers.sql", ())


def test_a_changed_or_unapplied_migration_is_reported(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE migrations SET up_checksum = 'edited' WHERE version = 5")  # the up part's
        conn.execute("DELETE FROM migrations WHERE version = 7")
    lines = [str(d) for d in diff.drift(db_url).differences]
    assert lines == [
        "migration 005-create-product-links.sql: expected applied as in its file, found its file changed after it was applied",
        "migration 007-create-messages.sql: expected applied as in its file, found never applied",
    ]


def test_a_database_never_migrated_is_refused_in_one_line(empty_db_url: str) -> None:
    with pytest.raises(DriftCheckError, match=r"has no migration history \(no table migrations\)"):
        diff.drift(empty_db_url)


def test_the_cli_prints_each_difference_and_exits_1(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE INDEX idx_drift ON messages (content)")
        conn.execute("GRANT SELECT ON users TO PUBLIC")
    result = CliRunner().invoke(app, ["schema", "diff", "--database-url", db_url])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "index public.messages.idx_drift: expected none, found CREATE INDEX idx_drift ON public.messages USING btree (content)",
        "grant on table public.users to PUBLIC: expected none, found SELECT",
        f"2 difference(s) from the migrations up to {NEWEST}",
    ]


def test_the_cli_says_so_when_there_is_no_drift(db_url: str) -> None:
    result = CliRunner().invoke(app, ["schema", "diff", "--database-url", db_url])
    assert (result.exit_code, result.stdout) == (0, f"no drift: the database matches the migrations up to {NEWEST}\n")


def test_the_cli_refuses_an_unmigrated_database_in_one_line(empty_db_url: str) -> None:
    result = CliRunner().invoke(app, ["schema", "diff", "--database-url", empty_db_url])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1 and "no migration history" in result.stderr
