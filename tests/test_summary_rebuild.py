"""The summary's rebuild repairs every kind of damage and writes nothing else (migration 037):
it must equal a full recomputation of the events afterwards, summary and rollup alike."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

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
    conn.execute("INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'h', 'S')", (user, f"{user}@x"))
    conn.execute(
        "INSERT INTO client_accounts (id, user_id, platform, platform_account_id, username)"
        " VALUES (%s, %s, 'instagram', %s, 'loja')",
        (account, user, str(account)),
    )
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
