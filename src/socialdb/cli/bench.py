"""`socialdb bench ...`: the benchmark against the spec's schema (extra: socialdb[bench])."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from socialdb.cli.common import DatabaseUrl, Debug, call, group, say, target_url

if TYPE_CHECKING:
    from rich.progress import TaskID

bench_app = group("bench", "Benchmark against the spec's schema (extra: socialdb[bench]).")
Scale = Annotated[float, typer.Option("--scale", min=0.001, help="1 = 2M messages, 5M events.")]


@bench_app.command("generate")
def bench_generate(scale: Scale = 1.0, database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """Create the two benchmark databases on the server and load the same data into both."""
    from socialdb.bench import run as bench

    admin = bench.admin_database(target_url(database_url, debug))
    with _progress() as progress:
        result = call(lambda: bench.generate_data(admin, scale, say, progress), debug, admin)
    for table, rate in result.load_rates.items():
        say(f"{table}: {rate:,.0f} rows/s")


@bench_app.command("run")
def bench_run(
    scale: Scale = 1.0,
    seconds: Annotated[float, typer.Option("--seconds", help="Time per measured operation.")] = 10.0,
    output: Annotated[Path, typer.Option("--output", help="Report file (the chart goes beside it).")] = Path(
        "docs/performance.md"
    ),
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Generate the data, measure every operation on both schemas, write the report and chart."""
    from socialdb.bench import report
    from socialdb.bench import run as bench

    admin = bench.admin_database(target_url(database_url, debug))
    with _progress() as progress:
        result = call(lambda: bench.generate_data(admin, scale, say, progress), debug, admin)
    result = call(lambda: bench.measure(admin, result, seconds, say), debug, admin)
    command = f"socialdb bench run --scale {scale:g} --seconds {seconds:g}"
    report.write(result, command, output, output.with_name("performance.png"))
    say(f"wrote {output} and {output.with_name('performance.png')}")


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A Rich progress bar per table, fed by (table, done, total)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        tasks: dict[str, TaskID] = {}

        def update(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=total)
            bar.update(tasks[table], completed=done)

        yield update
