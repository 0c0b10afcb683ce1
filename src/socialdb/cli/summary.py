"""`socialdb summary ...`: the daily analytics summary's upkeep, for cron (maintenance role)."""

from __future__ import annotations

from socialdb.app import summary
from socialdb.cli.common import DatabaseUrl, Debug, call, group, say, target_url

summary_app = group("summary")


@summary_app.command("refresh")
def summary_refresh(database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """Recompute the days whose events changed since the last refresh (for cron).

    Example: */5 * * * * socialdb summary refresh   (crontab, as a socialdb_maintenance login)
    """
    url = target_url(database_url, debug)
    ms = call(lambda: summary.run(url, summary.SummaryTask.REFRESH), debug, url)
    say(f"summary refreshed in {ms} ms")


@summary_app.command("rebuild")
def summary_rebuild(database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """Recompute every day of the summary from the events (a repair; minutes at scale).

    Example: socialdb summary rebuild --database-url postgresql://maintenance@db/socialdb
    """
    url = target_url(database_url, debug)
    ms = call(lambda: summary.run(url, summary.SummaryTask.REBUILD), debug, url)
    say(f"summary rebuilt in {ms} ms")
