"""`socialdb migrate import`: thin; the work is socialdb.migrate.importing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from socialdb.cli.common import Debug, call, fail, say
from socialdb.cli.migrate import migrate_app
from socialdb.migrate.importing import Tool, run
from socialdb.scripts.events import as_lines


@migrate_app.command("import")
def migrate_import(
    source: Annotated[Path, typer.Argument(help="The other tool's migrations folder.", show_default=False)],
    tool: Annotated[Tool, typer.Option("--from", help="The tool that wrote the folder.", show_default=False)],
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="The folder to write socialdb's files to (required).", show_default=False),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", help="The database whose history to adopt; none: convert only.", show_default=False
        ),
    ] = None,
    history_table: Annotated[
        str | None,
        typer.Option("--history-table", help="The tool's history table, if not its default name.", show_default=False),
    ] = None,
    debug: Debug = False,
) -> None:
    """Convert another tool's migrations into --dir; with --database-url, adopt its history table too.

    Example: socialdb migrate import --from dbmate db/migrations --dir migrations --database-url $DATABASE_URL
    """
    if directory is None or not str(directory).strip():
        fail("give --dir, the folder to write socialdb's migration files to", 2)
    url = database_url  # only the database named: adopting a history is never done on a default one
    done = call(lambda: run(tool, source, directory, url, history_table, as_lines(say)), debug, url)
    written, adopted = done.written, done.adopted
    if written.written:
        say(f"wrote {len(written.written)} file(s) to {directory}: {', '.join(written.written)}")
    if written.unchanged:
        say(f"{len(written.unchanged)} file(s) already in {directory}, unchanged")
    if adopted is not None:
        if adopted.recorded:
            versions = ", ".join(map(str, adopted.recorded))
            say(f"recorded {len(adopted.recorded)} migration(s) as applied from {adopted.table}: {versions}")
        if adopted.already:
            say(f"{len(adopted.already)} applied migration(s) of {adopted.table} already recorded")
        if not adopted.recorded and not adopted.already:
            say(f"{adopted.table} records no applied migration")
    if not written.written and adopted is None:
        say(f"nothing to do: every file is already in {directory}")
    elif not written.written and adopted is not None and not adopted.recorded:
        say("nothing to do: already imported")
    say(f"next: socialdb migrate status --dir {directory}")
