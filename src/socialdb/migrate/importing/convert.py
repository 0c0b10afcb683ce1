"""Another tool's migrations as socialdb files: `convert` is pure (file texts in, files out);
`read_folder` and `write` are the I/O around it.

Each converted file is read back with socialdb's own parser and checked as `up` and `down`
would check it, so a file that converts is a file socialdb runs; anything that would not is
refused naming the other tool's file and line, before anything is written.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from socialdb.errors import MigrationFileError
from socialdb.migrate.importing.tools import LAYOUTS, Source, Tool, read_sources
from socialdb.scripts.files import ROLLBACK_MARKER, Migration, load_migrations, parse_migration, prepare, read_text
from socialdb.scripts.options import Direction

NO_TRANSACTION = "-- socialdb: transaction=off\n"
_SOCIALDB_MARKER = re.compile(r"^--\s*rollback\b", re.IGNORECASE)  # what files.py would take for its marker


@dataclass(frozen=True)
class Converted:
    source: Source
    filename: str
    text: str
    migration: Migration


@dataclass(frozen=True)
class Written:
    """What `write` did: the files it wrote, and those that were there already, the same."""

    written: tuple[str, ...]
    unchanged: tuple[str, ...]


def convert(tool: Tool, files: Mapping[str, str]) -> list[Converted]:
    """A tool's folder (relative path -> text) as socialdb files, in version order."""
    sources = read_sources(tool, files)
    if not sources:
        raise MigrationFileError(".", f"no {tool.value} migration found")
    _refuse_collisions(sources)
    _refuse_reordering(tool, sources)
    return [convert_one(source) for source in sources]


def convert_one(source: Source) -> Converted:
    """One migration as a socialdb file: `transaction=off` when its tool ran it outside a
    transaction, or when it holds a statement that can only run so (it ran, so its tool did)."""
    for part, first, origin in ((source.up, source.up_line, source.origin), (source.down, source.down_line, None)):
        for offset, line in enumerate((part or "").split("\n")):
            if _SOCIALDB_MARKER.match(line.strip()):
                raise MigrationFileError(
                    origin or source.down_origin or source.origin,
                    f"{line.strip()!r} would read as socialdb's rollback marker: reword the comment, then import",
                    (first or 1) + offset,
                )
    filename = f"{source.version:03d}-{source.name}.sql"
    header = _header(source, off=not source.transaction)
    migration = _parsed(source, filename, header)
    if source.down_transaction is not None and source.down_transaction != source.transaction:
        _refuse_mixed(source, migration)
        header = _header(source, off=True)
        migration = _parsed(source, filename, header)
    needs_off = any(s.needs_no_transaction for s in (*migration.up_statements, *(migration.down_statements or ())))
    if migration.directives.transaction and needs_off:
        header = _header(source, off=True)
        migration = _parsed(source, filename, header)
    _check(source, migration, header.count("\n"))
    return Converted(source, filename, _text(source, header), migration)


def _refuse_mixed(source: Source, migration: Migration) -> None:
    """One part in a transaction, the other not: socialdb runs a file's parts alike, so the file
    becomes `transaction=off`, which is the same for a part of one statement, and only then."""
    part, statements = (
        ("up", migration.up_statements) if source.transaction else ("down", migration.down_statements or ())
    )
    if len(statements) > 1:
        raise MigrationFileError(
            source.origin,
            f"transaction:false on one part only, and the {part} part, in a transaction, has {len(statements)}"
            " statements: socialdb runs a file's parts alike; split the file, or give both markers the same",
            source.up_line - 1 if part == "up" else (source.down_line or 2) - 1,
        )


def _header(source: Source, *, off: bool) -> str:
    """The file's header line: `transaction=off` as above; `rollback=none` for a migration its
    tool had no down part for, which `up` would otherwise refuse (a file must say it cannot be undone)."""
    settings = (["transaction=off"] if off else []) + (["rollback=none"] if source.down is None else [])
    return f"-- socialdb: {' '.join(settings)}\n" if settings else ""


def _text(source: Source, header: str) -> str:
    up = header + source.up
    return up if source.down is None else f"{up}\n{ROLLBACK_MARKER}\n{source.down}"


def _parsed(source: Source, filename: str, header: str) -> Migration:
    try:
        return parse_migration(filename, _text(source, header))
    except MigrationFileError as exc:
        raise _at_source(source, exc, header.count("\n")) from None


def _check(source: Source, migration: Migration, header_lines: int) -> None:
    """What `up` and `down` would refuse in the converted file (files.prepare), refused now."""
    try:
        prepare(migration, Direction.UP)
        if migration.down_statements is not None:
            prepare(migration, Direction.DOWN)
    except MigrationFileError as exc:
        raise _at_source(source, exc, header_lines) from None


def _at_source(source: Source, exc: MigrationFileError, header_lines: int) -> MigrationFileError:
    """The error of a converted file, at the other tool's file and line it comes from."""
    up_lines = source.up.count("\n")
    line = exc.line
    if line is None or line <= header_lines:
        return MigrationFileError(source.origin, exc.reason, None if line is None else source.up_line)
    if line <= header_lines + up_lines:
        return MigrationFileError(source.origin, exc.reason, source.up_line + line - header_lines - 1)
    first_down = header_lines + up_lines + 3  # a blank line, the marker, then the down part
    where = source.down_origin or source.origin
    if line < first_down or source.down_line is None:
        return MigrationFileError(where, exc.reason, source.down_line)
    return MigrationFileError(where, exc.reason, source.down_line + line - first_down)


def _refuse_collisions(sources: list[Source]) -> None:
    seen: dict[int, Source] = {}
    for source in sources:
        if source.version in seen:
            raise MigrationFileError(
                source.origin, f"becomes version {source.version}, as {seen[source.version].origin} does: rename one"
            )
        seen[source.version] = source


def _refuse_reordering(tool: Tool, sources: list[Source]) -> None:
    """`sources` are in the tool's order: socialdb's (by version) must be the same, or a run
    would apply them in another order than the tool did."""
    for before, after in itertools.pairwise(sources):
        if after.version < before.version:
            raise MigrationFileError(
                after.origin,
                f"{tool.value} runs it after {before.origin}, but its version {after.version} is lower"
                f" than {before.version}: socialdb would run them the other way round",
            )


def read_folder(tool: Tool, directory: Path) -> dict[str, str]:
    """The texts a tool reads from its folder, by path relative to it."""
    if not directory.is_dir():
        raise MigrationFileError(str(directory), "folder not found")
    found: dict[str, str] = {}
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith("."):
            continue
        if LAYOUTS[tool].nested:
            if entry.is_dir():
                for leaf in sorted(entry.iterdir()):
                    if not leaf.name.startswith("."):
                        found[f"{entry.name}/{leaf.name}"] = read_text(leaf)
            continue
        if entry.is_dir():
            if tool is Tool.FLYWAY:  # Flyway reads its locations' subfolders too
                raise MigrationFileError(str(entry), "a subfolder: Flyway reads it too; import a folder of files only")
            continue
        if entry.suffix == ".sql" or (tool is Tool.NODE_PG_MIGRATE and re.search(r"\.[cm]?[jt]s$", entry.name)):
            found[entry.name] = read_text(entry)
    return found


def planned(converted: list[Converted], target: Path) -> Written:
    """Which files `write` would write and which are there already, the same; refuses a file
    that is there with other text, or a version that another file of `target` holds."""
    existing = {m.version: m for m in load_migrations(target)} if target.is_dir() else {}
    new, same = [], []
    for item in converted:
        there = existing.get(item.migration.version)
        if there is None:
            new.append(item.filename)
        elif there.filename != item.filename:
            raise MigrationFileError(
                str(target / there.filename),
                f"holds version {item.migration.version}, which {item.source.origin} becomes ({item.filename})",
            )
        elif there.checksum != item.migration.checksum:
            raise MigrationFileError(
                str(target / item.filename), f"is there already with other text than {item.source.origin} converts to"
            )
        else:
            same.append(item.filename)
    return Written(tuple(new), tuple(same))


def write(converted: list[Converted], target: Path) -> Written:
    """Write the converted files into `target` (created if missing): all to a temporary folder
    beside it first, then moved in, so that no file is ever half-written."""
    plan = planned(converted, target)
    if not plan.written:
        return plan
    texts = {c.filename: c.text for c in converted if c.filename in plan.written}
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-import-", dir=target.parent))
    try:
        for name, text in texts.items():
            with open(staging / name, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        if not target.exists():
            staging.chmod(0o777 & ~_umask())  # as mkdir would make it, not mkdtemp's 0700
            staging.rename(target)  # the whole folder at once
            return plan
        for name in texts:
            os.replace(staging / name, target / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return plan


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
