"""Time-ordered ids (migration 039, decision 107): new rows of the tables that grow with
traffic get UUIDs of version 7, whatever path writes them, and the migration locks one
table at a time and finishes on a retry after failing part way through."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import psycopg
import pytest

from socialdb.app import operations as ops
from socialdb.app.partitions import add_months, maintain, month_start, partition_name
from socialdb.app.tenant import seller
from socialdb.errors import SocialdbError
from socialdb.migrate import runner
from socialdb.scripts.options import RunOptions
from tests.helpers import (
    add_seller,
    history,
    in_background,
    join,
    login_role,
    partitions_end_at,
    sessions_waiting,
    wait_for,
)

SELLER = uuid.UUID("dddddddd-0000-4000-8000-00000000000d")
ACCOUNT = uuid.UUID("dddddddd-0000-4000-8000-0000000000ad")
TABLES = ["analytics_events", "messages", "conversations", "message_products", "notifications"]
DEFAULTS = """
SELECT c.relname, pg_get_expr(d.adbin, d.adrelid)
FROM pg_attrdef AS d
JOIN pg_class AS c ON c.oid = d.adrelid
JOIN pg_attribute AS a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
WHERE a.attname = 'id' AND c.relnamespace = 'public'::regnamespace
  AND (%(table)s::regclass IS NULL OR d.adrelid = %(table)s::regclass)
"""


def milliseconds(value: uuid.UUID) -> int:
    return value.int >> 80  # the first 48 bits


def defaults(url: str, table: str | None = None) -> dict[str, str]:
    """The id defaults of every table, or of `table` alone (pg_get_expr locks each table it reads)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(DEFAULTS, {"table": table}).fetchall()
    return {str(name): str(default) for name, default in rows}


def default_of(url: str, table: str) -> str:
    return defaults(url, table)[table]


@pytest.fixture
def app_url(db_url: str) -> Iterator[str]:
    with psycopg.connect(db_url, autocommit=True) as admin:
        add_seller(admin, SELLER, ACCOUNT)
    with login_role(db_url, "socialdb_app") as (_, url):
        yield url


def test_ids_are_version_7_and_carry_the_time_they_were_made(app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as conn:
        rows = [
            conn.execute("SELECT clock_timestamp(), time_ordered_uuid(), clock_timestamp()").fetchone()
            for _ in range(300)
        ]
    ids = [row[1] for row in rows if row]
    assert len(set(ids)) == 300
    for before, made, after in (row for row in rows if row):
        assert (made.version, made.variant) == (7, uuid.RFC_4122)
        assert int(before.timestamp() * 1000) <= milliseconds(made) <= int(after.timestamp() * 1000)
    # In the order they were made: PostgreSQL compares uuids byte by byte, time first.
    assert [milliseconds(i) for i in ids] == sorted(milliseconds(i) for i in ids)


def test_every_write_path_of_the_application_gets_them(app_url: str, db_url: str) -> None:
    now = datetime.now(UTC)
    current = month_start(now)
    # The application may write only what happened (047): the legacy partition (made before
    # 039) ends last month, and maintain makes the current month's (after 039), from the parent.
    with psycopg.connect(db_url, autocommit=True) as admin:
        partitions_end_at(admin, current)
    before = {name for name in defaults(db_url) if name.startswith("analytics_events_")}
    maintain(db_url, months_ahead=0)
    earlier, later = add_months(current, -1).replace(day=5), now
    with psycopg.connect(app_url, autocommit=True) as conn:
        ops.ingest_message(conn, SELLER, ops.IncomingMessage(ACCOUNT, "c1", "p", "m1", "customer", now))
        with seller(conn, SELLER):
            ops.ingest_batch(conn, [ops.IncomingMessage(ACCOUNT, "c2", "p", "m2", "customer", now)])
            events = [ops.Event(SELLER, ACCOUNT, "sale", "sales", when, Decimal("1")) for when in (earlier, later)]
            ops.record_events(conn, events)
            ids = [row[0] for row in conn.execute("SELECT id FROM messages UNION ALL SELECT id FROM conversations")]
            placed = dict(conn.execute("SELECT tableoid::regclass::text, id FROM analytics_events").fetchall())
    assert len(ids) == 4 and len(placed) == 2 and partition_name(later) in placed
    assert {i.version for i in ids + list(placed.values())} == {7}
    # Through the parent, its default applies, in a partition made before 039 as in one made after.
    (older,) = set(placed) & before
    assert default_of(db_url, older) == "gen_random_uuid()"


def test_the_five_tables_and_the_partitions_made_since_default_to_them(db_url: str) -> None:
    before = {name for name in defaults(db_url) if name.startswith("analytics_events_")}
    maintain(db_url, months_ahead=6)
    found = defaults(db_url)
    made = {name for name in found if name.startswith("analytics_events_")} - before
    assert partition_name(add_months(month_start(datetime.now(UTC)), 6)) in made
    for table in TABLES + sorted(made):
        assert found[table] == "time_ordered_uuid()", table
    # 039 sets the parent ONLY (one lock): older partitions keep theirs, which no insert uses.
    assert {found[name] for name in before} == {"gen_random_uuid()"}
    assert found["users"] == "gen_random_uuid()"  # low-traffic tables keep random ids


def test_every_role_that_may_insert_may_call_it(db_url: str, socialdb_owner_conn: Any) -> None:
    """A default runs with the inserting role's rights: the owner's repairs must not fail on it."""
    socialdb_owner_conn.execute("INSERT INTO users (email, password_hash, name) VALUES ('o@x.com', 'h', 'O')")
    row = socialdb_owner_conn.execute(
        "INSERT INTO analytics_events (user_id, event_type, event_category, occurred_at)"
        " SELECT id, 'fix', 'sales', now() FROM users RETURNING id"
    ).fetchone()
    assert row is not None and row[0].version == 7
    with psycopg.connect(db_url) as conn:
        owner = conn.execute("SELECT proowner::regrole::text FROM pg_proc WHERE proname = 'time_ordered_uuid'")
        assert owner.fetchone() == ("socialdb_owner",)  # whoever ran the migration (here a superuser)
        public = conn.execute("SELECT has_function_privilege('public', 'time_ordered_uuid()', 'EXECUTE')")
        assert public.fetchone() == (True,)


def test_a_member_of_the_owner_role_may_roll_it_back(db_url: str) -> None:
    """Whoever applied it (here the server's superuser), the function is the owner role's."""
    runner.down(db_url, to=39)  # 040's rollback restores SET app.user_id clauses: a superuser's
    with login_role(db_url, "socialdb_owner") as (_, url):
        runner.down(url, to=38)
    found = defaults(db_url)
    assert [found[t] for t in TABLES] == ["gen_random_uuid()"] * len(TABLES)
    runner.up(db_url)
    assert all(defaults(db_url)[table] == "time_ordered_uuid()" for table in TABLES)


def test_each_table_is_locked_alone(db_url: str) -> None:
    """While 039 waits for conversations, messages (altered just before) takes writes."""
    runner.down(db_url, to=38)
    with psycopg.connect(db_url) as blocker:
        blocker.execute("LOCK TABLE conversations IN ACCESS SHARE MODE")
        migrate = partial(runner.up, db_url, options=RunOptions(lock_timeout_ms=20_000, lock_retries=1))
        thread, errors = in_background(migrate, "migrate-039")
        waiting = partial(sessions_waiting, db_url, "Lock", None, "ALTER TABLE conversations")
        wait_for(lambda: waiting() == 1, what="039 waiting on conversations")
        assert default_of(db_url, "messages") == "time_ordered_uuid()"  # altered, committed, its lock gone
        with psycopg.connect(db_url, autocommit=True) as other:
            other.execute("SET lock_timeout = '2s'")
            other.execute("SELECT count(*) FROM messages")  # would time out under a held lock
            with other.transaction():
                other.execute("LOCK TABLE messages IN ROW EXCLUSIVE MODE")  # an insert's lock
        blocker.rollback()
        join(thread)
    assert errors == []
    assert all(defaults(db_url)[table] == "time_ordered_uuid()" for table in TABLES)


def test_a_run_stopped_part_way_finishes_on_retry(db_url: str) -> None:
    runner.down(db_url, to=38)
    quick = RunOptions(lock_timeout_ms=100, lock_retries=1)
    with psycopg.connect(db_url) as blocker:
        blocker.execute("LOCK TABLE conversations IN ACCESS SHARE MODE")
        with pytest.raises(SocialdbError, match="conversations"):
            runner.up(db_url, options=quick)
        blocker.rollback()
    found = defaults(db_url)
    assert [found[t] for t in TABLES] == ["time_ordered_uuid()"] * 2 + ["gen_random_uuid()"] * 3
    assert history(db_url)[-1] == (39, "failed")
    runner.resolve(db_url, 39, "retry", options=quick)
    assert all(defaults(db_url)[table] == "time_ordered_uuid()" for table in TABLES)
    assert history(db_url)[-1] == (39, "applied")
