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

bench_app = group("bench", "Benchmark against the spec's schema (extra: socialdb\\[bench]).")
Scale = Annotated[float, typer.Option("--scale", min=0.001, help="1 = 2M messages, 5M events.")]


@bench_app.command("generate")
def bench_generate(scale: Scale = 1.0, database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """Create the two benchmark databases on the server and load the same data into both.

    Example: socialdb bench generate --scale 0.01
    """
    from socialdb.bench import run as bench

    admin = bench.admin_database(target_url(database_url, debug))
    with _progress() as progress:
        result = call(lambda: bench.generate_data(admin, scale, say, progress), debug, admin)
    for table, rate in result.load_rates.items():
        say(f"{table}: {rate:,.0f} rows/s")


MigrateRuns = Annotated[
    int, typer.Option("--migrate-runs", min=1, help="Runs of each contender when timing migrate up (interleaved).")
]
Dbmate = Annotated[
    Path | None,
    typer.Option(
        "--dbmate",
        exists=True,
        dir_okay=False,
        help="dbmate to time migrate up against (npm package dbmate); default: dbmate on PATH, else none.",
        show_default=False,
    ),
]


@bench_app.command("run")
def bench_run(
    scale: Scale = 1.0,
    seconds: Annotated[float, typer.Option("--seconds", help="Time per measured operation.")] = 10.0,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "--out",
            help="Report file (the chart goes beside it). Default: docs/performance.md at scale 1, else a file"
            " in the temporary folder: a run at another scale leaves the committed report alone.",
            show_default=False,
        ),
    ] = None,
    migrate_runs: MigrateRuns = 5,
    dbmate: Dbmate = None,
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Generate the data, measure every operation on both schemas, write the report and chart.

    Example: socialdb bench run --scale 0.01 --seconds 0.5 --output /tmp/performance.md
    """
    from socialdb.bench import migrate_up, report
    from socialdb.bench import run as bench

    doc = output or report.default_output(scale)
    admin = bench.admin_database(target_url(database_url, debug))
    with _progress() as progress:
        result = call(lambda: bench.generate_data(admin, scale, say, progress), debug, admin)
    found = migrate_up.find_dbmate(dbmate)
    result = call(lambda: bench.measure(admin, result, seconds, say, migrate_runs, found), debug, admin)
    command = f"socialdb bench run --scale {scale:g} --seconds {seconds:g} --migrate-runs {migrate_runs}"
    report.write(result, command, doc, doc.with_name("performance.png"))
    say(f"wrote {doc} and {doc.with_name('performance.png')}")


@bench_app.command("migrate")
def bench_migrate(
    runs: Annotated[int, typer.Option("--runs", min=1, help="Runs of each contender (interleaved).")] = 7,
    dbmate: Dbmate = None,
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Time migrate up on an empty database: psql -1 -f (the floor), dbmate, socialdb as a process and in process.

    Example: socialdb bench migrate --runs 3
    """
    from socialdb.bench import migrate_up, report
    from socialdb.bench import run as bench

    admin = bench.admin_database(target_url(database_url, debug))
    found = migrate_up.find_dbmate(dbmate)
    if found is None:
        say("dbmate not found (npm install dbmate, then --dbmate node_modules/.bin/dbmate): timed without it")
    measures = call(lambda: migrate_up.time_migrate(admin, runs, say, found), debug, admin)
    for operation in dict.fromkeys(m.operation for m in measures):
        say("\n".join(report.migrate_table(operation, [m for m in measures if m.operation == operation])))


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
