"""`socialdb schema ...`: the schema documented from the catalog, and drift caught."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from socialdb.cli.common import DatabaseUrl, Debug, Directory, call, fail, group, project, say, target_url

schema_app = group("schema")


def _out(value: str | Path) -> Path:
    """`--out`: an empty value is refused, not read as the current folder (it would overwrite a README there)."""
    if isinstance(value, Path):  # the default, passed through the parser too
        return value
    if not value.strip():
        raise typer.BadParameter("empty: give a folder for the generated files, or leave --out out for docs/schema")
    return Path(value)


Out = Annotated[Path, typer.Option("--out", help="Folder of the generated files.", parser=_out)]
Check = Annotated[
    bool,
    typer.Option("--check", help="Change nothing; exit 1 naming each file that differs from what the migrations make."),
]
DocumentUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Document this database as it is (default: a scratch database migrated on the embedded server;"
        " DATABASE_URL is not used).",
        show_default=False,
    ),
]
ScratchUrl = Annotated[
    str | None,
    typer.Option(
        "--scratch-url",
        help="A database on the server where the expected schema is built (default: the checked database's own"
        " server; same PostgreSQL major version, CREATEDB needed).",
        show_default=False,
    ),
]


@schema_app.command("docs")
def schema_docs(
    out: Out = Path("docs/schema"),
    check: Check = False,
    database_url: DocumentUrl = None,
    directory: Directory = None,
    debug: Debug = False,
) -> None:
    """Write README.md (with a Mermaid diagram), schema.svg and schema.sql from the catalog of a migrated database.

    Example: socialdb schema docs --check   (what CI runs: exit 1 if docs/schema is out of date)
    """
    from socialdb.schema import catalog, docs

    settings = project(debug, directory)  # --dir over SOCIALDB_MIGRATIONS_DIR over the config file
    if database_url is not None:
        url = target_url(database_url, debug)
        read = call(lambda: catalog.read(url, settings.history), debug, url)
    else:
        server = _embedded(debug)
        read = call(lambda: docs.from_migrations(server, settings.directory), debug, server)
    mode = docs.DocsMode.CHECK if check else docs.DocsMode.WRITE
    changed = call(lambda: docs.sync(docs.build(read), out, mode), debug)
    if mode == docs.DocsMode.CHECK and changed:
        for line in changed:
            typer.echo(line, err=True)
        fail(f"{out} is out of date: run `socialdb schema docs` and commit the result", 1)
    for line in changed:
        say(f"wrote {line}")
    say(f"{out} is up to date" if mode == docs.DocsMode.CHECK or not changed else f"{len(changed)} file(s) written")


def _embedded(debug: bool) -> str:
    from socialdb import embedded
    from socialdb.settings import embedded_dir

    return call(lambda: embedded.start(embedded_dir()), debug)


@schema_app.command("diff")
def schema_diff(
    database_url: DatabaseUrl = None,
    scratch_url: ScratchUrl = None,
    directory: Directory = None,
    debug: Debug = False,
) -> None:
    """Compare a database with what its migrations make; one line per difference, exit 1 if any.

    Example: socialdb schema diff --database-url postgresql://deploy@db.internal/socialdb
    """
    from socialdb.schema import diff
    from socialdb.settings import resolve_target

    settings = project(debug, directory)  # --dir over SOCIALDB_MIGRATIONS_DIR over the config file
    url = target_url(database_url, debug)
    scratch = (
        call(lambda: resolve_target(scratch_url, environ={}, option="--scratch-url"), debug)
        if scratch_url is not None
        else None
    )
    report = call(
        lambda: diff.drift(
            url, scratch_server=scratch.url if scratch else None, directory=settings.directory, table=settings.history
        ),
        debug,
        url,
    )
    against = f"the migrations up to {report.migration}" if report.migration else "an unmigrated database"
    for difference in report.differences:
        say(str(difference))
    if report.differences:
        say(f"{len(report.differences)} difference(s) from {against}")
        raise typer.Exit(1)
    say(f"no drift: the database matches {against}")
