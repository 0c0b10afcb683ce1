"""Upkeep of the daily summary: maintenance work, never the application's (docs/security.md).

The refresh and the rebuild run as the summary's owner (SECURITY DEFINER functions of
migration 027); only socialdb_maintenance and the owner may call them. Cron calls
`socialdb summary refresh` as often as the dashboard should be fresh.
"""

from __future__ import annotations

import time
from enum import StrEnum

from socialdb.db import connect


class SummaryTask(StrEnum):
    REFRESH = "refresh"  # recompute the days whose events changed since the last refresh
    REBUILD = "rebuild"  # recompute every day: for repairs


_STATEMENTS = {
    SummaryTask.REFRESH: "SELECT public.refresh_analytics_daily_summary()",
    SummaryTask.REBUILD: "SELECT public.rebuild_analytics_daily_summary()",
}


def run(url: str, task: SummaryTask) -> int:
    """Run one upkeep task in its own transaction; returns its duration in milliseconds."""
    with connect(url, autocommit=True, purpose=f"summary {task}") as conn:
        started = time.monotonic()
        conn.execute(_STATEMENTS[task])
        return int((time.monotonic() - started) * 1000)
