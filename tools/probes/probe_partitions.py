"""Partitioned events (issue 16, part 1): what the conversion costs a live database, and what it buys.

On databases of its own (`socialdb_probe_partitions_ours` and `_spec`, on the embedded server
`socialdb bench generate` uses), loaded with the benchmark's data at SCALE (argument 1, default
0.2: 1M events; 1 is 5M):
  (a) removing a month of events: DROP of its partition (detach + drop; `socialdb maintain` now
      drops it still attached, which spares users and client_accounts a lock) against DELETE of
      the same month on the spec's unpartitioned table;
  (b) `migrate up` from 030 to the newest (031-034) while a writer, as socialdb_app, inserts one
      event per transaction: each migration's duration and the writer's longest insert;
  (c) the dashboard (90 days of the biggest sellers) and a summary refresh after 5,000 new
      events, before and after the conversion.
    uv run python -m tools.probes.probe_partitions [SCALE]
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from socialdb import embedded
from socialdb.app import operations as ops
from socialdb.app.tenant import seller
from socialdb.bench import generate
from socialdb.bench.run import _apply_spec_schema, _recreate, machine, url_for
from socialdb.db import with_database
from socialdb.migrate import runner
from socialdb.settings import embedded_dir

OURS, SPEC = "socialdb_probe_partitions_ours", "socialdb_probe_partitions_spec"
APP_ROLE = "socialdb_probe_partitions_app"
MONTH = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))  # a month of the generated data
REPEAT = 20


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
    admin = embedded.start(embedded_dir())
    ours, spec = url_for(admin, OURS), url_for(admin, SPEC)
    print(f"probe_partitions: scale {scale:g}, {machine()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    started = time.perf_counter()
    _prepare(admin, ours, spec, scale)
    print(f"generated in {time.perf_counter() - started:.0f} s")
    app_url = _app_login(admin, ours)
    before = _hot_paths(ours, app_url)
    print(f"before: dashboard median {before[0]:.2f} ms, refresh of 5,000 new events {before[1]:.0f} ms")
    _conversion(ours, app_url)
    after = _hot_paths(ours, app_url)
    print(f"after: dashboard median {after[0]:.2f} ms, refresh of 5,000 new events {after[1]:.0f} ms")
    _month_removal(ours, spec)


def _prepare(admin: str, ours: str, spec: str, scale: float) -> None:
    for name in (OURS, SPEC):
        _recreate(admin, name)
    runner.up(ours, to=30)
    _apply_spec_schema(spec)
    with psycopg.connect(ours) as o, psycopg.connect(spec) as s:
        generate.load(o, s, scale, lambda *_: None)
    with psycopg.connect(ours, autocommit=True) as conn:
        conn.execute("SELECT rebuild_analytics_daily_summary()")
        conn.execute("VACUUM (ANALYZE)")
    with psycopg.connect(spec, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def _app_login(admin: str, ours: str) -> str:
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE socialdb_app").format(sql.Identifier(APP_ROLE)))
    params = psycopg.conninfo.conninfo_to_dict(ours)
    params["user"] = APP_ROLE
    return with_database(psycopg.conninfo.make_conninfo("", **params), OURS)


def _sellers(url: str) -> list[Any]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT user_id FROM analytics_events GROUP BY 1 ORDER BY count(*) DESC LIMIT 5")
        return [r[0] for r in rows]


def _hot_paths(ours: str, app_url: str) -> tuple[float, float]:
    """Median dashboard call (ms) over the five biggest sellers, and one refresh after 5,000 events (ms)."""
    sellers = _sellers(ours)
    last = date(2026, 10, 31)
    times = []
    with psycopg.connect(app_url) as conn:
        for n in range(REPEAT * len(sellers)):
            user = sellers[n % len(sellers)]
            t0 = time.perf_counter()
            with seller(conn, user):
                ops.dashboard(conn, user, last - timedelta(days=89), last)
            times.append((time.perf_counter() - t0) * 1000)
        moment = datetime(2026, 10, 30, 12, tzinfo=UTC)
        for user in sellers:
            with seller(conn, user):
                ops.record_events(conn, [ops.Event(user, None, "sale", "sales", moment, Decimal("9.90"))] * 1000)
    with psycopg.connect(ours, autocommit=True) as conn:
        t0 = time.perf_counter()
        conn.execute("SELECT refresh_analytics_daily_summary()")
        refresh = (time.perf_counter() - t0) * 1000
    return statistics.median(times), refresh


def _conversion(ours: str, app_url: str) -> None:
    user = _sellers(ours)[0]
    stop, latencies, errors = threading.Event(), list[tuple[float, float]](), list[str]()
    marks: list[tuple[float, str]] = []  # when the runner said what it was doing
    writer = threading.Thread(target=_write, args=(app_url, user, stop, latencies, errors))
    writer.start()
    time.sleep(1)
    try:
        t0 = time.perf_counter()
        outcomes = runner.up(ours, report=lambda event: marks.append((time.perf_counter(), str(event))))
        total = time.perf_counter() - t0
    finally:
        time.sleep(1)
        stop.set()
        writer.join(60)
    for o in outcomes:
        print(f"  {o.migration.filename}: {o.duration_ms} ms")
    started, longest = max(latencies, key=lambda x: x[1])
    during = next((line for at, line in reversed(marks) if at <= started), "before the first migration")
    print(
        f"conversion (migrate up 031-{outcomes[-1].migration.version:03d}): {total:.2f} s;"
        f" writer: {len(latencies)} inserts, longest {longest:.0f} ms (started after: {during}),"
        f" median {statistics.median(ms for _, ms in latencies):.1f} ms, errors {len(errors)} {errors[:1]}"
    )


def _write(url: str, user: Any, stop: threading.Event, latencies: list[tuple[float, float]], errors: list[str]) -> None:
    """One event per transaction until told to stop; each insert's start and duration (ms)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT set_config('app.user_id', %s, false)", (str(user),))
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                conn.execute(
                    "INSERT INTO analytics_events (user_id, event_type, event_category, occurred_at)"
                    " VALUES (app_user_id(), 'probe', 'engagement', now())"
                )
            except psycopg.Error as exc:
                errors.append(str(exc).strip())
            latencies.append((t0, (time.perf_counter() - t0) * 1000))
            time.sleep(0.01)


def _month_removal(ours: str, spec: str) -> None:
    """The same month's rows: DELETE on the spec's table (rolled back after timing) against dropping a partition."""
    with psycopg.connect(spec) as conn:
        t0 = time.perf_counter()
        deleted = conn.execute(
            "DELETE FROM analytics_events WHERE occurred_at >= %s AND occurred_at < %s", MONTH
        ).rowcount
        delete_s = time.perf_counter() - t0
        conn.rollback()
    with psycopg.connect(ours, autocommit=True) as conn:
        bound = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'analytics_events'::regclass AND c.relname ~ '^analytics_events_[0-9]{4}_[0-9]{2}$'"
            " ORDER BY 1 LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
        start = datetime.strptime(bound[-7:], "%Y_%m").replace(tzinfo=UTC)
        shift = (start.year - MONTH[0].year) * 12 + start.month - MONTH[0].month
        with conn.transaction():  # a month to come: 047's trigger refuses it, so off for this copy alone
            conn.execute("ALTER TABLE analytics_events DISABLE TRIGGER analytics_events_not_far_ahead")
            copied = conn.execute(
                "INSERT INTO analytics_events SELECT gen_random_uuid(), user_id, client_account_id, event_type,"
                " event_category, entity_type, entity_id, value, metadata,"
                " occurred_at + make_interval(months => %s), created_at"
                " FROM analytics_events WHERE occurred_at >= %s AND occurred_at < %s",
                (shift, *MONTH),
            ).rowcount
            conn.execute("ALTER TABLE analytics_events ENABLE TRIGGER analytics_events_not_far_ahead")
        conn.execute("VACUUM (ANALYZE) analytics_events")
        t0 = time.perf_counter()
        with conn.transaction():  # timed with its commit, which removes the files
            conn.execute(sql.SQL("ALTER TABLE analytics_events DETACH PARTITION {}").format(sql.Identifier(bound)))
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(bound)))
        drop_s = time.perf_counter() - t0
    print(
        f"a month of events: DELETE on the spec's table {deleted:,} rows in {delete_s * 1000:,.0f} ms;"
        f" DROP of its partition ({copied:,} rows) in {drop_s * 1000:,.1f} ms"
    )


if __name__ == "__main__":
    main()
