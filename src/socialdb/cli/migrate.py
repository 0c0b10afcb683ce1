"""`socialdb migrate ...`: apply, roll back, inspect, plan, verify and create migrations."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from socialdb import planner  # light: each of its names loads its module when first used
from socialdb.cli import progress
from socialdb.cli.common import DatabaseUrl, Debug, Directory, call, fail, group, project, say, target_url, with_project
from socialdb.config import Project  # at run time: `with_project` reads the commands' annotations
from socialdb.migrate import runner
from socialdb.planner import FailOn, Thresholds
from socialdb.scripts.events import as_lines
from socialdb.scripts.files import new_migration
from socialdb.scripts.options import ResolveAction
from socialdb.scripts.standing import Problem, StatusRow

if TYPE_CHECKING:
    from socialdb.planner import Plan

lines = as_lines(say)  # the runner's events, each as the line it reads as

migrate_app = group("migrate")

To = Annotated[
    int | None, typer.Option("--to", help="Target version: it must name a migration file.", show_default=False)
]


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


class ListFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


Trace = Annotated[
    bool,
    typer.Option(
        "--trace",
        help="Also run the pending statements on a scratch copy (each rolled back) and add the locks"
        " pg_locks shows there to the plan.",
    ),
]
TraceScratchUrl = Annotated[
    str | None,
    typer.Option(
        "--scratch-url",
        help="With --trace: a database on the server where the scratch copy is built (default: the target's"
        " server; same PostgreSQL major version, CREATEDB needed).",
        show_default=False,
    ),
]
OutputFormat = Annotated[Format, typer.Option("--format", help="text (a table), json, or markdown.")]
ListOutput = Annotated[ListFormat, typer.Option("--format", help="text or json.")]
OutOfOrder = Annotated[
    bool,
    typer.Option(
        "--allow-out-of-order", help="Run a pending file older than the newest applied one too (else refused)."
    ),
]
VerifyOutOfOrder = Annotated[
    bool,
    typer.Option(
        "--allow-out-of-order",
        help="Do not count a pending file older than the newest applied one (up --allow-out-of-order would run it).",
    ),
]
_SIZE = re.compile(r"^\s*(\d+)\s*(B|kB|KB|MB|GB|TB)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}


def _size(value: str) -> int:
    """`--large-size`: bytes, or a number with kB, MB, GB or TB (powers of 1024)."""
    match = _SIZE.match(value)
    if match is None:
        raise typer.BadParameter(f"invalid size {value!r}: use e.g. 100MB or 2GB")
    return int(match.group(1)) * _UNITS[(match.group(2) or "B").lower()]


@migrate_app.command("up")
@with_project
def migrate_up(
    project: Project,
    to: To = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Change nothing: show the plan (as `migrate plan`) instead.")
    ] = False,
    output: OutputFormat = Format.TEXT,
    trace: Trace = False,
    scratch_url: TraceScratchUrl = None,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="Plain lines, no progress display (as when NO_COLOR is set).")
    ] = False,
    allow_out_of_order: OutOfOrder = False,
    create_database: Annotated[
        bool, typer.Option("--create-database", help="Create the URL's database first when it does not exist.")
    ] = False,
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Apply every pending migration (up to --to V), each in its own transaction.

    Example: socialdb migrate up --to 12 --database-url postgresql://deploy@db/socialdb
    """
    url = target_url(database_url, debug)
    if trace and not dry_run:
        raise typer.BadParameter("--trace goes with --dry-run (or `migrate plan --trace`)")
    if create_database:
        from socialdb.db import ensure_database, mask_url

        if call(lambda: ensure_database(url), debug, url):
            say(f"created the database of {mask_url(url)}")
    if dry_run:
        plan = call(lambda: _plan(url, project, to, allow_out_of_order), debug, url)
        if trace:
            plan = _traced(plan, url, _scratch_server(scratch_url, debug), project.directory, (), debug)
        _show_plan(plan, output)
        return
    progress.run_up(url, project, to, allow_out_of_order, no_color=no_color, debug=debug, plain=say)


def _plan(url: str, project: Project, to: int | None, allow_out_of_order: bool) -> Plan:
    report = say if allow_out_of_order else _to_stderr
    return planner.plan(
        url,
        project.directory,
        to=to,
        options=project.options,
        history=project.history,
        allow_out_of_order=allow_out_of_order,
        report=report,
    )


def _to_stderr(line: str) -> None:
    typer.echo(line, err=True)


@migrate_app.command("plan")
def migrate_plan(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Plan these migration files instead of the pending ones.", exists=True, dir_okay=False, readable=True
        ),
    ] = None,
    to: To = None,
    output: OutputFormat = Format.TEXT,
    fail_on: Annotated[
        list[FailOn] | None,
        typer.Option("--fail-on", help="Exit 1 when the plan has this; repeat for several.", show_default=False),
    ] = None,
    large_rows: Annotated[
        int, typer.Option("--large-rows", min=0, help="A table is large from this many estimated rows.")
    ] = Thresholds.large_rows,
    large_size: Annotated[
        str, typer.Option("--large-size", help="...or, never analysed, from this size (e.g. 100MB).")
    ] = "100MB",
    offline: Annotated[
        bool, typer.Option("--offline", help="Connect to nothing: plan every file for a new, empty database.")
    ] = False,
    server_version: Annotated[
        int, typer.Option("--server-version", min=10, max=99, help="With --offline: the PostgreSQL major version.")
    ] = 18,
    allow_out_of_order: OutOfOrder = False,
    trace: Trace = False,
    scratch_url: TraceScratchUrl = None,
    database_url: DatabaseUrl = None,
    directory: Directory = None,
    debug: Debug = False,
) -> None:
    """What `up` would run, in which transactions, and what each statement locks, blocks and rewrites.

    Example: socialdb migrate plan --fail-on blocking-on-large --fail-on rewrite
    """
    limits = Thresholds(large_rows, _size(large_size))
    where = project(debug, directory)
    url = None if offline else target_url(database_url, debug)
    server = planner.Server(server_version * 10000)
    given = files or ()
    noted = _to_stderr if output is not Format.TEXT else say  # JSON and Markdown stay parseable
    plan = call(
        lambda: planner.plan(
            url,
            where.directory,
            to=to,
            files=given,
            thresholds=limits,
            server=server,
            history=where.history,
            allow_out_of_order=allow_out_of_order,
            report=noted,
        ),
        debug,
        url,
    )
    if trace:
        plan = _traced(plan, url, _scratch_server(scratch_url, debug), where.directory, given, debug)
    _show_plan(plan, output)
    refused = planner.violations(plan, fail_on or ())
    if refused:
        gates = ", ".join(gate.value for gate in fail_on or ())
        fail(f"plan refused by --fail-on {gates}: {len(refused)} statement(s): " + "; ".join(refused), 1)


def _scratch_server(scratch_url: str | None, debug: bool) -> str | None:
    from socialdb.settings import resolve_target

    if scratch_url is None:
        return None
    target = call(lambda: resolve_target(scratch_url, environ={}, option="--scratch-url"), debug)
    return target.url if target else None


def _traced(
    plan: Plan, url: str | None, scratch: str | None, directory: Path | None, files: Sequence[Path], debug: bool
) -> Plan:
    """The plan joined with its trace on a scratch copy (socialdb.schema.trace)."""
    from socialdb.schema import trace

    return call(lambda: trace.trace(plan, url, scratch_server=scratch, directory=directory, files=files), debug, url)


def _show_plan(plan: Plan, output: Format) -> None:
    if output is Format.JSON:
        say(json.dumps(planner.plan_json(plan), indent=2))
    elif output is Format.MARKDOWN:
        say(planner.plan_markdown(plan).rstrip("\n"))
    else:
        _print_plan(plan)


def _print_plan(plan: Plan) -> None:
    from rich.console import Console  # only for a plan's tables
    from rich.table import Table

    console = Console(width=200 if plan.database else 140)
    if not plan.migrations:
        console.print("nothing to run: no pending migration")
        return
    for migration in plan.migrations:
        table = Table(*planner.columns(plan.database), title=planner.migration_heading(migration), title_justify="left")
        for statement in migration.statements:
            for row in planner.statement_rows(statement, plan.database):
                table.add_row(*row, style="bold red" if statement.risk else None)
        console.print(table)
    risky = sum(1 for m in plan.migrations for s in m.statements if s.risk)
    summary = planner.trace_summary(plan)
    if summary:
        console.print(summary)
    if plan.database:
        console.print(
            f"{risky} statement(s) marked RISK: a blocking lock on a large table"
            f" (from {plan.thresholds.large_rows} rows)"
        )


@migrate_app.command("verify")
def migrate_verify(
    output: ListOutput = ListFormat.TEXT,
    allow_out_of_order: VerifyOutOfOrder = False,
    database_url: DatabaseUrl = None,
    directory: Directory = None,
    debug: Debug = False,
) -> None:
    """Exit 1 when an applied file changed or is missing, one failed, a pending one is out of order, or a run
    stopped inside 025-039 (unfinished); else silent.

    Example: socialdb migrate verify --format json
    """
    where = project(debug, directory)
    url = target_url(database_url, debug)
    problems = call(
        lambda: runner.verify(url, where.directory, history=where.history, allow_out_of_order=allow_out_of_order),
        debug,
        url,
    )
    if output is ListFormat.JSON:
        say(json.dumps(_problems_json(problems), indent=2))
    else:
        for problem in problems:
            say(f"{problem.file}: {problem.state}: {problem.detail}")
    if problems:
        fail(f"{len(problems)} migration file(s) disagree with the database's history", 1)


@migrate_app.command("down")
@with_project
def migrate_down(
    project: Project,
    steps: Annotated[
        int | None, typer.Argument(help="How many migrations to roll back \\[default: 1].", min=1, show_default=False)
    ] = None,
    to: To = None,
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Roll back the last N applied migrations, or every one newer than --to V (V stays); newest first.

    Example: socialdb migrate down 2   (or: socialdb migrate down --to 27)
    """
    if steps is not None and to is not None:
        raise typer.BadParameter("give N or --to V, not both")
    url = target_url(database_url, debug)
    done = call(
        lambda: runner.down(url, steps, project.directory, project.options, lines, to=to, history=project.history),
        debug,
        url,
    )
    say(f"{len(done)} migration(s) rolled back")


@migrate_app.command("resolve")
@with_project
def migrate_resolve(
    project: Project,
    version: Annotated[int, typer.Argument(help="Version of the failed migration.")],
    retry: Annotated[bool, typer.Option("--retry", help="Run it again from its first statement.")] = False,
    mark_applied: Annotated[bool, typer.Option("--mark-applied", help="Record it as applied (done by hand).")] = False,
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Settle a non-transactional migration that failed midway.

    Example: socialdb migrate resolve 13 --retry
    """
    if retry == mark_applied:
        raise typer.BadParameter("give exactly one of --retry and --mark-applied")
    url = target_url(database_url, debug)
    action = ResolveAction.RETRY if retry else ResolveAction.MARK_APPLIED
    call(
        lambda: runner.resolve(
            url, version, action, project.directory, project.options, lines, history=project.history
        ),
        debug,
        url,
    )


@migrate_app.command("status")
def migrate_status(
    output: ListOutput = ListFormat.TEXT,
    database_url: DatabaseUrl = None,
    directory: Directory = None,
    debug: Debug = False,
) -> None:
    """Every migration with its state: applied, pending, running, changed, missing, failed or unreadable.

    Example: socialdb migrate status --database-url postgresql://deploy@db/socialdb
    """
    where = project(debug, directory)
    url = target_url(database_url, debug)
    rows = call(lambda: runner.status(url, where.directory, history=where.history), debug, url)
    if output is ListFormat.JSON:
        say(json.dumps(_status_json(rows), indent=2))
        return
    cells = []
    for row in rows:
        applied = f"{row.executed_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}" if row.executed_at else ""
        duration = f"{row.execution_ms} ms" if row.execution_ms is not None else ""
        cells.append([f"{row.version:03d}" if row.version >= 0 else "?", row.name, applied, duration, row.state])
    say(_grid(["version", "name", "applied at (UTC)", "duration", "state"], cells))
    for row in rows:
        if row.state in ("unreadable", "running") or (row.state == "pending" and row.detail):  # and out of order
            say(f"{row.file}: {row.detail}")


@migrate_app.command("new")
def migrate_new(
    name: Annotated[str, typer.Argument(help="Lower-case name, e.g. add-product-weight.")],
    directory: Directory = None,
    debug: Debug = False,
) -> None:
    """Create the next migration file from a template.

    Example: socialdb migrate new add-product-weight
    """
    folder = project(debug, directory).directory
    path = call(lambda: new_migration(folder, name), debug)
    say(str(path))


def _status_json(rows: list[StatusRow]) -> list[dict[str, Any]]:
    """`status --format json`: each row, its time in UTC as ISO 8601."""
    return [
        {**asdict(row), "executed_at": row.executed_at.astimezone(UTC).isoformat() if row.executed_at else None}
        for row in rows
    ]


def _problems_json(problems: list[Problem]) -> dict[str, Any]:
    """`verify --format json`."""
    return {"ok": not problems, "problems": [asdict(p) for p in problems]}


def _grid(headers: list[str], rows: list[list[str]]) -> str:
    """A table drawn as Rich draws one (heavy head), in time linear in its cells: Rich measures every
    cell for wrapping, which took 3 s for the 10,000 rows of a long history (docs/performance.md)."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(left: str, fill: str, middle: str, right: str) -> str:
        return left + middle.join(fill * (w + 2) for w in widths) + right

    def cells(values: list[str], bar: str) -> str:
        return bar + bar.join(f" {v.ljust(w)} " for v, w in zip(values, widths, strict=True)) + bar

    out = [line("┏", "━", "┳", "┓"), cells(headers, "┃"), line("┡", "━", "╇", "┩")]
    out += [cells(row, "│") for row in rows]
    out.append(line("└", "─", "┴", "┘"))
    return "\n".join(out)


@migrate_app.command("repair")
@with_project
def migrate_repair(
    project: Project,
    yes: Annotated[
        bool, typer.Option("--yes", help="Re-record the changes shown; without it nothing changes.")
    ] = False,
    record_changed_up: Annotated[
        bool,
        typer.Option(
            "--record-changed-up",
            help="Also re-record a changed up part (or renamed file) as applied, without running it.",
        ),
    ] = False,
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Show applied files whose rollback (or up part) changed since; with --yes, re-record their checksums.

    Nothing is run. Example: socialdb migrate repair --yes
    """
    url = target_url(database_url, debug)
    where, table = project.directory, project.history
    found = call(lambda: runner.repair(url, where, history=table, options=project.options), debug, url)
    if not found:
        say("nothing to repair: every applied file is as recorded")
        return
    for change in found:
        note = " (needs --record-changed-up)" if change.part == "up" and not record_changed_up else ""
        say(
            f"{change.migration.filename}: {change.part} part changed since it was applied:"
            f" checksum {change.recorded[:12]} -> {change.now[:12]}{note}"
        )
    if not yes:
        fail(f"{len(found)} row(s) to re-record; nothing was changed: rerun with --yes", 1)
    done = call(
        lambda: runner.repair(
            url, where, apply=True, changed_up=record_changed_up, history=table, options=project.options, report=lines
        ),
        debug,
        url,
    )
    say(f"re-recorded {len(done)} migration(s) in {table}")


@migrate_app.command("baseline")
@with_project
def migrate_baseline(
    project: Project,
    to: Annotated[int, typer.Option("--to", help="The version the database already is at.", show_default=False)],
    scratch_url: Annotated[
        str | None,
        typer.Option("--scratch-url", help="Server for the scratch database (default: the database's own)."),
    ] = None,
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Adopt a database made by hand: prove it equals the migrations up to --to V, then record them.

    Example: socialdb migrate baseline --to 12 --database-url postgresql://deploy@db/legacy
    """
    from socialdb.schema import diff  # the comparison is the schema tools'; the runner records

    url = target_url(database_url, debug)
    chosen = call(
        lambda: runner.baseline(
            url,
            to,
            lambda: diff.against(url, to, project.directory, scratch_server=scratch_url, table=project.history),
            project.directory,
            history=project.history,
            options=project.options,
            report=lines,
        ),
        debug,
        url,
    )
    say(f"baseline: {len(chosen)} migration(s) recorded as applied; `migrate up` goes on from version {to}")


from socialdb.cli import migrate_import as _migrate_import  # noqa: E402, F401  (`migrate import`)
