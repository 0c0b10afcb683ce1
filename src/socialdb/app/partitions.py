"""Upkeep of analytics_events' monthly partitions (`socialdb maintain`, decisions 88-93).

Creates the partitions of the months to come (moving the default partition's rows of such a
month into it), and with a retention drops the partitions that hold only older events.
Events of months it does not make (before the oldest partition, or dated after every
partition by a writer before migration 047) stay in the default partition: it reports them
and goes on (decision 161). Run
as the migrating role (a member of socialdb_owner): the DDL needs the table's owner, which
the application is not. Every step is its own short transaction that first takes SHARE
UPDATE EXCLUSIVE on the migration history table `public.migrations`: the application has no
privilege on it (018 revokes it from PUBLIC) and it is no table's partition or child, so no
LOCK TABLE the application may run takes it; the runner's row writes (ROW EXCLUSIVE) do not
conflict with it; two runs at once take turns, and the second finds the work done. (The
application can still stall a step by locking analytics_events itself, as it can lock any
table it writes: docs/security.md, "Locks are a denial of service".) Each DDL waits for its
locks at most `lock_timeout_ms`, then the step is retried. Nothing here prints.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from socialdb.db import Conn, connect
from socialdb.errors import LockNotAvailableError, PartitionUpkeepError, UsageError

PARENT = "analytics_events"
DEFAULT = "analytics_events_default"
# The runner's history table (socialdb.scripts.history; its name is fixed): maintain's serialising lock.
SERIALISING_TABLE = "public.migrations"
T = TypeVar("T")
# How far after now an event may be dated: the trigger of migration 047 refuses later ones.
AHEAD = timedelta(days=1)

_RETENTION = re.compile(r"^\s*(\d+)\s*(mo|months?|y|years?)\s*$")

# Every partition of the parent but the default, with its bounds (each literal carries its offset).
_PARTITIONS = """
SELECT c.relname, substring(b, 'FROM \\(''([^'']+)''\\)')::timestamptz,
       substring(b, 'TO \\(''([^'']+)''\\)')::timestamptz
FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid, pg_get_expr(c.relpartbound, c.oid) AS b
WHERE i.inhparent = to_regclass('public.analytics_events') AND b <> 'DEFAULT'
ORDER BY 2
"""
_IS_PARTITIONED = """
SELECT (SELECT relkind FROM pg_class WHERE oid = to_regclass('public.analytics_events')) = 'p',
       to_regclass('public.analytics_events_default') IS NOT NULL
"""
_STRAYS = """
SELECT to_char(date_trunc('month', occurred_at AT TIME ZONE 'UTC'), 'YYYY-MM'), count(*)
FROM ONLY public.analytics_events_default GROUP BY 1 ORDER BY 1
"""
_HAS_STRAYS = (
    "SELECT EXISTS (SELECT FROM ONLY public.analytics_events_default WHERE occurred_at >= %s AND occurred_at < %s)"
)
# The same on Citus, whose planner refuses a subquery with no target list on a distributed table
# ("a column definition list is required for functions returning record"; decision 244).
_HAS_STRAYS_CITUS = (
    "SELECT EXISTS (SELECT 1 FROM ONLY public.analytics_events_default WHERE occurred_at >= %s AND occurred_at < %s)"
)
_ON_CITUS = "SELECT current_setting('citus.shard_count', true) IS NOT NULL"


@dataclass(frozen=True)
class Partition:
    name: str
    start: datetime
    end: datetime


@dataclass
class UpkeepReport:
    """What one run did, and the strays it leaves: (month 'YYYY-MM', events) in the default partition."""

    created: list[str] = field(default_factory=list)
    moved: dict[str, int] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    strays: list[tuple[str, int]] = field(default_factory=list)
    oldest_month: str | None = None  # 'YYYY-MM' the oldest partition starts at: strays before it expired
    newest_month: str | None = None  # 'YYYY-MM', the last month a partition holds
    # 'YYYY-MM' of now + 1 day: no event may be dated later (migration 047), so strays of months
    # after the newest partition up to this one are placed by a run with more --months; later
    # ones were stored before 047 (or by the owner) and no partition will hold them.
    latest_month: str | None = None


def parse_retention(text: str, source: str = "retention") -> int:
    """`24mo`, `24 months`, `2y`: the retention in months (at least 1). `source` names the setting."""
    match = _RETENTION.match(text)
    if match is None or int(match.group(1)) < 1:
        raise UsageError(f"{source} {text!r}: give a retention in months or years, e.g. 24mo or 2y")
    return int(match.group(1)) * (12 if match.group(2).startswith("y") else 1)


def month_start(moment: datetime) -> datetime:
    """The first instant (UTC) of `moment`'s month."""
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def add_months(month: datetime, count: int) -> datetime:
    index = month.year * 12 + month.month - 1 + count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(month: datetime) -> str:
    return f"{PARENT}_{month:%Y_%m}"


def maintain(
    url: str,
    *,
    months_ahead: int = 3,
    retain_months: int | None = None,
    now: datetime | None = None,
    lock_timeout_ms: int = 1000,
    lock_retries: int = 10,
) -> UpkeepReport:
    """Partitions up to `months_ahead` months after the current one; drops those older than the retention."""
    if months_ahead < 0:
        raise UsageError(f"months ahead {months_ahead}: give 0 or more")
    report = UpkeepReport()
    with connect(url, autocommit=True, purpose="maintain") as conn:
        _check_partitioned(conn)
        moment = now or conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        steps = _Steps(conn, lock_timeout_ms, lock_retries)
        horizon = add_months(month_start(moment), months_ahead + 1)
        for month in _missing_months(read_partitions(conn), horizon):
            moved = steps.run(lambda c, m=month: _create(c, m, moment))  # type: ignore[misc]
            if moved is not None:
                report.created.append(partition_name(month))
                if moved:
                    report.moved[partition_name(month)] = moved
        if retain_months is not None:
            cutoff = _months_before(moment, retain_months)
            for part in read_partitions(conn):
                if part.end <= cutoff and steps.run(lambda c, p=part.name: _drop(c, p)):  # type: ignore[misc]
                    report.dropped.append(part.name)
        report.strays = [(month, int(count)) for month, count in conn.execute(_STRAYS).fetchall()]
        kept = read_partitions(conn)
        report.oldest_month = f"{min(p.start for p in kept):%Y-%m}" if kept else None
        report.newest_month = f"{add_months(max(p.end for p in kept), -1):%Y-%m}" if kept else None
        report.latest_month = f"{moment.astimezone(UTC) + AHEAD:%Y-%m}"
    return report


def read_partitions(conn: Conn) -> list[Partition]:
    return [Partition(name, start, end) for name, start, end in conn.execute(_PARTITIONS).fetchall()]


def _check_partitioned(conn: Conn) -> None:
    partitioned, has_default = conn.execute(_IS_PARTITIONED).fetchone() or (False, False)
    if not partitioned or not has_default:
        raise PartitionUpkeepError(
            "analytics_events is not partitioned with a default partition: migrate up to 034 first"
        )


def _missing_months(partitions: list[Partition], horizon: datetime) -> list[datetime]:
    """Each month from the end of the last partition up to the horizon (gaps of a long pause included)."""
    month = max((p.end for p in partitions), default=horizon)
    months = []
    while month < horizon:
        months.append(month)
        month = add_months(month, 1)
    return months


def _months_before(moment: datetime, months: int) -> datetime:
    """`moment` minus whole months (the day clamped to the month's length)."""
    moment = moment.astimezone(UTC)
    target = add_months(month_start(moment), -months)
    day = min(moment.day, (add_months(target, 1) - target).days)
    return moment.replace(year=target.year, month=target.month, day=day)


class _Steps:
    """Runs each step in its own transaction, serialised, with lock_timeout, retried on lock timeouts."""

    def __init__(self, conn: Conn, lock_timeout_ms: int, retries: int) -> None:
        self.conn, self.lock_timeout_ms, self.retries = conn, lock_timeout_ms, max(1, retries)

    def run(self, step: Callable[[Conn], T]) -> T:
        for attempt in range(1, self.retries + 1):
            try:
                with self.conn.transaction():
                    self._serialise()
                    return step(self.conn)
            except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected) as exc:
                if attempt == self.retries:
                    raise LockNotAvailableError(
                        f"maintain: a lock was not available after {self.retries} attempt(s) of"
                        f" lock_timeout {self.lock_timeout_ms} ms: {str(exc).strip().splitlines()[0]}"
                    ) from None
                time.sleep(min(10.0, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable")

    def _serialise(self) -> None:
        # Another run may hold it for a whole step: wait longer for it than for a DDL lock.
        self._timeout(max(30_000, 10 * self.lock_timeout_ms))
        self.conn.execute(f"LOCK TABLE {SERIALISING_TABLE} IN SHARE UPDATE EXCLUSIVE MODE")
        self._timeout(self.lock_timeout_ms)

    def _timeout(self, ms: int) -> None:
        self.conn.execute("SELECT set_config('lock_timeout', %s, true)", (f"{ms}ms",))


def _create(conn: Conn, month: datetime, now: datetime) -> int | None:
    """The month's partition, with the default partition's rows of that month; None if it exists.

    A month that has begun (a catch-up after a pause) or whose events the default partition
    holds takes SHARE ROW EXCLUSIVE on the parent before the move: its events' writers wait for
    the step, then are planned with the new partition. Without it, a writer routed to the
    default partition before the attach is refused by the default's new constraint once the
    step commits. A future month with no strays keeps the parent open to writers.
    """
    start, end = month, add_months(month, 1)
    if any(p.start < end and start < p.end for p in read_partitions(conn)):
        return None
    name = sql.Identifier(partition_name(month))
    conn.execute("LOCK TABLE public.users, public.client_accounts IN SHARE ROW EXCLUSIVE MODE")
    _execute(conn, _CREATE, name)
    comment = f"Partition of analytics_events: the events of {month:%Y-%m} (UTC). {_REACHED}"
    conn.execute(sql.SQL("COMMENT ON TABLE public.{} IS {}").format(name, sql.Literal(comment)))
    strays = _HAS_STRAYS_CITUS if conn.execute(_ON_CITUS).fetchone() == (True,) else _HAS_STRAYS
    if start <= now or conn.execute(strays, (start, end)).fetchone() != (False,):
        # Event writers (insert, update, delete through the parent) wait from here to the commit.
        conn.execute("LOCK TABLE ONLY public.analytics_events IN SHARE ROW EXCLUSIVE MODE")
    # Writers of strays wait from here to the commit; nobody else does.
    conn.execute("LOCK TABLE public.analytics_events_default IN EXCLUSIVE MODE")
    moved = conn.execute(sql.SQL(_MOVE).format(name), (start, end)).rowcount
    attach = "ALTER TABLE public.analytics_events ATTACH PARTITION public.{} FOR VALUES FROM ({}) TO ({})"
    conn.execute(sql.SQL(attach).format(name, sql.Literal(_literal(start)), sql.Literal(_literal(end))))
    return moved


def _drop(conn: Conn, name: str) -> bool:
    """Drop a partition, still attached; False if another run already did.

    Dropping it attached takes ACCESS EXCLUSIVE on the parent, the partition and the default
    partition (whose constraint changes), and no lock on users or client_accounts: a DETACH
    first would give the partition's foreign keys action triggers of their own on those
    tables, and the DROP would then remove them under ACCESS EXCLUSIVE on both.
    """
    if name not in {p.name for p in read_partitions(conn)}:
        return False
    conn.execute("LOCK TABLE ONLY public.analytics_events IN ACCESS EXCLUSIVE MODE")  # the parent first, as queries
    conn.execute(sql.SQL("DROP TABLE public.{}").format(sql.Identifier(name)))
    return True


_REACHED = "Reached through analytics_events only; created by socialdb maintain."
# The default partition's rows of the new month (the DELETE fires no trigger of the parent's:
# the rows move, the summary's days stay the same).
_MOVE = (
    "WITH moved AS (DELETE FROM ONLY public.analytics_events_default WHERE occurred_at >= %s AND occurred_at < %s"
    " RETURNING *) INSERT INTO public.{} SELECT * FROM moved"
)
# The new table has the parent's columns, defaults, checks and indexes (ATTACH adopts them and
# adds the foreign keys), the parent's row-level security, and no grant.
_CREATE = [
    "CREATE TABLE public.{} (LIKE public.analytics_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
    " INCLUDING INDEXES INCLUDING STORAGE INCLUDING COMMENTS)",
    "ALTER TABLE public.{} OWNER TO socialdb_owner",
    "ALTER TABLE public.{} ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE public.{} FORCE ROW LEVEL SECURITY",
    "CREATE POLICY analytics_events_seller ON public.{} TO socialdb_app"
    " USING (user_id = public.app_user_id()) WITH CHECK (user_id = public.app_user_id())",
    "CREATE POLICY analytics_events_owner ON public.{} TO socialdb_owner USING (true) WITH CHECK (true)",
]


def _execute(conn: Conn, statements: list[str], name: Any) -> None:
    for statement in statements:
        conn.execute(sql.SQL(statement).format(name))


def _literal(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00")
