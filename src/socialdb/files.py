"""Migration files: text in, frozen values out. No database code lives here.

A file is `NNN-name.sql`: optional header directives, the up SQL, a line
`-- ROLLBACK`, then the down SQL (see docs/runner.md for the format).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from socialdb.durations import parse_duration
from socialdb.errors import MigrationFileError

ROLLBACK_MARKER = "-- ROLLBACK"
_FILENAME = re.compile(r"^(\d+)-([a-z0-9][a-z0-9_-]*)\.sql$")
_LOOSE_MARKER = re.compile(r"^--\s*rollback\b", re.IGNORECASE)
_DIRECTIVE = re.compile(r"^--\s*socialdb\s*:(.*)$", re.IGNORECASE)
_DIRECTIVE_KEYS = ("transaction", "lock_timeout", "statement_timeout")


@dataclass(frozen=True)
class Directives:
    """Per-migration settings from `-- socialdb: key=value` header lines."""

    transaction: bool = True
    lock_timeout_ms: int | None = None  # None: use the run's setting
    statement_timeout_ms: int | None = None


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


def normalise(text: str) -> str:
    """Drop a BOM and turn CRLF / CR into LF, so checksums survive editors and git."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def checksum(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def parse_filename(filename: str) -> tuple[int, str]:
    match = _FILENAME.match(filename)
    if match is None:
        raise MigrationFileError(
            filename, "not a migration file name: expected NNN-name.sql (digits, a dash, lower-case name)"
        )
    return int(match.group(1)), match.group(2)


def parse_migration(filename: str, text: str) -> Migration:
    """Turn one file's text into a Migration; raise MigrationFileError naming the line at fault."""
    version, name = parse_filename(filename)
    lines = normalise(text).split("\n")
    marker = _find_marker(filename, lines)
    up_lines = lines if marker is None else lines[:marker]
    down_lines = None if marker is None else lines[marker + 1 :]
    directives = _parse_directives(filename, up_lines)
    if down_lines is not None:
        _refuse_directives(filename, down_lines, first_line=marker + 2 if marker is not None else 1)
    up = "\n".join(up_lines)
    if not _has_sql(up_lines):
        raise MigrationFileError(filename, "no up SQL before the ROLLBACK marker", line=1)
    return Migration(
        version=version,
        name=name,
        filename=filename,
        up=up,
        down=None if down_lines is None else "\n".join(down_lines),
        checksum=checksum(text),
        up_line=1,
        down_line=None if marker is None else marker + 2,
        directives=directives,
    )


def load_migrations(directory: Path) -> list[Migration]:
    """Every migration in `directory`, in version order. Non-.sql files are ignored."""
    if not directory.is_dir():
        raise MigrationFileError(str(directory), "migrations folder not found")
    migrations: list[Migration] = []
    seen: dict[int, str] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql" or path.name.startswith("."):
            continue
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MigrationFileError(str(path), f"not valid UTF-8 at byte {exc.start}") from None
        migration = parse_migration(path.name, text)
        if migration.version in seen:
            raise MigrationFileError(
                str(path), f"version {migration.version} is also used by {seen[migration.version]}"
            )
        seen[migration.version] = path.name
        migrations.append(migration)
    return sorted(migrations, key=lambda m: m.version)


NEW_TEMPLATE = """\
-- {filename}: say what this migration changes and why.
-- Runs in one transaction with lock_timeout 1s and retries (docs/runner.md). For
-- CREATE INDEX CONCURRENTLY, put `-- socialdb: transaction=off` on the first line.

SELECT 'replace this statement with the change' AS todo;

-- ROLLBACK
SELECT 'replace this statement with what undoes it' AS todo;
"""


def new_migration(directory: Path, name: str) -> Path:
    """Create the next `NNN-name.sql` in `directory` from a template that parses and lints clean."""
    existing = load_migrations(directory) if directory.exists() else []
    version = max((m.version for m in existing), default=0) + 1
    filename = f"{version:03d}-{name}.sql"
    parse_filename(filename)  # refuses a bad name before anything is written
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    path.write_text(NEW_TEMPLATE.format(filename=filename), encoding="utf-8")
    return path


def _find_marker(filename: str, lines: list[str]) -> int | None:
    found: int | None = None
    for index, line in enumerate(lines):
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


def _has_sql(lines: list[str]) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in lines)


def _parse_directives(filename: str, lines: list[str]) -> Directives:
    values: dict[str, str] = {}
    in_header = True
    for number, line in enumerate(lines, start=1):
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
            key, sep, value = token.partition("=")
            if not sep or not value:
                raise MigrationFileError(filename, f"malformed directive {token!r}: expected key=value", number)
            if key not in _DIRECTIVE_KEYS:
                raise MigrationFileError(
                    filename, f"unknown directive {key!r} (known: {', '.join(_DIRECTIVE_KEYS)})", number
                )
            if key in values:
                raise MigrationFileError(filename, f"directive {key!r} given twice", number)
            values[key] = value
    return _directives_from(filename, values)


def _directives_from(filename: str, values: dict[str, str]) -> Directives:
    transaction = values.get("transaction", "on").lower()
    if transaction not in ("on", "off"):
        raise MigrationFileError(filename, f"transaction={transaction!r}: expected on or off")
    timeouts: dict[str, int | None] = {}
    for key in ("lock_timeout", "statement_timeout"):
        raw = values.get(key)
        try:
            timeouts[key] = None if raw is None else parse_duration(raw)
        except ValueError as exc:
            raise MigrationFileError(filename, f"{key}: {exc}") from None
    return Directives(
        transaction=transaction == "on",
        lock_timeout_ms=timeouts["lock_timeout"],
        statement_timeout_ms=timeouts["statement_timeout"],
    )


def _refuse_directives(filename: str, lines: list[str], first_line: int) -> None:
    for offset, line in enumerate(lines):
        if _DIRECTIVE.match(line.strip()):
            raise MigrationFileError(
                filename,
                "socialdb directives belong in the file's header, not the ROLLBACK section",
                first_line + offset,
            )
