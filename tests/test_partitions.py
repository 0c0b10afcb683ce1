"""analytics_events partitioned by month (migrations 031-034) and `socialdb maintain` (issue 16, part 1).

- the conversion: the parent, its partitions and bound, keys, triggers and RLS where they belong;
- maintain: months ahead created, strays caught by the default partition, reported, and moved
  when their month comes; retention drops exactly the expired months and leaves the summary's
  days; idempotent; two runs at once; refused before 034;
- maintain's locks: an event written while its month is created is stored, not refused; only a
  month that has begun or has strays holds event writers; a drop locks the events only, never
  users or client_accounts;
- the application role: no DDL, no partition reached directly, no other seller through the
  parent, and not maintain's serialising lock;
- events keep flowing while `migrate up` converts a table that is being written.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from socialdb.app import partitions
from socialdb.app.partitions import add_months, month_start, parse_retention
from socialdb.cli import app
from socialdb.errors import PartitionUpkeepError, UsageError
from socialdb.migrate import runner
from tests.conftest import Databases
from tests.helpers import (
    FAR_AHEAD_TRIGGER,
    LATEST,
    events_dated_freely,
    join,
    login_role,
    partitions_end_at,
    wait_for,
)

Conn = psycopg.Connection[tuple[Any, ...]]

SELLERS = ["aaaaaaaa-0000-4000-8000-00000000000a", "bbbbbbbb-0000-4000-8000-00000000000b"]
INSERT = "INSERT INTO analytics_events (user_id, event_type, event_category, value, occurred_at) VALUES (%s, 'sale', 'sales', 1, %s)"
SUMMARY = "SELECT user_id, date, event_count FROM analytics_daily_summary ORDER BY 1, 2"


def utc(year: int, month: int, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


@pytest.fixture
def sellers(conn: Conn) -> Conn:
    for n, user in enumerate(SELLERS):
        conn.execute(
            "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'h', 'S')", (user, f"p{n}@x.com")
        )
    return conn


def placement(conn: Conn) -> list[tuple[str, datetime]]:
    return [
        (str(t), at)
        for t, at in conn.execute("SELECT tableoid::regclass, occurred_at FROM analytics_events ORDER BY 2")
    ]


def months(conn: Conn) -> list[str]:
    return [p.name for p in partitions.read_partitions(conn)]


def now_of(conn: Conn) -> datetime:
    return conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]


# --- the conversion ---------------------------------------------------------------------------------


def test_events_are_partitioned_by_month_from_the_bound(conn: Conn) -> None:
    bound = add_months(month_start(now_of(conn)), 2)
    parts = partitions.read_partitions(conn)
    assert [(p.name, p.start, p.end) for p in parts] == [
        ("analytics_events_legacy", utc(2000, 1), bound),
        (partitions.partition_name(bound), bound, add_months(bound, 1)),
        (partitions.partition_name(add_months(bound, 1)), add_months(bound, 1), add_months(bound, 2)),
    ]
    kind, key = conn.execute(
        "SELECT relkind::text, pg_get_partkeydef(oid) FROM pg_class WHERE oid = 'analytics_events'::regclass"
    ).fetchone()  # type: ignore[misc]
    assert (kind, key) == ("p", "RANGE (occurred_at)")
    pkey = conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'analytics_events_pkey'")
    assert pkey.fetchone() == ("PRIMARY KEY (id, user_id, occurred_at)",)


def test_triggers_and_grants_are_on_the_parent_and_rls_on_every_partition(conn: Conn) -> None:
    triggers = conn.execute(
        "SELECT tgrelid::regclass::text, tgname, tgparentid <> 0 FROM pg_trigger WHERE NOT tgisinternal"
        " AND tgrelid IN (SELECT oid FROM pg_class WHERE relname LIKE 'analytics_events%%') ORDER BY 2, 1"
    ).fetchall()
    # The summary's four statement triggers are the parent's alone; 047's row trigger is cloned
    # onto every partition (PostgreSQL does it for a partitioned table's row triggers).
    own = [(t, name) for t, name, cloned in triggers if not cloned]
    assert {t for t, _ in own} == {"analytics_events"} and len(own) == 5
    clones = {t for t, name, cloned in triggers if cloned and name == FAR_AHEAD_TRIGGER}
    assert clones == {p.name for p in partitions.read_partitions(conn)} | {"analytics_events_default"}
    assert all(name == FAR_AHEAD_TRIGGER for _, name, cloned in triggers if cloned)
    rows = conn.execute(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, has_table_privilege('socialdb_app', c.oid, 'SELECT'),"
        " (SELECT count(*) FROM pg_policy WHERE polrelid = c.oid) FROM pg_class AS c"
        " WHERE c.oid = 'analytics_events'::regclass OR c.oid IN (SELECT inhrelid FROM pg_inherits"
        " WHERE inhparent = 'analytics_events'::regclass)"
    ).fetchall()
    assert len(rows) == 5
    for name, enabled, forced, app_reads, policies in rows:
        assert (enabled, forced, policies) == (True, True, 2), name
        assert app_reads == (name == "analytics_events"), name


def test_events_and_the_summary_work_across_partitions(sellers: Conn) -> None:
    bound = add_months(month_start(now_of(sellers)), 2)
    with events_dated_freely(sellers):  # lab data: months to come, and a stray stored before 047
        sellers.execute(INSERT, (SELLERS[0], utc(2026, 3, 5)))
        sellers.execute(INSERT, (SELLERS[0], bound))
        sellers.execute(INSERT, (SELLERS[0], utc(2150, 1, 2)))
    assert [t for t, _ in placement(sellers)] == [
        "analytics_events_legacy",
        partitions.partition_name(bound),
        "analytics_events_default",
    ]
    # An update moving an event to another partition notes both days for the summary.
    sellers.execute("UPDATE analytics_events SET occurred_at = %s WHERE occurred_at = %s", (utc(2026, 4, 1), bound))
    sellers.execute("SELECT refresh_analytics_daily_summary()")
    days = [(str(d), n) for _, d, n in sellers.execute(SUMMARY)]
    assert days == [("2026-03-05", 1), ("2026-04-01", 1), ("2150-01-02", 1)]


# --- maintain ----------------------------------------------------------------------------------------


def test_time_passing_creates_months_and_moves_strays_into_them(sellers: Conn, db_url: str) -> None:
    later = add_months(month_start(now_of(sellers)), 14)  # a year after the last partition of 034
    with events_dated_freely(sellers):  # dated as a clock 14 months on would see them
        for month in (add_months(later, 1), add_months(later, 2), add_months(later, 40)):
            sellers.execute(INSERT, (SELLERS[0], month.replace(day=3)))
    report = partitions.maintain(db_url, months_ahead=2, now=later)
    expected = [partitions.partition_name(add_months(later, k)) for k in range(-10, 3)]
    assert report.created == expected
    assert report.moved == {expected[-2]: 1, expected[-1]: 1}
    stray_month = add_months(later, 40)
    assert report.strays == [(f"{stray_month:%Y-%m}", 1)]
    assert [t for t, _ in placement(sellers)] == [expected[-2], expected[-1], "analytics_events_default"]


def test_the_cli_names_the_strays_months_in_a_warning_and_exits_0(sellers: Conn, db_url: str) -> None:
    """Strays are set aside, not maintain's failure (decision 161, superseding 89's exit 1): one
    event dated 2199-12 kept every run failing, and no --months could place it."""
    with events_dated_freely(sellers):  # stored before 047, which now refuses them
        sellers.execute(INSERT, (SELLERS[0], utc(2150, 1, 2)))
        sellers.execute(INSERT, (SELLERS[1], utc(2199, 12, 31)))
    done = CliRunner().invoke(app, ["maintain", "--database-url", db_url, "--months", "0"])
    assert done.exit_code == 0, done.output
    warnings = [line for line in done.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "error" not in done.output, done.output
    assert "2 event(s) left in analytics_events_default" in warnings[0]
    assert "2150-01 (1), 2199-12 (1): no partition will hold them" in warnings[0]
    assert "correct or delete them" in warnings[0] and "--months" not in warnings[0]
    assert "partitions up to date" in done.output
    assert "Traceback" not in done.output


def test_the_cli_calls_strays_older_than_every_partition_expired(sellers: Conn, db_url: str) -> None:
    """Before the oldest partition, no --months would reach them: the retention dropped their
    month, and the summary keeps those days as they were (decision 104)."""
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute("DROP TABLE analytics_events_legacy")  # what the retention does to it, in time
        oldest = f"{min(p.start for p in partitions.read_partitions(admin)):%Y-%m}"
    sellers.execute(INSERT, (SELLERS[0], utc(2005, 6, 1)))  # late: the application may write it
    with events_dated_freely(sellers):  # stored before 047
        sellers.execute(INSERT, (SELLERS[1], utc(2150, 1, 2)))
    done = CliRunner().invoke(app, ["maintain", "--database-url", db_url, "--months", "0"])
    assert done.exit_code == 0, done.output
    assert len([line for line in done.output.splitlines() if line.startswith("warning:")]) == 1, done.output
    assert "error:" not in done.output
    assert "2 event(s) left in analytics_events_default" in done.output
    assert oldest > "2005-06"
    assert f"2005-06 (1) precede the oldest partition ({oldest}): expired, delete them" in done.output
    assert "2150-01 (1): no partition will hold them" in done.output


def test_the_cli_says_when_a_later_run_will_make_a_strays_month(sellers: Conn, db_url: str) -> None:
    """With --months 0, late on a month's last day an event of the next day has no partition yet:
    a run with --months 1 places it (the one stray 047 still lets the application make)."""
    with psycopg.connect(db_url, autocommit=True) as admin:  # partitions end at the current month's end
        for part in partitions.read_partitions(admin):
            if part.name != "analytics_events_legacy":
                admin.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(part.name)))
    current = month_start(now_of(sellers))
    with events_dated_freely(sellers):  # the next day seen from the month's last hour, in lab time
        sellers.execute(INSERT, (SELLERS[0], add_months(current, 3).replace(hour=6)))
    now = add_months(current, 3) - (partitions.AHEAD / 2)
    report = partitions.maintain(db_url, months_ahead=0, now=now)
    assert report.strays == [(f"{add_months(current, 3):%Y-%m}", 1)]
    from socialdb.cli.maintain import _strays_message

    message = _strays_message(report, partitions.DEFAULT)
    assert f"{add_months(current, 3):%Y-%m} (1): run maintain with --months 1 or more" in message


def test_retention_drops_exactly_the_expired_months_and_keeps_their_summary(sellers: Conn, db_url: str) -> None:
    start = add_months(month_start(now_of(sellers)), 2)
    partitions.maintain(db_url, months_ahead=30, now=start)
    with events_dated_freely(sellers):  # months to come, in lab time
        for k in range(0, 30):
            sellers.execute(INSERT, (SELLERS[0], add_months(start, k).replace(day=10)))
    sellers.execute("SELECT refresh_analytics_daily_summary()")
    summary = sellers.execute(SUMMARY).fetchall()
    now = add_months(start, 30).replace(day=15)  # 24 months before: start + 6 months, the 15th
    report = partitions.maintain(db_url, months_ahead=0, retain_months=24, now=now)
    # Entirely older than now - 24 months: the legacy partition and start + 0..5; start + 6 holds its 15th.
    assert report.dropped == [
        "analytics_events_legacy",
        *(partitions.partition_name(add_months(start, k)) for k in range(6)),
    ]
    assert months(sellers)[0] == partitions.partition_name(add_months(start, 6))
    assert len(placement(sellers)) == 24
    sellers.execute("SELECT refresh_analytics_daily_summary()")
    assert sellers.execute(SUMMARY).fetchall() == summary  # the summary is a rollup: past days stay
    sellers.execute("SELECT rebuild_analytics_daily_summary()")  # and a rebuild keeps them (migration 035)
    assert sellers.execute(SUMMARY).fetchall() == summary


def test_the_far_ahead_trigger_reaches_the_months_maintain_makes(sellers: Conn, db_url: str) -> None:
    """047's trigger is cloned onto each partition maintain creates later (PostgreSQL 13 on), so
    even a writer that reached a partition by name (the owner) is refused; a stray stored before
    047 can still be updated as long as its time stays as it was."""
    current = month_start(now_of(sellers))
    report = partitions.maintain(db_url, months_ahead=6)
    assert report.created == [partitions.partition_name(add_months(current, k)) for k in (4, 5, 6)]
    clones = sellers.execute(
        "SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = %s AND tgparentid <> 0 AND tgenabled = 'O'",
        (FAR_AHEAD_TRIGGER,),
    )
    assert set(report.created) <= {name for (name,) in clones}
    newest = sql.Identifier(report.created[-1])
    with pytest.raises(psycopg.errors.CheckViolation, match="more than 1 day after now"):
        sellers.execute(
            sql.SQL(
                "INSERT INTO {} (user_id, event_type, event_category, occurred_at) VALUES (%s, 'x', 'sales', %s)"
            ).format(newest),
            (SELLERS[0], add_months(current, 6).replace(day=2)),
        )
    with events_dated_freely(sellers):
        sellers.execute(INSERT, (SELLERS[0], utc(2150, 1, 2)))
    assert (
        sellers.execute("UPDATE analytics_events SET value = 2 WHERE occurred_at = %s", (utc(2150, 1, 2),)).rowcount
        == 1
    )
    with pytest.raises(psycopg.errors.CheckViolation, match="analytics_events_not_far_ahead|more than 1 day"):
        sellers.execute("UPDATE analytics_events SET occurred_at = occurred_at + interval '1 day' WHERE value = 2")


def test_a_second_run_changes_nothing(db_url: str, conn: Conn) -> None:
    first = partitions.maintain(db_url, months_ahead=6, retain_months=24)
    current = month_start(now_of(conn))
    # 034 made the months up to current + 3 (the bound's and the next): maintain adds current + 4 to + 6.
    assert first.created == [partitions.partition_name(add_months(current, k)) for k in (4, 5, 6)]
    before = months(conn)
    again = partitions.maintain(db_url, months_ahead=6, retain_months=24)
    assert (again.created, again.dropped, again.moved, again.strays) == ([], [], {}, [])
    assert months(conn) == before


def test_two_runs_at_once_take_turns(db_url: str, conn: Conn) -> None:
    later = add_months(month_start(now_of(conn)), 24)
    results: list[partitions.UpkeepReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(partitions.maintain(db_url, months_ahead=3, now=later, lock_timeout_ms=200))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        join(thread, 120)
    assert errors == []
    created = results[0].created + results[1].created
    assert sorted(created) == sorted(set(created))  # each month made once
    names = months(conn)
    assert names[-1] == partitions.partition_name(add_months(later, 3))
    assert len(names) == len(set(names))
    assert sorted(created) == names[3:]


def test_maintain_refuses_a_table_not_yet_partitioned(databases: Databases) -> None:
    url = databases.create()
    try:
        runner.up(url, to=33)
        with pytest.raises(PartitionUpkeepError, match="migrate up to 034"):
            partitions.maintain(url)
    finally:
        databases.drop(url)


@pytest.mark.parametrize("text", ["0mo", "-1mo", "24", "2 weeks", ""])
def test_a_bad_retention_names_itself(text: str) -> None:
    with pytest.raises(UsageError, match="retention"):
        parse_retention(text)


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [(["--retain", "0mo"], {}, "--retain '0mo'"), ([], {"SOCIALDB_EVENTS_RETAIN": ""}, "SOCIALDB_EVENTS_RETAIN ''")],
)
def test_the_cli_refuses_a_bad_retention_in_one_line(args: list[str], env: dict[str, str], named: str) -> None:
    done = CliRunner().invoke(app, ["maintain", "--database-url", "postgresql://nobody@nowhere/db", *args], env=env)
    assert done.exit_code == 2
    assert done.output.strip().splitlines() == [f"error: {named}: give a retention in months or years, e.g. 24mo or 2y"]


def test_a_retention_from_the_environment_drops_nothing_unexpired(sellers: Conn, db_url: str) -> None:
    later = add_months(month_start(now_of(sellers)), 30)
    partitions.maintain(db_url, months_ahead=0, now=later)  # partitions up to 30 months from now
    env = {"SOCIALDB_EVENTS_RETAIN": "2y"}
    done = CliRunner().invoke(app, ["maintain", "--database-url", db_url], env=env)
    assert done.exit_code == 0, done.output
    # Now: nothing is two years old. The months made are all in the future, so nothing goes.
    assert done.output.strip().splitlines() == ["partitions up to date"]
    assert months(sellers)[0] == "analytics_events_legacy"


def test_retention_in_months_or_years() -> None:
    assert [parse_retention(t) for t in ("24mo", "1 month", "2y", "3years")] == [24, 1, 24, 36]


# --- maintain's locks -------------------------------------------------------------------------------------


def _waiting(conn: Conn) -> int:
    """Lock requests of this test's database not granted yet."""
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ).fetchone()
    return int(row[0]) if row else 0


def _app_insert_event(app_url: str, at: datetime) -> str:
    """One event of SELLERS[0]'s, as the application writes it; returns the partition it landed in."""
    with psycopg.connect(app_url, autocommit=True) as app_conn:
        app_conn.execute("SELECT set_config('app.user_id', %s, false)", (SELLERS[0],))
        row = app_conn.execute(INSERT + " RETURNING tableoid::regclass::text", (SELLERS[0], at)).fetchone()
    assert row is not None
    return str(row[0])


def test_an_event_written_while_maintain_creates_its_month_is_stored_not_refused(sellers: Conn, db_url: str) -> None:
    """Review finding: cron paused, the month has no partition and its events go to the default
    partition until maintain creates it. A writer routed there before the attach used to be
    refused ("violates partition constraint") once the step committed. A reader of the parent
    (ACCESS SHARE on the default partition) holds the attach so that the event is written
    inside the step, deterministically. In real time: the current month has no partition yet,
    and the event is one that happened (migration 047)."""
    first_missing = month_start(now_of(sellers))
    partitions_end_at(sellers, first_missing)
    errors: list[BaseException] = []
    written: list[str] = []

    def run_maintain() -> None:
        try:
            partitions.maintain(db_url, months_ahead=0, lock_timeout_ms=20_000)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def write() -> None:
        try:
            written.append(_app_insert_event(app_url, now_of(sellers)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    with login_role(db_url, "socialdb_app") as (_, app_url), psycopg.connect(db_url) as reader:
        reader.execute("SELECT count(*) FROM analytics_events")  # ACCESS SHARE on every partition
        upkeep = threading.Thread(target=run_maintain, name="maintain")
        upkeep.start()
        wait_for(lambda: _waiting(sellers) == 1, what="maintain's attach to wait for the reader")
        writer = threading.Thread(target=write, name="writer")
        writer.start()
        wait_for(lambda: _waiting(sellers) == 2, what="the event's insert to wait for maintain")
        reader.rollback()
        join(upkeep, 60)
        join(writer, 60)
    assert errors == [], errors
    assert written == [partitions.partition_name(first_missing)]


@pytest.mark.parametrize(
    ("months_on", "stray", "writers_wait"),
    [(0, False, False), (0, True, True), (4, False, True)],
    ids=["future-month", "future-month-with-a-stray", "month-begun"],
)
def test_creating_a_month_holds_event_writers_only_when_it_has_begun_or_has_strays(
    sellers: Conn, months_on: int, stray: bool, writers_wait: bool
) -> None:
    current = month_start(now_of(sellers))
    month = add_months(current, 4)  # the first month 034 did not make; now is `months_on` after current
    if stray:
        with events_dated_freely(sellers):  # a stray of a month to come, stored before 047
            sellers.execute(INSERT, (SELLERS[0], month.replace(day=3)))
    held = "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = %s::regclass ORDER BY 1"
    with sellers.transaction():  # rolled back below: nothing is created
        assert partitions._create(sellers, month, add_months(current, months_on)) == (1 if stray else 0)
        modes = [mode for (mode,) in sellers.execute(held, ("analytics_events",))]
        default_modes = [mode for (mode,) in sellers.execute(held, ("analytics_events_default",))]
        raise psycopg.Rollback()
    # ATTACH's own SHARE UPDATE EXCLUSIVE lets writers through; SHARE ROW EXCLUSIVE holds them.
    assert ("ShareRowExclusiveLock" in modes) == writers_wait, modes
    assert "AccessExclusiveLock" not in modes
    # The attach holds the default partition (what docs/deploying.md says of reads reaching it).
    assert "AccessExclusiveLock" in default_modes, default_modes


def test_dropping_a_month_locks_the_events_only_not_users_and_accounts(conn: Conn) -> None:
    """Review finding: detaching gave the partition's foreign keys action triggers on users and
    client_accounts, which the DROP then removed under ACCESS EXCLUSIVE on both (sign-in and
    every foreign-key check waited). Dropped attached: the parent, the partition and the
    default partition, nothing else of the schema's tables."""
    name = partitions.partition_name(add_months(month_start(now_of(conn)), 2))
    tables = dict(  # every table of the schema, partitions included, by oid
        conn.execute(
            "SELECT oid::text, relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')"
        ).fetchall()
    )
    assert {"users", "client_accounts", name} <= set(tables.values())
    with conn.transaction():  # rolled back below: nothing is dropped
        assert partitions._drop(conn, name)
        held = conn.execute(
            "SELECT relation::text, mode FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation'"
            " AND relation::text = ANY(%s)",
            (list(tables),),
        ).fetchall()
        raise psycopg.Rollback()
    assert sorted((tables[oid], mode) for oid, mode in held) == sorted(
        [
            ("analytics_events", "AccessExclusiveLock"),
            (name, "AccessExclusiveLock"),
            ("analytics_events_default", "AccessExclusiveLock"),
        ]
    )


# --- the application role ------------------------------------------------------------------------------


def test_the_application_cannot_run_maintain_nor_reach_a_partition(sellers: Conn, db_url: str) -> None:
    sellers.execute(INSERT, (SELLERS[1], utc(2026, 3, 5)))
    with login_role(db_url, "socialdb_app") as (_, url):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            partitions.maintain(url, months_ahead=6)
        with psycopg.connect(url, autocommit=True) as app_conn:
            for statement in (
                "SELECT count(*) FROM analytics_events_legacy",
                "SELECT count(*) FROM analytics_events_default",
                f"INSERT INTO analytics_events_default (user_id, event_type, event_category, occurred_at) VALUES ('{SELLERS[0]}', 'x', 'sales', '2150-01-01')",
                "LOCK TABLE analytics_events_default IN SHARE UPDATE EXCLUSIVE MODE",
                "DROP TABLE analytics_events_legacy",
                "ALTER TABLE analytics_events DETACH PARTITION analytics_events_legacy",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
                    app_conn.execute(statement.encode())


def test_the_partitioned_table_confines_the_application_to_its_seller(sellers: Conn, db_url: str) -> None:
    # In real time (047): legacy up to last month, which then has no partition (the default
    # partition takes its events), and the current month's partition, as maintain makes it.
    current = month_start(now_of(sellers))
    partitions_end_at(sellers, add_months(current, -1))
    with sellers.transaction():
        partitions._create(sellers, current, now_of(sellers))
    legacy, default = add_months(current, -2).replace(day=5), add_months(current, -1).replace(day=5)
    for at in (legacy, current, default):
        sellers.execute(INSERT, (SELLERS[1], at))
    assert [t for t, _ in placement(sellers)] == [
        "analytics_events_legacy",
        "analytics_events_default",
        partitions.partition_name(current),
    ]
    with login_role(db_url, "socialdb_app") as (_, url), psycopg.connect(url) as app_conn:
        app_conn.execute("SELECT set_config('app.user_id', %s, false)", (SELLERS[0],))
        for at in (legacy.replace(day=6), current, default.replace(day=6)):  # legacy, a month, the default
            app_conn.execute(INSERT, (SELLERS[0], at))
            app_conn.commit()
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
                app_conn.execute(INSERT, (SELLERS[1], at))
            app_conn.rollback()
            app_conn.execute("SELECT set_config('app.user_id', %s, false)", (SELLERS[0],))
        app_conn.commit()
        seen = app_conn.execute("SELECT DISTINCT user_id::text FROM analytics_events").fetchall()
        assert seen == [(SELLERS[0],)]
        moved = app_conn.execute("UPDATE analytics_events SET occurred_at = occurred_at + interval '1 day'").rowcount
        assert moved == 3  # its three, in three partitions; none of the other seller's
    assert sellers.execute("SELECT count(*) FROM analytics_events WHERE user_id = %s", (SELLERS[1],)).fetchone() == (3,)


def test_the_application_cannot_take_the_lock_maintain_serialises_on(sellers: Conn, db_url: str) -> None:
    """Review finding: maintain serialised on the default partition, which the application locks
    through the parent (LOCK TABLE locks every partition, checking the parent's privileges only).
    It now serialises on the history table, which the application may not lock and which no
    LOCK TABLE of a table the application may write reaches."""
    serialising = partitions.SERIALISING_TABLE
    with login_role(db_url, "socialdb_app") as (_, url), psycopg.connect(url) as app_conn:
        for mode in ("ACCESS SHARE", "SHARE UPDATE EXCLUSIVE"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app_conn.execute(f"LOCK TABLE {serialising} IN {mode} MODE".encode())
            app_conn.rollback()
        # The lock the reviewer took: it holds the default partition, not maintain's lock.
        app_conn.execute("LOCK TABLE analytics_events IN SHARE UPDATE EXCLUSIVE MODE")
        with psycopg.connect(db_url, autocommit=True) as upkeep:
            upkeep.execute("SET statement_timeout = '5s'")  # were the lock taken, fail fast
            held = partitions._Steps(upkeep, 100, 1).run(
                lambda c: c.execute(
                    "SELECT relation::regclass::text, mode FROM pg_locks WHERE pid = pg_backend_pid()"
                    " AND locktype = 'relation' AND relation = %s::regclass",
                    (serialising,),
                ).fetchall()
            )
        assert held == [(serialising.removeprefix("public."), "ShareUpdateExclusiveLock")]
        app_conn.rollback()
        # A lock of the application's on a table maintain does not touch: maintain runs.
        app_conn.execute("LOCK TABLE notifications IN SHARE UPDATE EXCLUSIVE MODE")
        report = partitions.maintain(db_url, months_ahead=5, lock_timeout_ms=200, lock_retries=1)
        app_conn.rollback()
    current = month_start(now_of(sellers))
    assert report.created == [partitions.partition_name(add_months(current, k)) for k in (4, 5)]


# --- events keep flowing during the conversion --------------------------------------------------------------


def test_a_writer_keeps_writing_while_migrate_up_converts_the_table(databases: Databases) -> None:
    url = databases.create()
    try:
        runner.up(url, to=30)
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(
                "INSERT INTO users (id, email, password_hash, name) VALUES (%s, 'w@x.com', 'h', 'W')", (SELLERS[0],)
            )
            admin.execute(
                "INSERT INTO analytics_events (user_id, event_type, event_category, occurred_at)"
                " SELECT %s, 'seed', 'engagement', now() - g * interval '1 minute' FROM generate_series(1, 20000) AS g",
                (SELLERS[0],),
            )
        written, errors, stop = [0], [], threading.Event()
        with login_role(url, "socialdb_app") as (_, app_url):
            writer = threading.Thread(target=_write_until, args=(app_url, stop, written, errors))
            writer.start()
            try:
                wait_for(lambda: written[0] >= 5, 30, "the writer to write")
                applied = [o.migration.version for o in runner.up(url)]
                after = written[0]
                wait_for(
                    lambda: written[0] >= after + 5 or bool(errors), 30, "the writer to go on after the conversion"
                )
            finally:
                stop.set()
                join(writer, 30)
        assert applied[0] == 31 and applied[-1] == LATEST
        assert errors == []
        with psycopg.connect(url, autocommit=True) as admin:
            count = admin.execute("SELECT count(*) FROM analytics_events WHERE event_type = 'live'").fetchone()
            kind = admin.execute(
                "SELECT relkind::text FROM pg_class WHERE oid = 'analytics_events'::regclass"
            ).fetchone()
        assert count == (written[0],) and kind == ("p",)
    finally:
        databases.drop(url)


def _write_until(url: str, stop: threading.Event, written: list[int], errors: list[str]) -> None:
    """One event per transaction, as the application writes them, until told to stop."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET statement_timeout = '20s'")
            conn.execute(sql.SQL("SELECT set_config('app.user_id', {}, false)").format(sql.Literal(SELLERS[0])))
            while not stop.is_set():
                conn.execute(
                    "INSERT INTO analytics_events (event_type, event_category, occurred_at, user_id)"
                    " VALUES ('live', 'sales', now(), app_user_id())"
                )
                written[0] += 1
                time.sleep(0.005)
    except psycopg.Error as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
