"""`socialdb lint`: Squawk over the migrations, with reasoned waivers."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from socialdb.cli.common import Debug, Directory, call, command, project, say
from socialdb.migrate import lint


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


@command("lint")
def lint_command(
    files: Annotated[list[Path] | None, typer.Argument(help="Migration files or folders (default: --dir).")] = None,
    directory: Directory = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Waiver file (default: $SOCIALDB_LINT_WAIVERS, else the config's, else lint-waivers.toml beside"
            " the migrations).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.TEXT,
    debug: Debug = False,
) -> None:
    """Example: socialdb lint src/socialdb/migrate/migrations/030-comments.sql --format json"""
    where = project(debug, directory)
    paths = files or [where.directory]
    findings = call(lambda: lint.lint_paths(paths, config or where.lint_waivers), debug)
    open_findings = [f for f in findings if f.waived_by is None]
    if output is Format.JSON:
        say(json.dumps([f.__dict__ for f in findings], indent=2))
    else:
        for f in open_findings:
            say(f"{f.file}:{f.line}: {f.rule} ({f.part}): {f.message}" + (f" {f.help}" if f.help else ""))
        say(f"{len(open_findings)} finding(s), {len(findings) - len(open_findings)} waived")
    if open_findings:
        raise typer.Exit(1)
