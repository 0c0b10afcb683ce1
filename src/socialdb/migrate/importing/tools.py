"""Each tool's file layout, read as that tool reads it: file texts in, `Source` values out. Pure.

A `Source` is one migration as the other tool has it: the version its history table records
(`key`), the socialdb version it becomes, both parts, and whether it runs in a transaction.
Whatever the tool would read differently from what is written here is refused, one line
naming the file and line (docs/runner.md, "Coming from another tool").
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from socialdb.errors import MigrationFileError
from socialdb.migrate.importing.tool import Tool

__all__ = ["LAYOUTS", "Layout", "Source", "Tool", "read_sources"]


@dataclass(frozen=True)
class Source:
    """One migration as its tool has it."""

    key: str  # what the tool's history records for it (a version, or node-pg-migrate's name)
    version: int  # the socialdb version it becomes
    name: str  # the socialdb name (lower-case, digits, `-`, `_`)
    origin: str  # the file (or Diesel folder) it comes from, for messages
    up: str
    down: str | None  # None: no rollback
    up_line: int  # line of `origin` where `up` starts
    down_line: int | None
    transaction: bool = True
    down_origin: str | None = None  # the file `down` comes from, when not `origin`
    down_transaction: bool | None = None  # None: as up (dbmate alone sets each part's own)
    tool_checksum: int | None = None  # the tool's own checksum of the file (Flyway's), to compare with its history


@dataclass(frozen=True)
class Layout:
    """What a tool's folder holds: files read from the top level, or (Diesel) one folder per migration."""

    nested: bool


LAYOUTS = {tool: Layout(nested=tool is Tool.DIESEL) for tool in Tool}


def read_sources(tool: Tool, files: Mapping[str, str]) -> list[Source]:
    """Every migration of a tool's folder, from its files' texts (path relative to the folder ->
    text), in the tool's own order. Files that are no migration of the tool are refused."""
    return _READERS[tool](files)


def normal_name(raw: str) -> str:
    """A socialdb name from another tool's: lower case, each run of other characters one `-`."""
    name = re.sub(r"[^a-z0-9_]+", "-", raw.lower()).strip("-_")
    return name or "migration"


def _lines(text: str) -> list[str]:
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _part(lines: list[str]) -> str:
    return "\n".join(lines).rstrip("\n") + "\n"  # leading lines kept: errors name the tool's line


def _blank(lines: list[str]) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in lines)


def _version(origin: str, digits: str) -> int:
    value = int(digits)
    if value > 2**63 - 1:
        raise MigrationFileError(origin, f"version {digits} does not fit in 64 bits")
    return value


# --- dbmate: VERSION_name.sql, `-- migrate:up [transaction:false]`, `-- migrate:down` -------------
# pkg/dbmate: migrationFileRegexp `^(\d+).*\.sql$`; upRegExp `(?m)^--\s*migrate:up(\s*$|\s+\S+)`.
_DBMATE_FILE = re.compile(r"^(\d+)_?(.*)\.sql$")
_DBMATE_MARKER = re.compile(r"^--\s*migrate:(up|down)(\s.*)?$")


def _dbmate(files: Mapping[str, str]) -> list[Source]:
    found = []
    for path, text in files.items():
        match = _DBMATE_FILE.match(path)
        if match is None:
            raise MigrationFileError(path, "not a dbmate migration: expected VERSION_name.sql")
        found.append(_dbmate_file(path, match.group(1), match.group(2), _lines(text)))
    return sorted(found, key=lambda s: s.origin)  # dbmate runs its files in the order of their names


def _dbmate_file(path: str, digits: str, raw_name: str, lines: list[str]) -> Source:
    markers: dict[str, tuple[int, str]] = {}
    for index, line in enumerate(lines):
        match = _DBMATE_MARKER.match(line.rstrip())
        if match is None:
            continue
        kind = match.group(1)
        if kind in markers:
            first = markers[kind][0] + 1
            raise MigrationFileError(
                path, f"second '-- migrate:{kind}' marker (the first is on line {first})", index + 1
            )
        markers[kind] = (index, (match.group(2) or "").strip())
    if "up" not in markers:
        raise MigrationFileError(path, "no '-- migrate:up' marker: dbmate refuses this file too")
    if "down" not in markers:
        raise MigrationFileError(path, "no '-- migrate:down' marker: dbmate refuses this file too")
    (up_at, up_options), (down_at, down_options) = markers["up"], markers["down"]
    if down_at < up_at:
        raise MigrationFileError(
            path,
            f"'-- migrate:down' comes before '-- migrate:up' (line {up_at + 1}): dbmate refuses this file too",
            down_at + 1,
        )
    if not _blank(lines[:up_at]):
        raise MigrationFileError(path, "SQL before '-- migrate:up': dbmate refuses this file too", 1)
    up_tx = _dbmate_transaction(path, up_options, up_at + 1)
    down_tx = _dbmate_transaction(path, down_options, down_at + 1)
    down = lines[down_at + 1 :]
    return Source(
        key=digits,
        version=_version(path, digits),
        name=normal_name(raw_name),
        origin=path,
        up=_part(lines[up_at + 1 : down_at]),
        down=None if _blank(down) else _part(down),
        up_line=up_at + 2,
        down_line=down_at + 2,
        transaction=up_tx,
        down_transaction=down_tx,
    )


def _dbmate_transaction(path: str, options: str, line: int) -> bool:
    values = dict(option.partition(":")[::2] for option in options.split())
    unknown = set(values) - {"transaction"} or ({values["transaction"]} - {"true", "false"} if values else set())
    if unknown:
        raise MigrationFileError(path, f"dbmate option {options!r}: only transaction:true or false is known", line)
    return values.get("transaction", "true") == "true"


# --- golang-migrate: VERSION_title.up.sql and VERSION_title.down.sql -------------------------------
# source/parse.go: `^([0-9]+)_(.*)\.(down|up)\.(.*)$`; the version is a uint.
_GOLANG_FILE = re.compile(r"^([0-9]+)_(.*)\.(down|up)\.sql$")


def _golang(files: Mapping[str, str]) -> list[Source]:
    ups: dict[int, tuple[str, str, str]] = {}
    downs: dict[int, tuple[str, str]] = {}
    for path, text in sorted(files.items()):
        match = _GOLANG_FILE.match(path)
        if match is None:
            raise MigrationFileError(path, "not a golang-migrate migration: expected VERSION_title.up.sql or .down.sql")
        version = _version(path, match.group(1))
        side = ups if match.group(3) == "up" else downs
        if version in side:
            other = side[version][0]
            raise MigrationFileError(path, f"version {version} is also {other}: golang-migrate refuses this too")
        if match.group(3) == "up":
            ups[version] = (path, match.group(2), text)
        else:
            downs[version] = (path, text)
    for version, (path, _) in downs.items():
        if version not in ups:
            raise MigrationFileError(path, f"a down file without the up file of version {version}")
    found = []
    for version, (path, title, text) in sorted(ups.items()):
        down_path, down_text = downs.get(version, (None, None))
        down = None if down_text is None or _blank(_lines(down_text)) else _part(_lines(down_text))
        found.append(
            Source(str(version), version, normal_name(title), path, _part(_lines(text)), down, 1, 1, True, down_path)
        )
    return found


# --- node-pg-migrate: PREFIX_name.sql, `-- Up Migration`, `-- Down Migration` ---------------------
# sqlMigration.ts: `^\s*--[\s-]*up\s+migration` (case-insensitive, multiline); with no up marker
# the whole file is up. migration.ts: files ordered by numeric prefix, 17 digits read as a UTC time.
_NODE_FILE = re.compile(r"^(\d+)(.*)\.sql$")
_NODE_MARKER = re.compile(r"^\s*--[\s-]*(up|down)\s+migration", re.IGNORECASE)
_NODE_CODE = re.compile(r"\.(js|cjs|mjs|ts|cts|mts)$")


def _node(files: Mapping[str, str]) -> list[Source]:
    found = []
    for path, text in files.items():
        if _NODE_CODE.search(path):
            raise MigrationFileError(path, "a JavaScript or TypeScript migration: socialdb imports SQL migrations only")
        match = _NODE_FILE.match(path)
        if match is None:
            raise MigrationFileError(path, "not a node-pg-migrate SQL migration: expected PREFIX_name.sql")
        found.append(_node_file(path, match.group(1), match.group(2), _lines(text)))
    return sorted(found, key=lambda s: (_node_order(s.key), s.key))


def _node_order(key: str) -> int:
    """node-pg-migrate's order of a file (getNumericPrefix): 17 digits are a UTC time, in ms."""
    digits = re.match(r"\d+", key)
    assert digits is not None
    prefix = digits.group(0)
    if len(prefix) != 17:
        return int(prefix)
    from datetime import UTC, datetime

    moment = datetime.strptime(prefix[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1000 + int(prefix[14:])


def _node_file(path: str, digits: str, rest: str, lines: list[str]) -> Source:
    markers: dict[str, int] = {}
    for index, line in enumerate(lines):
        match = _NODE_MARKER.match(line)
        if match is None:
            continue
        kind = match.group(1).lower()
        if kind in markers:
            raise MigrationFileError(
                path,
                f"second {kind} marker (the first is on line {markers[kind] + 1}): which one counts is a guess",
                index + 1,
            )
        markers[kind] = index
    up_at, down_at = markers.get("up"), markers.get("down")
    key = path.removesuffix(".sql")  # what pgmigrations.name records
    name = normal_name(rest)
    if down_at is not None and up_at is None:
        raise MigrationFileError(
            path,
            "a down marker but no up marker: node-pg-migrate runs the whole file, rollback included, as up;"
            " add '-- Up Migration' where up starts",
            down_at + 1,
        )
    if up_at is None:
        if not _blank(lines):
            return Source(key, _version(path, digits), name, path, _part(lines), None, 1, None)
        raise MigrationFileError(path, "no SQL statement")
    first = up_at if down_at is None else min(up_at, down_at)
    if not _blank(lines[:first]):
        raise MigrationFileError(path, "SQL before the first marker: node-pg-migrate skips it", 1)
    if down_at is None:
        up, down, down_line = lines[up_at + 1 :], None, None
    elif down_at > up_at:
        up, down, down_line = lines[up_at + 1 : down_at], lines[down_at + 1 :], down_at + 2
    else:  # the down part first: node-pg-migrate reads it so, and so does this
        up, down, down_line = lines[up_at + 1 :], lines[down_at + 1 : up_at], down_at + 2
    kept_down = None if down is None or _blank(down) else _part(down)
    return Source(key, _version(path, digits), name, path, _part(up), kept_down, up_at + 2, down_line)


# --- Flyway: V<version>__<description>.sql, U<version>__... (undo), R__... (repeatable) -----------
# Flyway's naming: prefix V/U/R, version parts separated by `.` or `_`, separator `__`, suffix .sql.
_FLYWAY_FILE = re.compile(r"^([VU])(\d+(?:[._]\d+)*)__(.+)\.sql$")
_FLYWAY_REPEATABLE = re.compile(r"^R__(.+)\.sql$")


def flyway_parts(version: str) -> tuple[int, ...]:
    """A Flyway version as Flyway compares it: numeric parts, trailing zeros dropped (1.0 is 1)."""
    parts = [int(p) for p in re.split(r"[._]", version)]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def flyway_versions(all_parts: list[tuple[int, ...]]) -> dict[tuple[int, ...], int]:
    """Flyway versions as socialdb versions, in the same order: a plain number stays itself; with
    dotted ones, each part after the first is written with as many digits as its widest
    (1.9 -> 109, 1.10 -> 110, 2 -> 200)."""
    if all(len(p) == 1 for p in all_parts):
        return {p: p[0] for p in all_parts}
    depth = max(len(p) for p in all_parts)
    widths = [max(len(str(p[i])) if i < len(p) else 1 for p in all_parts) for i in range(1, depth)]
    result = {}
    for parts in all_parts:
        padded = list(parts) + [0] * (depth - len(parts))
        result[parts] = int(str(padded[0]) + "".join(f"{n:0{w}d}" for n, w in zip(padded[1:], widths, strict=True)))
    return result


def _flyway(files: Mapping[str, str]) -> list[Source]:
    versioned: dict[tuple[int, ...], tuple[str, str, str]] = {}
    undo: dict[tuple[int, ...], tuple[str, str]] = {}
    for path, text in sorted(files.items()):
        if _FLYWAY_REPEATABLE.match(path):
            raise MigrationFileError(
                path,
                "a Flyway repeatable migration: it runs again whenever it changes, and socialdb has no such kind;"
                " make it a versioned one (V) or move it out of the folder, then import",
            )
        match = _FLYWAY_FILE.match(path)
        if match is None:
            raise MigrationFileError(path, "not a Flyway SQL migration: expected V<version>__<description>.sql")
        parts = flyway_parts(match.group(2))
        side = {p: v[0] for p, v in (versioned if match.group(1) == "V" else undo).items()}
        if parts in side:
            raise MigrationFileError(path, f"version {match.group(2)} is also {side[parts]}: Flyway refuses this too")
        if match.group(1) == "V":
            versioned[parts] = (path, match.group(3), text)
        else:
            undo[parts] = (path, text)
    for parts, (path, _) in undo.items():
        if parts not in versioned:
            raise MigrationFileError(path, "an undo (U) file without the V file of its version")
    numbers = flyway_versions(list(versioned))
    found = []
    for parts, (path, description, text) in sorted(versioned.items()):
        version = numbers[parts]
        if version > 2**63 - 1:
            raise MigrationFileError(
                path, f"Flyway version {'.'.join(map(str, parts))} becomes {version}: over 64 bits"
            )
        down_path, down_text = undo.get(parts, (None, None))
        down = None if down_text is None or _blank(_lines(down_text)) else _part(_lines(down_text))
        key = ".".join(map(str, parts))
        source = Source(key, version, normal_name(description), path, _part(_lines(text)), down, 1, 1, True, down_path)
        found.append(dataclasses.replace(source, tool_checksum=flyway_checksum(text)))
    return found


def flyway_checksum(text: str) -> int:
    """Flyway's checksum of a SQL file: CRC32 over each line's UTF-8 bytes without its line end
    (Java's readLine: \\n, \\r or \\r\\n), a byte-order mark left off the first line, as a signed
    32-bit integer (flyway-core, ChecksumCalculator). Line ends do not count, so CRC32 of the
    text without them is the same."""
    joined = re.sub(r"\r\n|\r|\n", "", text.removeprefix("\ufeff"))
    value = zlib.crc32(joined.encode("utf-8"))
    return value - 2**32 if value >= 2**31 else value


# --- Diesel: one folder per migration, VERSION_name/{up.sql, down.sql, metadata.toml} -------------
# migrations_internals: version_from_string = the folder name up to the first `_`, `-` removed.


def _diesel(files: Mapping[str, str]) -> list[Source]:
    folders: dict[str, dict[str, str]] = {}
    for path, text in files.items():
        folder, sep, leaf = path.partition("/")
        if not sep or "/" in leaf:
            raise MigrationFileError(path, "not in a Diesel migration folder (VERSION_name/up.sql)")
        folders.setdefault(folder, {})[leaf] = text
    found = []
    for folder, parts in sorted(folders.items()):
        if "up.sql" not in parts:
            raise MigrationFileError(folder, "a Diesel migration folder without up.sql")
        extra = set(parts) - {"up.sql", "down.sql", "metadata.toml"}
        if extra:
            raise MigrationFileError(f"{folder}/{sorted(extra)[0]}", "not a file of a Diesel migration")
        key = folder.partition("_")[0].replace("-", "")
        if not key.isdigit():
            raise MigrationFileError(
                folder, f"Diesel version {key!r} (the name up to '_', dashes dropped) is not a number"
            )
        transaction = _diesel_transaction(f"{folder}/metadata.toml", parts.get("metadata.toml"))
        down_text = parts.get("down.sql")
        down = None if down_text is None or _blank(_lines(down_text)) else _part(_lines(down_text))
        found.append(
            Source(
                key,
                _version(folder, key),
                normal_name(folder.partition("_")[2]),
                f"{folder}/up.sql",
                _part(_lines(parts["up.sql"])),
                down,
                1,
                1,
                transaction,
                f"{folder}/down.sql",
            )
        )
    return sorted(found, key=lambda s: s.key)  # Diesel orders versions as strings


def _diesel_transaction(path: str, text: str | None) -> bool:
    if text is None:
        return True
    try:
        # Diesel: a metadata.toml without the key means false (serde's default for the field).
        value = tomllib.loads(text).get("run_in_transaction", False)
    except tomllib.TOMLDecodeError as exc:
        raise MigrationFileError(path, f"not valid TOML: {exc}") from None
    if not isinstance(value, bool):
        raise MigrationFileError(path, f"run_in_transaction = {value!r}: expected true or false")
    return value


_READERS: dict[Tool, Callable[[Mapping[str, str]], list[Source]]] = {
    Tool.DBMATE: _dbmate,
    Tool.GOLANG_MIGRATE: _golang,
    Tool.NODE_PG_MIGRATE: _node,
    Tool.FLYWAY: _flyway,
    Tool.DIESEL: _diesel,
}
