"""The summary's rebuild repairs every kind of damage and writes nothing else (migration 037):
it must equal a full recomputation of the events afterwards, summary and rollup alike. And
the days the retention dropped stay as the summary kept them, whatever arrives late
(decision 104; the last two tests come from the review of 031-037)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import psycopg
import pytest

from socialdb.app import partitions
from socialdb.app.partitions import add_months, month_start
from tests.helpers import add_seller, login_role

Conn = psycopg.Connection[Any]

# The summary and the rollup as they should be, from the events alone.
TRUTH = """
SELECT user_id, client_account_id, (occurred_at AT TIME ZONE 'UTC')::date, event_category, event_type,
       count(*), sum(value), avg(value)
FROM analytics_events GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
"""
SUMMARY = """
SELECT user_id, client_account_id, date, event_category, event_type, event_count, total_value, avg_value
FROM analytics_daily_summary ORDER BY 1, 2, 3, 4, 5
"""
ROLLUP_TRUTH = """
SELECT user_id, (occurred_at AT TIME ZONE 'UTC')::date, event_category, count(*), sum(value)
FROM analytics_events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
ROLLUP = "SELECT user_id, date, event_category, event_count, total_value FROM analytics_daily_rollup ORDER BY 1, 2, 3"


def seller_with_events(conn: Conn) -> uuid.UUID:
    user = uuid.uuid4()
    account = uuid.uuid4()
    add_seller(conn, user, account)
    conn.execute(
        """
        INSERT INTO analytics_events (user_id, client_account_id, event_type, event_category, value, occurred_at)
        SELECT %(u)s, CASE WHEN n %% 3 = 0 THEN NULL ELSE %(a)s::uuid END,
               (ARRAY['sale', 'click', 'view'])[1 + n %% 3], (ARRAY['sales', 'engagement', 'content'])[1 + n %% 3],
               CASE WHEN n %% 3 = 0 THEN n END, '2026-05-01T00:00Z'::timestamptz + n * interval '5 hours'
        FROM generate_series(1, 60) AS n
        """,
        {"u": user, "a": account},
    )
    return user


def test_a_rebuild_repairs_every_kind_of_damage(conn: Conn) -> None:
    sellers = [seller_with_events(conn) for _ in range(2)]
    conn.execute("SELECT refresh_analytics_daily_summary()")
    assert conn.execute(SUMMARY).fetchall() == conn.execute(TRUTH).fetchall()
    # Damage: a wrong count, a wrong value, a missing row, a row of a day without events,
    # the same in the rollup; and changes noted for days that did not change.
    conn.execute("UPDATE analytics_daily_summary SET event_count = event_count + 5 WHERE ctid IN"
                 " (SELECT ctid FROM analytics_daily_summary LIMIT 3)")  # fmt: skip
    conn.execute("UPDATE analytics_daily_summary SET avg_value = 0 WHERE avg_value IS NOT NULL AND ctid IN"
                 " (SELECT ctid FROM analytics_daily_summary WHERE avg_value IS NOT NULL LIMIT 2)")  # fmt: skip
    conn.execute("DELETE FROM analytics_daily_summary WHERE ctid IN (SELECT ctid FROM analytics_daily_summary LIMIT 4)")
    conn.execute(
        "INSERT INTO analytics_daily_summary (user_id, client_account_id, client_account_key, date, event_category,"
        " event_type, event_count, total_value, avg_value)"
        " VALUES (%s, NULL, '00000000-0000-0000-0000-000000000000', '2026-08-01', 'sales', 'ghost', 9, 9, 9)",
        (sellers[0],),
    )
    conn.execute(
        "UPDATE analytics_daily_rollup SET event_count = 0 WHERE ctid IN (SELECT ctid FROM analytics_daily_rollup LIMIT 2)"
    )
    conn.execute("DELETE FROM analytics_daily_rollup WHERE ctid IN (SELECT ctid FROM analytics_daily_rollup LIMIT 1)")
    conn.execute(
        "INSERT INTO analytics_daily_rollup (user_id, date, event_category, event_count, total_value)"
        " VALUES (%s, '2026-08-02', 'sales', 1, 1)",
        (sellers[1],),
    )
    conn.execute("INSERT INTO analytics_summary_changes (user_id, date) VALUES (%s, '2026-05-02')", (sellers[1],))
    assert conn.execute(SUMMARY).fetchall() != conn.execute(TRUTH).fetchall()
    conn.execute("SELECT rebuild_analytics_daily_summary()")
    assert conn.execute(SUMMARY).fetchall() == conn.execute(TRUTH).fetchall()
    assert conn.execute(ROLLUP).fetchall() == conn.execute(ROLLUP_TRUTH).fetchall()
    assert conn.execute("SELECT count(*) FROM analytics_summary_changes").fetchone() == (0,)


def test_a_rebuild_writes_only_the_rows_that_differ(conn: Conn) -> None:
    seller_with_events(conn)
    conn.execute("SELECT refresh_analytics_daily_summary()")
    conn.execute(
        "UPDATE analytics_daily_summary SET event_count = 0 WHERE ctid = (SELECT min(ctid) FROM analytics_daily_summary)"
    )
    before = {row[0]: row[1:] for row in conn.execute("SELECT ctid::text, * FROM analytics_daily_summary")}
    rollup_before = conn.execute("SELECT ctid::text FROM analytics_daily_rollup ORDER BY 1").fetchall()
    conn.execute("SELECT rebuild_analytics_daily_summary()")
    after = {row[0]: row[1:] for row in conn.execute("SELECT ctid::text, * FROM analytics_daily_summary")}
    moved = set(before) ^ set(after)
    assert len(moved) == 2  # the damaged row's old place and its new one; every other row stays put
    assert conn.execute("SELECT ctid::text FROM analytics_daily_rollup ORDER BY 1").fetchall() == rollup_before


SELLER = uuid.UUID("dddddddd-0000-4000-8000-00000000000d")
ACCOUNT = uuid.UUID("dddddddd-0000-4000-8000-0000000000ad")
INSERT_EVENT = (
    "INSERT INTO analytics_events (user_id, event_type, event_category, value, occurred_at)"
    " VALUES (%s, 'sale', 'sales', 1, %s)"
)
DAY_ROWS = "SELECT event_count FROM analytics_daily_summary WHERE user_id = %s AND date = %s"
ROLLUP_ROWS = "SELECT event_count FROM analytics_daily_rollup WHERE user_id = %s AND date = %s"


def now_of(conn: Conn) -> datetime:
    row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    moment: datetime = row[0]
    return moment


@pytest.fixture
def seller_conn(conn: Conn) -> Conn:
    add_seller(conn, SELLER, ACCOUNT)
    return conn


def _app_insert_event(app_url: str, at: datetime) -> str:
    """One event of SELLER's, as the application writes it; returns the partition it landed in."""
    with psycopg.connect(app_url, autocommit=True) as app:
        app.execute("SELECT set_config('app.user_id', %s, false)", (str(SELLER),))
        row = app.execute(INSERT_EVENT + " RETURNING tableoid::regclass::text", (SELLER, at)).fetchone()
    assert row is not None
    return str(row[0])


def _expire_a_month_with_five_events(seller_conn: Conn, db_url: str) -> datetime:
    """Five events on one past day, summarised; then the retention drops that day's partition
    (034's legacy one, as it will two years after its bound). Returns the day. The day is in the
    past, so a late event of it is one the application may still write (migration 047)."""
    day = add_months(month_start(now_of(seller_conn)), -7).replace(day=10, hour=12)  # in the legacy partition
    for _ in range(5):
        seller_conn.execute(INSERT_EVENT, (SELLER, day))
    seller_conn.execute("SELECT refresh_analytics_daily_summary()")
    assert seller_conn.execute(DAY_ROWS, (SELLER, day.date())).fetchall() == [(5,)]
    legacy_end = add_months(month_start(now_of(seller_conn)), 2)  # 034's bound
    report = partitions.maintain(
        db_url, months_ahead=0, retain_months=24, now=add_months(legacy_end, 24).replace(day=15)
    )
    assert "analytics_events_legacy" in report.dropped
    return day


def test_a_late_event_of_a_dropped_month_does_not_erase_its_kept_day_in_the_refresh(
    seller_conn: Conn, db_url: str
) -> None:
    day = _expire_a_month_with_five_events(seller_conn, db_url)
    with login_role(db_url, "socialdb_app") as (_, app_url):
        landed = _app_insert_event(app_url, day)  # a late (or replayed, or imported) event of that day
    assert landed == "analytics_events_default"
    seller_conn.execute("SELECT refresh_analytics_daily_summary()")
    kept = seller_conn.execute(DAY_ROWS, (SELLER, day.date())).fetchall()
    rollup = seller_conn.execute(ROLLUP_ROWS, (SELLER, day.date())).fetchall()
    # Decisions 91 and 104: the five events the retention dropped are the only record of that
    # day; the refresh must not recompute it from the one late event (it gave 1 before 037).
    assert kept == [(5,)] and rollup == [(5,)], f"kept day overwritten: summary {kept}, rollup {rollup}"


def test_a_late_event_of_a_dropped_month_does_not_erase_its_kept_day_in_the_rebuild(
    seller_conn: Conn, db_url: str
) -> None:
    day = _expire_a_month_with_five_events(seller_conn, db_url)
    seller_conn.execute(INSERT_EVENT, (SELLER, day))  # lands in the default partition
    seller_conn.execute("DELETE FROM analytics_summary_changes")  # the rebuild alone (037), no refresh
    seller_conn.execute("SELECT rebuild_analytics_daily_summary()")
    kept = seller_conn.execute(DAY_ROWS, (SELLER, day.date())).fetchall()
    # The rebuild aggregates only events from the oldest partition's first day on (104).
    assert kept == [(5,)], f"kept day overwritten by the rebuild: {kept}"
