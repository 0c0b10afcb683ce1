"""`socialdb db ...` and `socialdb psql`: the database socialdb talks to."""

from __future__ import annotations

import os
import shutil
from typing import Annotated

import typer
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from socialdb import embedded
from socialdb.cli.common import DatabaseUrl, Debug, call, command, fail, group, say, target_url
from socialdb.db import mask_url
from socialdb.settings import embedded_dir

db_app = group("db")


@db_app.command("url")
def db_url(database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """The database URL socialdb would use, password masked.

    Example: DATABASE_URL=postgresql://me:secret@db/socialdb socialdb db url
    """
    say(mask_url(target_url(database_url, debug)))


@db_app.command("create")
def db_create(database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """Create the URL's database (through the server's `postgres` database); nothing if it exists.

    Example: socialdb db create --database-url postgresql://deploy@db/shop
    """
    from socialdb.db import ensure_database

    url = target_url(database_url, debug)
    created = call(lambda: ensure_database(url), debug, url)
    say(f"{'created' if created else 'already exists:'} {mask_url(url)}")


@db_app.command("bootstrap")
def db_bootstrap(
    role: Annotated[
        str | None, typer.Option("--role", help="The role that will migrate (default: the one connecting).")
    ] = None,
    run: Annotated[
        bool, typer.Option("--apply", help="Run the statements (in one transaction), not just print them.")
    ] = False,
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Print what must be done once before a role that is no superuser migrates this database.

    Only what is missing, each a statement a managed provider's main role may run (docs/deploying.md).

    Run it as that role; --apply runs them.

    Example: socialdb db bootstrap --role deploy --database-url postgresql://admin@db/socialdb
    """
    from socialdb.migrate.bootstrap import bootstrap

    url = target_url(database_url, debug)
    migrator, todo = call(lambda: bootstrap(url, role, run=run), debug, url)
    if not todo:
        say(f"-- nothing to do: {migrator} has what the migrations need in this database")
        return
    for step in todo:
        if step.blocked:
            say(f"-- needs another role ({step.blocked}): {step.statement};  -- {step.why}")
        else:
            say(f"{step.statement};  -- {step.why}")
    if run:
        say(f"-- {len(todo)} statement(s) applied for {migrator}")


@db_app.command("stop")
def db_stop(debug: Debug = False) -> None:
    """Stop the embedded PostgreSQL (its data stays in ./.socialdb).

    Example: socialdb db stop
    """
    stopped = call(lambda: embedded.stop(embedded_dir()), debug)
    say("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


@command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def psql(ctx: typer.Context, database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """The password travels in PGPASSWORD, not on the command line.

    Example: socialdb psql -c 'SELECT count(*) FROM users'
    """
    url = target_url(database_url, debug)
    executable = shutil.which("psql") or embedded.psql_path()
    if executable is None:
        fail("psql not found: install PostgreSQL's client (e.g. apt install postgresql-client)", 1)
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = dict(os.environ, **({"PGPASSWORD": str(password)} if password else {}))
    os.execve(executable, [executable, make_conninfo("", **params), *ctx.args], env)
