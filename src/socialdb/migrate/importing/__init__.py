"""`socialdb migrate import`: another tool's migrations (dbmate, golang-migrate, node-pg-migrate,
Flyway, Diesel) as socialdb files, and, with a database, its history adopted.

tool.py names the tools, tools.py reads each tool's layout (pure), convert.py makes and
writes socialdb files, adopt.py records the applied ones in socialdb's history. This face
loads them when `run` runs: the command line imports it to name the tools. docs/runner.md, "Coming from
another tool", has the mapping of each tool's versions and kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from socialdb.errors import MigrationFileError
from socialdb.migrate.importing.tool import Tool
from socialdb.scripts.events import Listener, silent

if TYPE_CHECKING:
    from socialdb.migrate.importing.adopt import Adopted
    from socialdb.migrate.importing.convert import Written

__all__ = ["Imported", "Tool", "run"]


@dataclass(frozen=True)
class Imported:
    written: Written
    adopted: Adopted | None  # None: no database given


def run(
    tool: Tool,
    source: Path,
    target: Path,
    url: str | None = None,
    table: str | None = None,
    report: Listener = silent,
) -> Imported:
    """Convert `source` (a `tool` folder) into socialdb files in `target`; with `url`, adopt the
    tool's history there. Everything is checked before anything is written; run again, it
    changes nothing."""
    from socialdb.migrate.importing.convert import convert, planned, read_folder, write

    if target.resolve().is_relative_to(source.resolve()):
        raise MigrationFileError(str(target), f"is (inside) the {tool.value} folder: write socialdb's files elsewhere")
    files = read_folder(tool, source)
    try:
        converted = convert(tool, files)
    except MigrationFileError as exc:  # named relative to the folder: name it as the user does
        where = source if exc.path == "." else source / exc.path
        raise MigrationFileError(str(where), exc.reason, exc.line) from None
    planned(converted, target)  # refuses a clash with what is there before any database work
    if url is None:
        return Imported(write(converted, target), None)
    from socialdb.migrate.importing.adopt import adopt  # the database driver, only for a database

    written: list[Written] = []
    adopted = adopt(url, tool, converted, table, report, before_commit=lambda: written.append(write(converted, target)))
    return Imported(written[0], adopted)
