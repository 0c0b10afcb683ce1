"""How `migrate up` shows its work: a Rich progress display on a terminal, plain lines otherwise.

Plain lines (exactly the runner's events as text, one per line) when standard output is not a
terminal, with `--no-color`, or when NO_COLOR is set to anything but the empty string
(no-color.org). On a terminal, each finished migration stays printed above a live line
with the one running, how many are done and the time so far; the live line goes away at
the end, and the caller prints the summary. The display goes by the events' types
(scripts/events.py), never by their text.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from socialdb.cli.common import call, say
from socialdb.migrate import runner
from socialdb.scripts.events import Applied, Applying, Event, Listener, RolledBack, RollingBack, as_lines

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from socialdb.config import Project


def fancy(no_color: bool) -> bool:
    """Whether to draw progress: a terminal, and neither --no-color nor NO_COLOR."""
    return sys.stdout.isatty() and not no_color and not os.environ.get("NO_COLOR")


@contextmanager
def migrations(show: bool, plain: Callable[[str], None] = say) -> Iterator[Listener]:
    """A listener for the runner: each event's line to `plain`, or lines above a progress bar."""
    if not show:
        yield as_lines(plain)
        return
    # Rich only for a terminal: a no-op `up` in a script or CI does without it.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(), transient=True) as progress:
        yield drawn(progress, progress.add_task("starting", total=None))


def drawn(progress: Progress, task: TaskID) -> Listener:
    """A listener that draws: the migration running on the live line (with the run's total), the rest above it."""

    def report(event: Event) -> None:
        match event:
            case Applying() | RollingBack():
                progress.update(task, description=str(event), total=event.total)
            case Applied() | RolledBack():
                progress.console.print(str(event), highlight=False, markup=False)
                progress.advance(task)
            case _:
                progress.console.print(str(event), highlight=False, markup=False)

    return report


def run_up(
    url: str,
    project: Project,
    to: int | None,
    allow_out_of_order: bool = False,
    *,
    no_color: bool,
    debug: bool,
    plain: Callable[[str], None] = say,
) -> None:
    """`migrate up` itself: the runner behind the right display, then the summary line (through `plain`)."""
    directory, options, table = project.directory, project.options, project.history
    started = time.perf_counter()
    with migrations(fancy(no_color), plain) as report:
        done = call(
            lambda: runner.up(
                url, directory, options, report, to=to, history=table, allow_out_of_order=allow_out_of_order
            ),
            debug,
            url,
        )
    plain(f"{len(done)} migration(s) applied in {time.perf_counter() - started:.1f} s")
