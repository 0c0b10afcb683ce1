"""`socialdb init`: a project's config, migrations folder and lint waivers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from socialdb.cli.common import Debug, call, command, say


@command("init")
def init_command(
    migrations_dir: Annotated[
        str, typer.Option("--migrations-dir", help="The folder of migrations to make, relative to here.")
    ] = "migrations",
    debug: Debug = False,
) -> None:
    """Example: socialdb init && socialdb migrate new create-accounts"""
    from socialdb import config

    written = call(lambda: config.init(Path.cwd(), migrations_dir), debug)
    for path in written:
        say(f"wrote {path}{'/' if path.is_dir() else ''}")
