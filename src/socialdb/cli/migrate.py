"""`socialdb migrate ...`: apply, roll back, inspect and create migrations."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from socialdb.cli.common import DatabaseUrl, Debug, Directory, call, group, say, target_url, with_run_options
from socialdb.migrate import runner
from socialdb.migrate.files import default_directory, new_migration
from socialdb.migrate.options import ResolveAction, RunOptions

migrate_app = group("migrate", "Apply, roll back and inspect migrations.")

To = Annotated[
    int | None, typer.Option("--to", help="Target version: it must name a migration file.", show_default=False)
]


@migrate_app.command("up")
@with_run_options
def migrate_up(
    options: RunOptions,
    to: To = None,
    database_url: DatabaseUrl = None,
    directory: Directory = None,
    debug: Debug = False,
) -> None:
    """Apply every pending migration (up to --to V), each in its own transaction."""
    url = target_url(database_url, debug)
    done = call(lambda: runner.up(url, directory, options, say, to=to), debug, url)
    say(f"{len(done)} migration(s) applied")


@migrate_app.command("down")
@with_run_options
def migrate_down(
    options: RunOptions,
    steps: Annotated[
        int | None, typer.Argument(help="How many migrations to roll back [default: 1].", min=1, show_default=False)
    ] = None,
    to: To = None,
    database_url: DatabaseUrl = None,
    directory: Directory = None,
    debug: Debug = False,
) -> None:
    """Roll back the last N applied migrations, or every one newer than --to V (V stays); newest first."""
    if steps is not None and to is not None:
        raise typer.BadParameter("give N or --to V, not both")
    url = target_url(database_url, debug)
    done = call(lambda: runner.down(url, steps, directory, options, say, to=to), debug, url)
    say(f"{len(done)} migration(s) rolled back")


@migrate_app.command("resolve")
@with_run_options
def migrate_resolve(
    options: RunOptions,
    version: Annotated[int, typer.Argument(help="Version of the failed migration.")],
    retry: Annotated[bool, typer.Option("--retry", help="Run it again from its first statement.")] = False,
    mark_applied: Annotated[bool, typer.Option("--mark-applied", help="Record it as applied (done by hand).")] = False,
    database_url: DatabaseUrl = None,
    directory: Directory = None,
    debug: Debug = False,
) -> None:
    """Settle a non-transactional migration that failed midway."""
    if retry == mark_applied:
        raise typer.BadParameter("give exactly one of --retry and --mark-applied")
    url = target_url(database_url, debug)
    action = ResolveAction.RETRY if retry else ResolveAction.MARK_APPLIED
    call(lambda: runner.resolve(url, version, action, directory, options, say), debug, url)


@migrate_app.command("status")
def migrate_status(database_url: DatabaseUrl = None, directory: Directory = None, debug: Debug = False) -> None:
    """Every migration with its state: applied, pending, changed, missing or failed."""
    url = target_url(database_url, debug)
    rows = call(lambda: runner.status(url, directory), debug, url)
    table = Table("version", "name", "applied at (UTC)", "duration", "state")
    for row in rows:
        applied = f"{row.executed_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}" if row.executed_at else ""
        duration = f"{row.execution_ms} ms" if row.execution_ms is not None else ""
        table.add_row(f"{row.version:03d}", row.name, applied, duration, row.state)
    Console(width=120).print(table)


@migrate_app.command("new")
def migrate_new(
    name: Annotated[str, typer.Argument(help="Lower-case name, e.g. add-product-weight.")],
    directory: Directory = None,
    debug: Debug = False,
) -> None:
    """Create the next migration file from a template."""
    path = call(lambda: new_migration(directory or default_directory(), name), debug)
    say(str(path))
