"""The benchmark's load: both schemas get the same rows and a built daily summary."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from socialdb.bench import run
from socialdb.db import drop_database

# Per category: groups, events and value, from each schema's summary.
_TOTALS = """
SELECT event_category, count(*), sum(event_count), sum(total_value)
FROM analytics_daily_summary GROUP BY event_category ORDER BY event_category
"""
_ROLLUP_TOTALS = """
SELECT event_category, sum(event_count), sum(total_value)
FROM analytics_daily_rollup GROUP BY event_category ORDER BY event_category
"""


@pytest.fixture
def loaded(server_url: str) -> Iterator[tuple[str, str]]:
    run.generate_data(server_url, 0.001, lambda _message: None, lambda _table, _done, _total: None)
    try:
        yield run.url_for(server_url, run.OURS), run.url_for(server_url, run.SPEC)
    finally:
        for name in (run.OURS, run.SPEC):
            drop_database(server_url, name)


def test_both_summaries_are_built_from_the_same_events(loaded: tuple[str, str]) -> None:
    ours_url, spec_url = loaded
    with psycopg.connect(ours_url) as ours, psycopg.connect(spec_url) as spec:
        events = [c.execute("SELECT count(*) FROM analytics_events").fetchone() for c in (ours, spec)]
        ours_totals = ours.execute(_TOTALS).fetchall()
        rollup_totals = ours.execute(_ROLLUP_TOTALS).fetchall()
        spec_totals = spec.execute(_TOTALS).fetchall()
    assert events[0] == events[1] and events[0] is not None and events[0][0] > 0
    # The load runs with triggers off: a summary left empty would make the dashboard look fast.
    assert ours_totals and ours_totals == spec_totals
    assert rollup_totals == [(category, count, value) for category, _groups, count, value in spec_totals]
