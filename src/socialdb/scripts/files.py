"""Migration files: text in, frozen values out. No database code lives here.

A file is `NNN-name.sql` (or a 64-bit timestamp-style `20250801120000-name.sql`):
optional header directives, the up SQL, a line `-- ROLLBACK`, then the down SQL
(see docs/runner.md for the format). Both parts are split with PostgreSQL's parser
when the file is read, so a file that loads has no syntax error and no empty part.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from socialdb.errors import MigrationFileError, NoRollbackError
from socialdb.scripts import foreign
from socialdb.scripts.durations import parse_duration
from socialdb.scripts.options import Direction, RunOptions
from socialdb.scripts.splitting import Statement, split

ROLLBACK_MARKER = "-- ROLLBACK"
CORRECTIONS = "rollback-corrections.toml"  # in a migrations folder: see _with_corrections
_FILENAME = re.compile(r"^(\d+)-([a-z0-9][a-z0-9_-]*)\.sql$")
_LOOSE_MARKER = re.compile(r"^--\s*rollback\b", re.IGNORECASE)
_DIRECTIVE = re.compile(r"^--\s*socialdb\s*:(.*)$", re.IGNORECASE)
_DIRECTIVE_KEYS = ("transaction", "lock_timeout", "statement_timeout", "rollback")
IRREVERSIBLE = "-- socialdb: rollback=none"
MAX_VERSION = 2**63 - 1  # the history table's version is a bigint
TIMESTAMP_DIGITS = 14  # YYYYmmddHHMMSS: `migrate new` continues this style in a folder that uses it


@dataclass(frozen=True)
class Directives:
    """Per-migration settings from `-- socialdb: key=value` header lines."""

    transaction: bool = True
    lock_timeout_ms: int | None = None  # None: use the run's setting
    statement_timeout_ms: int | None = None
    irreversible: bool = False  # `rollback=none`: the migration says it cannot be undone


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    filename: str
    up: str
    down: str | None  # None: the file has no ROLLBACK section
    checksum: str
    up_line: int = 1  # line of the file where `up` starts
    down_line: int | None = None
    directives: Directives = field(default_factory=Directives)
    # Both parts split by PostgreSQL's parser when the file was read; never empty.
    up_statements: tuple[Statement, ...] = ()
    down_statements: tuple[Statement, ...] | None = None  # None: no ROLLBACK section
    # The up part's own checksum (header and up SQL): what may never change once applied.
    up_checksum: str = ""
    # Whole-file checksums the file had before its rollback part was corrected, with this
    # same up part (CORRECTIONS): a history row from before the split proves it unchanged.
    earlier_checksums: tuple[str, ...] = ()
    # False: read without PostgreSQL's parser (`up` splits only the pending files: an applied
    # one is judged by its checksum); its statements are empty and `prepare` refuses it (`Migration.parsed`).
    parsed: bool = True


def normalise(text: str) -> str:
    """Drop a BOM and turn CRLF / CR into LF, so checksums survive editors and git."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def checksum(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def parse_filename(filename: str) -> tuple[int, str]:
    match = _FILENAME.match(filename)
    if match is None and (other := foreign.by_name(filename)) is not None:
        raise MigrationFileError(filename, other)
    if match is None:
        raise MigrationFileError(
            filename, "not a migration file name: expected NNN-name.sql (digits, a dash, lower-case name)"
        )
    version = int(match.group(1))
    if version > MAX_VERSION:
        raise MigrationFileError(filename, f"version {version} does not fit in 64 bits (at most {MAX_VERSION})")
    return version, match.group(2)


def parse_migration(filename: str, text: str, *, split_parts: bool = True) -> Migration:
    """Turn one file's text into a Migration; raise MigrationFileError naming the line at fault.

    `split_parts=False`: everything but PostgreSQL's parser (which also loads pglast), for a file
    whose checksum says it is the one applied."""
    version, name = parse_filename(filename)
    lines = normalise(text).split("\n")
    if (other := foreign.by_marker(lines)) is not None:
        raise MigrationFileError(filename, other[1], other[0])
    marker = _find_marker(filename, lines)
    up_lines = lines if marker is None else lines[:marker]
    down_lines = None if marker is None else lines[marker + 1 :]
    directives = _parse_directives(filename, up_lines)
    down_line = None if marker is None else marker + 2
    if down_lines is not None and down_line is not None:
        _refuse_directives(filename, down_lines, first_line=down_line)
    up = "\n".join(up_lines)
    down = None if down_lines is None else "\n".join(down_lines)
    parts = _split_parts(filename, directives, up, down, down_line) if split_parts else ((), None)
    up_statements, down_statements = parts
    return Migration(
        version=version,
        name=name,
        filename=filename,
        up=up,
        down=down,
        checksum=checksum(text),
        up_checksum=checksum(up),
        up_line=1,
        down_line=down_line,
        directives=directives,
        up_statements=up_statements,
        down_statements=down_statements,
        parsed=split_parts,
    )


def _split_parts(
    filename: str, directives: Directives, up: str, down: str | None, down_line: int | None
) -> tuple[tuple[Statement, ...], tuple[Statement, ...] | None]:
    """Both parts through PostgreSQL's parser: no syntax error, no empty part."""
    up_statements = tuple(split(up, filename, 1))
    if not up_statements:
        raise MigrationFileError(
            filename, "no SQL statement in the up part (the file is empty or holds only comments)", line=1
        )
    if down is None or down_line is None:
        return up_statements, None
    marker_line = down_line - 1
    if directives.irreversible:
        raise MigrationFileError(
            filename,
            f"'{ROLLBACK_MARKER}' in a file marked rollback=none: keep the rollback or the directive, not both",
            marker_line,
        )
    down_statements = tuple(split(down, filename, down_line))
    if not down_statements:
        raise MigrationFileError(
            filename,
            f"'{ROLLBACK_MARKER}' is followed by no SQL statement: write the rollback, or, for a migration"
            f" that cannot be undone, replace the marker with the header line '{IRREVERSIBLE}'",
            marker_line,
        )
    return up_statements, down_statements


def with_statements(migration: Migration) -> Migration:
    """A migration read with `split_parts=False`, now through PostgreSQL's parser too."""
    if migration.parsed:
        return migration
    up, down = _split_parts(migration.filename, migration.directives, migration.up, migration.down, migration.down_line)
    return dataclasses.replace(migration, up_statements=up, down_statements=down, parsed=True)


def format_migration(up: str, down: str | None = None) -> str:
    """A migration file's text from its parts (the inverse of `parse_migration`): the up part (header
    directives included), then, if there is a rollback, the marker line and the down part."""
    return up if down is None else f"{up}\n{ROLLBACK_MARKER}\n{down}"


def load_migrations(directory: Path, *, split_parts: bool = True) -> list[Migration]:
    """Every migration in `directory`, in version order. Non-.sql files are ignored.

    `split_parts=False`: names, headers and markers are checked, not the SQL (`with_statements`
    does that for the files a run needs: `up` parses only the pending ones)."""
    migrations, unreadable = _read_folder(directory, tolerant=False, split_parts=split_parts)
    assert not unreadable  # raised instead
    return migrations


def fingerprints(directory: Path) -> dict[int, tuple[str, str]] | None:
    """Each file's version, with its name and whole-file checksum, read without parsing: what a
    no-op `up` compares with the history (decision 270). None when the folder holds anything that
    only a full read may judge (a name that is not ours, two files of one version, no folder)."""
    try:
        with os.scandir(directory) as entries:
            found = list(entries)
    except OSError:
        return None
    if any(e.is_dir() for e in found):
        return None  # a Diesel folder (hidden or not), or anything else a full read refuses or ignores
    result: dict[int, tuple[str, str]] = {}
    for entry in found:
        if entry.name.startswith(".") or not entry.name.endswith(".sql"):
            continue  # as `_read_folder` passes them over
        match = _FILENAME.match(entry.name)
        if match is None or int(match.group(1)) in result:
            return None
        try:
            text = _read(entry.path)
        except MigrationFileError:  # not UTF-8: the full read says where
            return None
        result[int(match.group(1))] = (entry.name, checksum(text))
    return result


def load_readable(directory: Path) -> tuple[list[Migration], list[MigrationFileError]]:
    """The folder's migrations that read, and the error of each file that does not (for
    `status`, which shows every file: one bad file must not hide the others)."""
    return _read_folder(directory, tolerant=True, split_parts=True)


def load_checked(directory: Path | None) -> list[Migration]:
    """Every migration of the folder (the project's by default), both parts checked, before any database work."""
    migrations = load_migrations(directory or default_directory())
    for migration in migrations:
        prepare(migration, Direction.UP)
        if migration.down_statements is not None:
            prepare(migration, Direction.DOWN)
    return migrations


def load_named(paths: Sequence[Path]) -> list[Migration]:
    """Migration files named on the command line, each checked whole, in version order."""
    chosen = [parse_migration(path.name, read_text(path)) for path in paths]
    for migration in chosen:
        prepare(migration, Direction.UP)
    return sorted(chosen, key=lambda m: m.version)


def _read_folder(
    directory: Path, *, tolerant: bool, split_parts: bool
) -> tuple[list[Migration], list[MigrationFileError]]:
    if not directory.is_dir():
        raise MigrationFileError(str(directory), "migrations folder not found")
    migrations: list[Migration] = []
    seen: dict[int, str] = {}
    # Plain names and os.path, not Path objects: with 10,000 files, Path's ordering and
    # conversions took a third of the time of reading the folder (docs/performance.md).
    with os.scandir(directory) as entries:
        found = list(entries)
    diesel = next((e.name for e in found if e.is_dir() and os.path.exists(os.path.join(e.path, "up.sql"))), None)
    if diesel is not None:
        raise MigrationFileError(os.path.join(directory, diesel), foreign.DIESEL_HINT)
    names = sorted(e.name for e in found if e.name.endswith(".sql") and not e.name.startswith("."))
    unreadable: list[MigrationFileError] = []
    for name in names:
        where = os.path.join(directory, name)
        try:
            migration = parse_migration(name, _read(where), split_parts=split_parts)
        except MigrationFileError as exc:
            if not tolerant:
                raise
            unreadable.append(exc)
            continue
        if migration.version in seen:
            raise MigrationFileError(where, f"version {migration.version} is also used by {seen[migration.version]}")
        seen[migration.version] = name
        migrations.append(migration)
    return _with_corrections(directory, sorted(migrations, key=lambda m: m.version)), unreadable


def _with_corrections(directory: Path, migrations: list[Migration]) -> list[Migration]:
    """Attach to each file the checksums it had before its rollback was corrected.

    `rollback-corrections.toml` maps a file name to its earlier whole-file checksums, each
    with the checksum of its up part then. Only an entry whose up part is the file's own
    counts: a changed up part stays a change, whatever the list says.
    """
    path = os.path.join(directory, CORRECTIONS)
    if not os.path.exists(path):
        return migrations
    import tomllib  # only for a folder that has corrections

    try:
        with open(path, "rb") as handle:
            table = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise MigrationFileError(path, f"not valid TOML: {exc}") from None
    result = []
    for migration in migrations:
        entries = table.get(migration.filename, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise MigrationFileError(path, f"{migration.filename}: expected a list of {{checksum, up}} tables")
        earlier = tuple(str(e.get("checksum")) for e in entries if e.get("up") == migration.up_checksum)
        result.append(dataclasses.replace(migration, earlier_checksums=earlier) if earlier else migration)
    return result


def read_text(path: Path) -> str:
    """A migration file's text; invalid UTF-8 is refused naming the line and byte."""
    return _read(str(path))


def _read(where: str) -> str:
    with open(where, "rb") as handle:
        data = handle.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise MigrationFileError(where, f"not valid UTF-8 at byte {exc.start}", line) from None


TEMPLATE_MARK = "replace this statement with the change"  # `up` refuses a pending file that still holds it
NEW_TEMPLATE = """\
-- {filename}: say what this migration changes and why.
-- Runs in one transaction with lock_timeout 1s and retries (docs/runner.md). For
-- CREATE INDEX CONCURRENTLY, put `-- socialdb: transaction=off` on the first line.

SELECT 'replace this statement with the change' AS todo;

-- ROLLBACK
SELECT 'replace this statement with what undoes it' AS todo;
"""


def new_migration(directory: Path, name: str, now: datetime | None = None) -> Path:
    """Create the next migration in `directory` from a template that parses and lints clean.

    `NNN-name.sql` with the next number, or, in a folder whose newest version is
    timestamp-style (14 or more digits), `YYYYmmddHHMMSS-name.sql` at `now` (UTC).
    """
    existing = load_migrations(directory) if directory.exists() else []
    newest = max((m.version for m in existing), default=0)
    if len(str(newest)) >= TIMESTAMP_DIGITS:
        stamp = int((now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%S"))
        filename = f"{max(stamp, newest + 1)}-{name}.sql"
    else:
        filename = f"{newest + 1:03d}-{name}.sql"
    parse_filename(filename)  # refuses a bad name before anything is written
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    path.write_text(NEW_TEMPLATE.format(filename=filename), encoding="utf-8")
    return path


def _find_marker(filename: str, lines: list[str]) -> int | None:
    found: int | None = None
    for index, line in enumerate(lines):
        if "--" not in line:  # the marker is a comment: most lines are passed over at once
            continue
        stripped = line.strip()
        if not _LOOSE_MARKER.match(stripped):
            continue
        if stripped != ROLLBACK_MARKER:
            raise MigrationFileError(
                filename, f"malformed rollback marker {stripped!r}: write exactly '{ROLLBACK_MARKER}'", index + 1
            )
        if found is not None:
            raise MigrationFileError(
                filename, f"second '{ROLLBACK_MARKER}' marker (the first is on line {found + 1})", index + 1
            )
        found = index
    return found


def _parse_directives(filename: str, lines: list[str]) -> Directives:
    values: dict[str, str] = {}
    in_header = True
    for number, line in enumerate(lines, start=1):
        if not in_header and "socialdb" not in line.lower():  # past the header only a stray directive matters
            continue
        stripped = line.strip()
        match = _DIRECTIVE.match(stripped)
        if match is None:
            if stripped and not stripped.startswith("--"):
                in_header = False
            continue
        if not in_header:
            raise MigrationFileError(
                filename, "socialdb directive after the first SQL statement: move it to the header", number
            )
        for token in match.group(1).split():
            key, value = _directive_token(filename, token, number)
            if key in values:
                raise MigrationFileError(filename, f"directive {key!r} given twice", number)
            values[key] = value
    return _directives_from(values)


def _directive_token(filename: str, token: str, number: int) -> tuple[str, str]:
    """One `key=value` of a header line, checked; errors name the line."""
    key, sep, value = token.partition("=")
    if not sep or not value:
        raise MigrationFileError(filename, f"malformed directive {token!r}: expected key=value", number)
    if key not in _DIRECTIVE_KEYS:
        raise MigrationFileError(filename, f"unknown directive {key!r} (known: {', '.join(_DIRECTIVE_KEYS)})", number)
    if key == "transaction" and value.lower() not in ("on", "off"):
        raise MigrationFileError(filename, f"transaction={value!r}: expected on or off", number)
    if key == "rollback" and value != "none":
        raise MigrationFileError(
            filename, f"rollback={value!r}: the only value is none (a migration that cannot be undone)", number
        )
    if key.endswith("_timeout"):
        try:
            parse_duration(value)
        except ValueError as exc:
            raise MigrationFileError(filename, f"{key}: {exc}", number) from None
    return key, value


def _directives_from(values: dict[str, str]) -> Directives:
    def duration(key: str) -> int | None:
        raw = values.get(key)
        return None if raw is None else parse_duration(raw)

    return Directives(
        transaction=values.get("transaction", "on").lower() == "on",
        lock_timeout_ms=duration("lock_timeout"),
        statement_timeout_ms=duration("statement_timeout"),
        irreversible=values.get("rollback") == "none",
    )


def _refuse_directives(filename: str, lines: list[str], first_line: int) -> None:
    for offset, line in enumerate(lines):
        if _DIRECTIVE.match(line.strip()):
            raise MigrationFileError(
                filename,
                "socialdb directives belong in the file's header, not the ROLLBACK section",
                first_line + offset,
            )


def default_directory() -> Path:
    """The project's own migrations, shipped inside the package beside the runner (socialdb/migrate/).
    Reached from the root package, which holds only the version: nothing above this layer loads."""
    return Path(str(resources.files("socialdb").joinpath("migrate/migrations")))


def prepare(migration: Migration, direction: Direction) -> list[Statement]:
    """One part's statements (split when the file was read), refusing what cannot run as configured."""
    if not migration.parsed:
        raise AssertionError(f"{migration.filename} was read without its statements")  # a bug, not bad input
    statements = migration.up_statements if direction == Direction.UP else migration.down_statements
    if statements is None:  # standing.rollbacks refuses these first
        raise NoRollbackError(f"{migration.filename}: has no '-- ROLLBACK' section; nothing was rolled back")
    for statement in statements:
        if migration.directives.transaction and statement.needs_no_transaction:
            raise MigrationFileError(
                migration.filename,
                "this statement cannot run inside a transaction: add the header line"
                " '-- socialdb: transaction=off' (see docs/runner.md)",
                statement.line,
            )
        if not migration.directives.transaction and statement.kind in _NEEDS_THE_FILES_TRANSACTION:
            raise MigrationFileError(
                migration.filename,
                f"{_NEEDS_THE_FILES_TRANSACTION[statement.kind]} lasts until its transaction ends, and in a"
                " 'transaction=off' file each statement commits on its own: remove it, or the directive",
                statement.line,
            )
    return list(statements)


# What only makes sense inside the file's one transaction (decision 109).
_NEEDS_THE_FILES_TRANSACTION = {"LockStmt": "LOCK TABLE", "TransactionStmt": "a savepoint"}


def lock_timeout_of(migration: Migration, opts: RunOptions) -> int:
    """The lock_timeout a migration runs with: its directive, else the run's."""
    value = migration.directives.lock_timeout_ms
    return opts.lock_timeout_ms if value is None else value
