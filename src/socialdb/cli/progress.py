"""How `migrate up` shows its work: a Rich progress display on a terminal, plain lines otherwise.

Plain lines (exactly the runner's reports, one per line) when standard output is not a
terminal, with `--no-color`, or when NO_COLOR is set to anything but the empty string
(no-color.org). On a terminal, each finished migration stays printed above a live line
with the one running, how many are done and the time so far; the live line goes away at
the end, and the caller prints the summary.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from socialdb.cli.common import call, say
from socialdb.migrate import runner
from socialdb.scripts.options import Report

if TYPE_CHECKING:
    from socialdb.config import Project


def fancy(no_color: bool) -> bool:
    """Whether to draw progress: a terminal, and neither --no-color nor NO_COLOR."""
    return sys.stdout.isatty() and not no_color and not os.environ.get("NO_COLOR")


@contextmanager
def migrations(total: int | None, show: bool, plain: Report = say) -> Iterator[Report]:
    """A report callback for the runner: `plain`, or lines above a progress bar of `total` migrations."""
    if not show:
        yield plain
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
        task = progress.add_task("starting", total=total)

        def report(line: str) -> None:
            if line.startswith(("applying ", "rolling back ")):
                progress.update(task, description=line)
                return
            progress.console.print(line, highlight=False, markup=False)
            if line.startswith(("applied ", "rolled back ")) and " in " in line:
                progress.advance(task)

        yield report


def run_up(
    url: str,
    project: Project,
    to: int | None,
    allow_out_of_order: bool = False,
    *,
    no_color: bool,
    debug: bool,
    plain: Report = say,
) -> None:
    """`migrate up` itself: the runner behind the right display, then the summary line (through `plain`)."""
    show = fancy(no_color)
    directory, options, table = project.directory, project.options, project.history
    total = call(lambda: _pending(url, directory, to, project), debug, url) if show else None
    started = time.perf_counter()
    with migrations(total, show, plain) as report:
        done = call(
            lambda: runner.up(
                url, directory, options, report, to=to, history=table, allow_out_of_order=allow_out_of_order
            ),
            debug,
            url,
        )
    plain(f"{len(done)} migration(s) applied in {time.perf_counter() - started:.1f} s")


def _pending(url: str, directory: Path | None, to: int | None, project: Project) -> int:
    rows = runner.status(url, directory, history=project.history)
    return sum(1 for row in rows if row.state == "pending" and (to is None or row.version <= to))
