"""`socialdb maintain`: analytics_events' monthly partitions, for cron (the migrating role)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from socialdb.cli.common import DatabaseUrl, Debug, LockRetries, LockTimeout, call, command, say, target_url

if TYPE_CHECKING:
    from socialdb.app.partitions import UpkeepReport

RETAIN_ENV = "SOCIALDB_EVENTS_RETAIN"


@command("maintain")
def maintain_command(
    months: Annotated[int, typer.Option("--months", min=0, help="Months ahead to have partitions for.")] = 3,
    retain: Annotated[
        str | None,
        typer.Option("--retain", help=f"Drop partitions older than this, e.g. 24mo or 2y (default: ${RETAIN_ENV})."),
    ] = None,
    lock_timeout: LockTimeout = "1s",
    lock_retries: LockRetries = 10,
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Idempotent and safe to run concurrently; exit 0 when partitions were made and dropped as asked, 1 if that failed.

    Events of months without a partition stay in the default partition, named by month in a warning.

    Example: 17 * * * * socialdb maintain --retain 24mo   (crontab, as the migrating role)
    """
    from socialdb.app import partitions
    from socialdb.scripts.durations import parse_duration

    source, retention = ("--retain", retain) if retain is not None else (RETAIN_ENV, os.environ.get(RETAIN_ENV))
    retain_months = None
    if retention is not None:
        retain_months = call(lambda: partitions.parse_retention(retention, source), debug)
    timeout_ms = call(lambda: parse_duration(lock_timeout), debug)
    url = target_url(database_url, debug)
    report = call(
        lambda: partitions.maintain(
            url, months_ahead=months, retain_months=retain_months, lock_timeout_ms=timeout_ms, lock_retries=lock_retries
        ),
        debug,
        url,
    )
    for name in report.created:
        moved = report.moved.get(name, 0)
        say(f"created {name}" + (f" (moved {moved} event(s) from {partitions.DEFAULT})" if moved else ""))
    for name in report.dropped:
        say(f"dropped {name}")
    if not report.created and not report.dropped:
        say("partitions up to date")
    if report.strays:
        # Set aside, not a failure of this run (decision 161): cron mails what a command prints.
        typer.echo(f"warning: {_strays_message(report, partitions.DEFAULT)}", err=True)


def _strays_message(report: UpkeepReport, default: str) -> str:
    """One line: the strays' months, and what to do with each kind (decision 161)."""
    oldest, newest, latest = report.oldest_month or "", report.newest_month or "", report.latest_month or ""
    expired = [(m, c) for m, c in report.strays if m < oldest]
    coming = [(m, c) for m, c in report.strays if newest < m <= latest]
    unplaced = [(m, c) for m, c in report.strays if oldest <= m and not newest < m <= latest]
    advice = []
    if expired:
        advice.append(f"{_months(expired)} precede the oldest partition ({oldest}): expired, delete them")
    if coming:
        advice.append(f"{_months(coming)}: run maintain with --months 1 or more to make their month")
    if unplaced:
        advice.append(
            f"{_months(unplaced)}: no partition will hold them (an event may be dated at most 1 day ahead"
            " since migration 047): correct or delete them"
        )
    total = sum(c for _, c in report.strays)
    return f"{total} event(s) left in {default}, of months no partition holds: " + "; ".join(advice)


def _months(strays: list[tuple[str, int]]) -> str:
    return ", ".join(f"{month} ({count})" for month, count in strays)
