"""What a run reports (socialdb/scripts/events.py, issue 25): typed events, each reading as the
line the runner wrote before it had types, and a progress display that goes by their types."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.progress import Progress

from socialdb.cli.progress import drawn, migrations
from socialdb.scripts.events import (
    Applied,
    Applying,
    Event,
    Note,
    Retrying,
    RolledBack,
    RollingBack,
    WaitingForLock,
    as_lines,
)

LINES: list[tuple[Event, str]] = [
    (Applying(3, "003-x.sql", 1, 2), "applying 003-x.sql"),
    (RollingBack(3, "003-x.sql", 1, 1), "rolling back 003-x.sql"),
    (Applied(3, "003-x.sql", 42), "applied 003-x.sql in 42 ms"),
    (RolledBack(3, "003-x.sql", 7), "rolled back 003-x.sql in 7 ms"),
    (WaitingForLock("pid 9 (deploy)"), "waiting for the migration lock, held by pid 9 (deploy)"),
    (
        Retrying("003-x.sql", 2, 10, ("pid 9 (app): SELECT 1", "pid 10 (app): SELECT 2"), 0.75),
        "003-x.sql: lock not available (attempt 2/10), blocked by pid 9 (app): SELECT 1; pid 10 (app): SELECT 2;"
        " retrying in 0.8s",
    ),
    (
        Retrying("003-x.sql", 1, 3, (), 0.5),
        "003-x.sql: lock not available (attempt 1/3), blocked by a session that released its lock before it could"
        " be named; retrying in 0.5s",
    ),
    (Note("nothing to apply: the database is up to date"), "nothing to apply: the database is up to date"),
]


@pytest.mark.parametrize(("event", "line"), LINES, ids=[type(e).__name__ for e, _ in LINES])
def test_each_event_reads_as_its_line(event: Event, line: str) -> None:
    assert str(event) == line
    said: list[str] = []
    as_lines(said.append)(event)
    assert said == [line]


def test_events_are_frozen_values() -> None:
    event = Applied(3, "003-x.sql", 42)
    assert event == Applied(3, "003-x.sql", 42) and hash(event) == hash(Applied(3, "003-x.sql", 42))
    with pytest.raises(AttributeError):
        event.ms = 1  # type: ignore[misc]


def test_the_display_goes_by_type_not_by_text() -> None:
    out = io.StringIO()
    with Progress(console=Console(file=out, width=200), transient=True) as progress:
        task = progress.add_task("starting", total=None)
        report = drawn(progress, task)
        report(Note("applied 001-a.sql in 5 ms"))  # reads like an Applied: advances nothing
        report(Applying(1, "001-a.sql", 1, 2))
        assert (progress.tasks[0].description, progress.tasks[0].total) == ("applying 001-a.sql", 2)
        report(Applied(1, "001-a.sql", 5))
        report(Note("applying 002-b.sql"))  # reads like an Applying: is printed, not the live line
        assert (progress.tasks[0].completed, progress.tasks[0].description) == (1, "applying 001-a.sql")
    printed = [line.strip() for line in out.getvalue().splitlines()]
    assert {"applied 001-a.sql in 5 ms", "applying 002-b.sql"} <= set(printed)


def test_plain_lines_are_the_events_lines() -> None:
    said: list[str] = []
    with migrations(False, said.append) as report:
        for event, _ in LINES:
            report(event)
    assert said == [line for _, line in LINES]
