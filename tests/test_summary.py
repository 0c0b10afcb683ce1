"""The daily summary kept incrementally (migration 023): always what a full recomputation
from analytics_events would give, after any mix of writes and refreshes, and never a wait
for its readers."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialdb.migrate import runner
from tests.helpers import LATEST, join, wait_for

Conn = psycopg.Connection[tuple[Any, ...]]

SELLERS = ["aaaaaaaa-0000-4000-8000-00000000000a", "bbbbbbbb-0000-4000-8000-00000000000b"]
ACCOUNTS = ["aaaaaaaa-1111-4000-8000-00000000000a", "bbbbbbbb-1111-4000-8000-00000000000b"]

# The summary's definition before 023, computed from scratch.
FROM_SCRATCH = """
SELECT user_id, client_account_id, coalesce(client_account_id, '00000000-0000-0000-0000-000000000000'::uuid),
       (occurred_at AT TIME ZONE 'UTC')::date, event_category, event_type, count(*), sum(value), avg(value)
FROM analytics_events
GROUP BY 1, 2, 3, 4, 5, 6
ORDER BY 1, 3, 4, 5, 6
"""
SUMMARY = """
SELECT user_id, client_account_id, client_account_key, date, event_category, event_type, event_count, total_value, avg_value
FROM analytics_daily_summary
ORDER BY 1, 3, 4, 5, 6
"""
ROLLUP_FROM_SUMMARY = """
SELECT user_id, date, event_category, sum(event_count)::bigint, sum(total_value)
FROM analytics_daily_summary GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
ROLLUP = "SELECT user_id, date, event_category, event_count, total_value FROM analytics_daily_rollup ORDER BY 1, 2, 3"

INSERT = """
INSERT INTO analytics_events (user_id, client_account_id, event_type, event_category, value, occurred_at)
VALUES (%s, %s, %s, %s, %s, '2026-05-01T00:00Z'::timestamptz + %s * interval '1 hour')
"""
# The k-th event in id order (modulo their number), so that any drawn k names an event.
NTH = "(SELECT id FROM analytics_events ORDER BY id OFFSET %s %% greatest((SELECT count(*) FROM analytics_events), 1) LIMIT 1)"
STATEMENTS = {
    "move": f"UPDATE analytics_events SET occurred_at = occurred_at + %s * interval '1 hour' WHERE id = {NTH}",
    "revalue": f"UPDATE analytics_events SET value = %s WHERE id = {NTH}",
    "delete": f"DELETE FROM analytics_events WHERE id = {NTH}",
}


@pytest.fixture
def sellers(conn: Conn) -> Conn:
    for n, (user, account) in enumerate(zip(SELLERS, ACCOUNTS, strict=True)):
        conn.execute(
            "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'h', 'Seller')", (user, f"s{n}@x.com")
        )
        conn.execute(
            "INSERT INTO client_accounts (id, user_id, platform, platform_account_id, username)"
            " VALUES (%s, %s, 'instagram', %s, 'loja')",
            (account, user, f"ig-{n}"),
        )
    return conn


def same_as_from_scratch(conn: Conn) -> None:
    assert conn.execute(SUMMARY).fetchall() == conn.execute(FROM_SCRATCH).fetchall()
    assert conn.execute(ROLLUP).fetchall() == conn.execute(ROLLUP_FROM_SUMMARY).fetchall()


insert = st.tuples(
    st.just("insert"),
    st.integers(0, 1),  # seller
    st.booleans(),  # with its account, or none
    st.sampled_from([("sale", "sales"), ("view", "engagement"), ("reply", "message")]),
    st.one_of(st.none(), st.decimals(0, 500, places=2)),
    st.integers(-30, 80),  # hours from 2026-05-01T00:00Z: several days, both sides of midnight
)
change = st.tuples(st.sampled_from(["move", "revalue", "delete"]), st.integers(0, 50), st.integers(-30, 30))
step = st.one_of(insert, insert, change, st.just(("refresh",)), st.just(("drop account",)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(step, min_size=1, max_size=25))
def test_after_any_writes_a_refresh_equals_a_full_recomputation(sellers: Conn, steps: list[tuple[Any, ...]]) -> None:
    dropped = False
    with sellers.transaction(force_rollback=True):
        for item in steps:
            kind = item[0]
            if kind == "insert":
                _, who, with_account, (event_type, category), value, hours = item
                account = ACCOUNTS[who] if with_account and not (dropped and who == 0) else None
                sellers.execute(INSERT, (SELLERS[who], account, event_type, category, value, hours))
            elif kind == "refresh":
                sellers.execute("SELECT refresh_analytics_daily_summary()")
            elif kind == "drop account":  # cascades to its events
                sellers.execute("DELETE FROM client_accounts WHERE id = %s", (ACCOUNTS[0],))
                dropped = True
            elif kind == "revalue":
                sellers.execute(STATEMENTS[kind].encode(), (item[2], item[1]))
            else:
                sellers.execute(STATEMENTS[kind].encode(), (item[2], item[1]) if kind == "move" else (item[1],))
        sellers.execute("SELECT refresh_analytics_daily_summary()")
        same_as_from_scratch(sellers)
        assert sellers.execute("SELECT count(*) FROM analytics_summary_changes").fetchone() == (0,)


def test_a_refresh_rewrites_only_the_days_that_changed(sellers: Conn) -> None:
    for hours in (1, 2, 30):  # May 1st twice, May 2nd
        sellers.execute(INSERT, (SELLERS[0], ACCOUNTS[0], "sale", "sales", 10, hours))
    sellers.execute("SELECT refresh_analytics_daily_summary()")
    where = lambda day: f"SELECT ctid::text, event_count FROM analytics_daily_summary WHERE date = '{day}'"  # noqa: E731
    may_1, may_2 = sellers.execute(where("2026-05-01")).fetchall(), sellers.execute(where("2026-05-02")).fetchall()
    sellers.execute(INSERT, (SELLERS[0], ACCOUNTS[0], "sale", "sales", 10, 31))
    sellers.execute("SELECT refresh_analytics_daily_summary()")
    assert sellers.execute(where("2026-05-01")).fetchall() == may_1  # untouched, not even rewritten
    assert sellers.execute(where("2026-05-02")).fetchall()[0][1] == 2
    assert sellers.execute(where("2026-05-02")).fetchall() != may_2


def test_events_committed_during_a_refresh_are_caught_by_the_next(sellers: Conn, db_url: str) -> None:
    sellers.execute(INSERT, (SELLERS[0], ACCOUNTS[0], "sale", "sales", 10, 1))
    with psycopg.connect(db_url) as late:
        late.execute(INSERT, (SELLERS[0], ACCOUNTS[0], "sale", "sales", 10, 2))  # same day, not committed yet
        with psycopg.connect(db_url, autocommit=True) as refresher:
            refresher.execute("SET lock_timeout = '2s'")  # it must not wait for the open transaction
            refresher.execute("SELECT refresh_analytics_daily_summary()")
        late.commit()
    assert sellers.execute("SELECT event_count FROM analytics_daily_summary").fetchall() == [(1,)]
    sellers.execute("SELECT refresh_analytics_daily_summary()")
    assert sellers.execute("SELECT event_count FROM analytics_daily_summary").fetchall() == [(2,)]


def test_readers_never_wait_for_a_refresh(sellers: Conn, db_url: str) -> None:
    sellers.execute(INSERT, (SELLERS[0], ACCOUNTS[0], "sale", "sales", 10, 1))
    sellers.execute("SELECT refresh_analytics_daily_summary()")
    sellers.execute(INSERT, (SELLERS[0], ACCOUNTS[0], "sale", "sales", 10, 2))
    with psycopg.connect(db_url) as refresher, psycopg.connect(db_url, autocommit=True) as reader:
        refresher.execute("SELECT refresh_analytics_daily_summary()")  # its transaction stays open
        reader.execute("SET lock_timeout = '1s'")
        assert reader.execute("SELECT event_count FROM analytics_daily_summary").fetchall() == [(1,)]
        assert reader.execute("SELECT event_count FROM analytics_daily_rollup").fetchall() == [(1,)]
        refresher.commit()
        assert reader.execute("SELECT event_count FROM analytics_daily_summary").fetchall() == [(2,)]


def test_a_second_refresh_waits_for_the_first_then_finds_the_rest(sellers: Conn, db_url: str) -> None:
    sellers.execute(INSERT, (SELLERS[0], ACCOUNTS[0], "sale", "sales", 10, 1))
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as conn:
                conn.execute("SELECT refresh_analytics_daily_summary()")
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    with psycopg.connect(db_url) as first:
        first.execute("SELECT refresh_analytics_daily_summary()")
        thread = threading.Thread(target=second)
        thread.start()
        wait_for(
            lambda: (
                sellers.execute(
                    "SELECT count(*) FROM pg_locks WHERE relation = 'analytics_summary_changes'::regclass"
                    " AND mode = 'ShareUpdateExclusiveLock' AND NOT granted"
                ).fetchone()
                == (1,)
            ),
            what="the second refresh to wait",
        )
        sellers.execute(INSERT, (SELLERS[1], None, "view", "engagement", None, 5))
        first.commit()
    join(thread, 60)
    assert errors == []
    same_as_from_scratch(sellers)


def test_truncating_the_events_empties_the_summary(sellers: Conn) -> None:
    sellers.execute(INSERT, (SELLERS[0], ACCOUNTS[0], "sale", "sales", 10, 1))
    sellers.execute("SELECT refresh_analytics_daily_summary()")
    sellers.execute(INSERT, (SELLERS[0], ACCOUNTS[0], "sale", "sales", 10, 2))
    sellers.execute("TRUNCATE analytics_events")
    for table in ("analytics_daily_summary", "analytics_daily_rollup", "analytics_summary_changes"):
        assert sellers.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table  # type: ignore[arg-type]


def test_migration_keeps_the_summary_through_down_and_up(sellers: Conn, db_url: str) -> None:
    for n, hours in enumerate((1, 20, 26, 50)):
        sellers.execute(INSERT, (SELLERS[n % 2], ACCOUNTS[n % 2] if n < 3 else None, "sale", "sales", n, hours))
    sellers.execute("SELECT refresh_analytics_daily_summary()")
    summary = sellers.execute(SUMMARY).fetchall()
    runner.down(db_url, LATEST - 22)  # back to 022's materialized view, computed from the events
    assert sellers.execute("SELECT relkind FROM pg_class WHERE relname = 'analytics_daily_summary'").fetchone() == (
        "m",
    )
    assert sellers.execute(SUMMARY).fetchall() == summary
    sellers.execute(INSERT, (SELLERS[0], None, "view", "engagement", None, 70))  # not in the view until refreshed
    runner.up(db_url)  # the table is filled from every event, the new one included
    same_as_from_scratch(sellers)
    assert len(sellers.execute(SUMMARY).fetchall()) == len(summary) + 1
