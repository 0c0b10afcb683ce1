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

bench_app = group("bench")
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
    for timing in result.timings:
        rate = f", {timing.rate:,.0f} rows/s" if timing.rows else ""
        say(f"{timing.step}: {timing.seconds:.1f} s{rate}")
    say(f"generation took {result.seconds:.1f} s")


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


Pgbench = Annotated[
    Path | None,
    typer.Option(
        "--pgbench",
        exists=True,
        dir_okay=False,
        help="pgbench for the webhook ingest driven by a separate process; default: the embedded server's,"
        " else PostgreSQL 15's, else PATH's; none found: those lines are skipped.",
        show_default=False,
    ),
]


@bench_app.command("run")
def bench_run(
    scale: Scale = 1.0,
    seconds: Annotated[float, typer.Option("--seconds", min=0.1, help="Time per timed operation and schema.")] = 10.0,
    rounds: Annotated[
        int, typer.Option("--rounds", min=1, help="Rounds of every operation, the schemas interleaved; medians.")
    ] = 3,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "--out",
            help="Report file (the chart and performance.json go beside it). Default: docs/performance.md at"
            " scale 1, else a file in the temporary folder: a run at another scale leaves the committed report alone.",
            show_default=False,
        ),
    ] = None,
    migrate_runs: MigrateRuns = 5,
    dbmate: Dbmate = None,
    pgbench: Pgbench = None,
    new_conversation_share: Annotated[
        list[float] | None,
        typer.Option(
            "--new-conversation-share",
            min=0.0,
            max=100.0,
            help="Percent of webhook messages that open a conversation, for four more webhook cells each"
            " (Python client and pgbench, 1 and 8 connections); repeatable. Default: 100, 50 and 5 from scale"
            " 0.05 up, none below; 0 for none.",
            show_default=False,
        ),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            help="Measure only the operations whose name holds this text (e.g. 'first contact'); no migrate up.",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Generate the data, measure every operation on both schemas in rounds, write the report, chart and JSON.

    Example: socialdb bench run --scale 0.01 --seconds 0.5 --rounds 3 --output /tmp/performance.md
    """
    from socialdb.bench import migrate_up, report
    from socialdb.bench import pgbench as driver
    from socialdb.bench import rounds as schedule
    from socialdb.bench import run as bench

    doc = output or report.default_output(scale)
    admin = bench.admin_database(target_url(database_url, debug))
    shares = bench.default_shares(scale) if new_conversation_share is None else bench.shares(new_conversation_share)
    options = bench.Options(seconds, rounds, migrate_runs, migrate_up.find_dbmate(dbmate), driver.find(pgbench),
                            shares, only)  # fmt: skip
    expected = schedule.expected_seconds(scale, seconds, rounds, options.pgbench is not None, migrate_runs,
                                         len(shares))  # fmt: skip
    say(f"expected duration: about {expected / 60:.0f} min ({rounds} round(s); a rough forecast, see --help)"
        if expected >= 90 else f"expected duration: about {expected:.0f} s")  # fmt: skip
    with _progress() as progress:
        generated = call(lambda: bench.generate_data(admin, scale, say, progress), debug, admin)
    result = call(lambda: bench.measure(admin, generated, options, say), debug, admin)
    command = (f"socialdb bench run --scale {scale:g} --seconds {seconds:g} --rounds {rounds}"
               f" --migrate-runs {migrate_runs}"
               + "".join(f" --new-conversation-share {share * 100:g}" for share in shares)
               + (f" --only '{only}'" if only else ""))  # fmt: skip
    data = report.write(result, command, doc, doc.with_name("performance.png"))
    say(f"wrote {doc}, {doc.with_name('performance.png')} and {data}")


@bench_app.command("growth")
def bench_growth(
    results: Annotated[
        list[Path],
        typer.Argument(exists=True, dir_okay=False, help="performance.json of bench runs at two scales or more."),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "--out",
            help="Report whose <!-- growth:begin --> ... <!-- growth:end --> block is rewritten (appended if absent);"
            " the chart, performance-growth.png, goes beside it.",
        ),
    ] = Path("docs/performance.md"),
    debug: Debug = False,
) -> None:
    """Show how each operation's cost grows with the data: a table and a log-log chart.

    Example: socialdb bench growth docs/performance.json /tmp/socialdb-bench-scale-5/performance.json
    """
    from socialdb.bench import growth
    from socialdb.bench import results as figures

    chart = output.with_name("performance-growth.png")
    command = "socialdb bench growth " + " ".join(p.name for p in results)
    call(lambda: growth.write([(p, figures.load(p)) for p in results], output, chart, command), debug)
    say(f"wrote the growth block of {output} and {chart}")


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


@bench_app.command("citus")
def bench_citus(
    single_url: Annotated[
        str, typer.Option("--single-url", help="An empty database on one PostgreSQL server, as a superuser.")
    ],
    coordinator_url: Annotated[
        str,
        typer.Option(
            "--coordinator-url",
            help="An empty database on a Citus coordinator (the extension in it, the workers added), as a superuser.",
        ),
    ],
    scale: Scale = 1.0,
    seconds: Annotated[float, typer.Option("--seconds", min=0.1, help="Time per timed path and topology.")] = 6.0,
    rounds: Annotated[
        int, typer.Option("--rounds", min=1, help="Rounds of every path, the topologies interleaved; medians.")
    ] = 3,
    shard_count: Annotated[int, typer.Option("--shard-count", min=1, help="Shards of the distributed tables.")] = 64,
    batch: Annotated[
        int,
        typer.Option(
            "--batch", min=1, help="Messages per ingest batch and events per record_events call (5 of each a round)."
        ),
    ] = 5000,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "--out",
            help="Report whose <!-- bench-citus:begin --> ... <!-- bench-citus:end --> block is rewritten (appended"
            " if absent). Default: a file in the temporary folder.",
            show_default=False,
        ),
    ] = None,
    debug: Debug = False,
) -> None:
    """The hot paths on one server and on a Citus cluster, same data, side by side: latency and
    throughput. Migrates and loads both databases, distributes the coordinator's tables after the
    load, then measures.

    The package starts no server: `uv run python -m tools.bench_citus` starts throwaway ones.

    Example: socialdb bench citus --single-url URL --coordinator-url URL --scale 0.05 --seconds 2
    """
    import tempfile

    from socialdb.bench import citus

    options = citus.Options(scale, seconds, rounds, shard_count, batch)
    doc = output or Path(tempfile.gettempdir()) / f"socialdb-bench-citus-{scale:g}.md"
    with _progress() as progress:
        done = call(lambda: citus.run(single_url, coordinator_url, options, say, progress), debug, coordinator_url)
    citus.write(doc, citus.render(done, options.command()))
    say(f"wrote {doc}")
