"""Adopt another tool's history table: the migrations it applied are recorded in socialdb's
`migrations` table as applied, with the converted files' checksums, so that `up` never runs
them again. One transaction under the migration lock; a second run finds them and changes
nothing; the old table is read (under a SHARE lock, so the old tool cannot write meanwhile)
and never changed or dropped.

`applied` is pure (the rows as read, the converted files -> which are applied); the rest reads
and writes. The tables' layouts, from each tool's documentation and source, are in
docs/runner.md ("Coming from another tool").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from psycopg import sql

from socialdb.db import Conn, connect
from socialdb.errors import HistoryError, UsageError
from socialdb.migrate.importing.convert import Converted
from socialdb.migrate.importing.tools import Tool, flyway_parts
from socialdb.migrate.lease import migration_lock
from socialdb.scripts import history
from socialdb.scripts.events import Listener, Note, silent
from socialdb.scripts.standing import HistoryRow, up_unchanged


@dataclass(frozen=True)
class Table:
    """A tool's history table as documented: its default name, its columns, and how a row reads."""

    name: str
    columns: frozenset[str]
    # SELECT list giving (key, executed_at, execution_ms, ok, kind, rank, checksum) in the tool's order.
    select: str
    order: str


TABLES = {
    # dbmate (pkg/driver/postgres): CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) PRIMARY KEY)
    Tool.DBMATE: Table(
        "schema_migrations",
        frozenset({"version"}),
        "version::text, NULL::timestamptz, NULL::integer, true, 'SQL', NULL::integer, NULL::integer",
        "version",
    ),
    # golang-migrate (database/postgres): (version bigint not null primary key, dirty boolean not null),
    # one row: SetVersion truncates the table and inserts the current version.
    Tool.GOLANG_MIGRATE: Table(
        "schema_migrations",
        frozenset({"version", "dirty"}),
        "version::text, NULL::timestamptz, NULL::integer, NOT dirty, 'SQL', NULL::integer, NULL::integer",
        "version",
    ),
    # node-pg-migrate (runner.ts): (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL)
    Tool.NODE_PG_MIGRATE: Table(
        "pgmigrations",
        frozenset({"id", "name", "run_on"}),
        "name::text, run_on::timestamptz, NULL::integer, true, 'SQL', id::integer, NULL::integer",
        "id",
    ),
    # Flyway (createMetaDataTable.sql for PostgreSQL): installed_rank, version, description, type,
    # script, checksum, installed_by, installed_on, execution_time, success.
    Tool.FLYWAY: Table(
        "flyway_schema_history",
        frozenset(
            {
                "installed_rank",
                "version",
                "description",
                "type",
                "script",
                "checksum",
                "installed_by",
                "installed_on",
                "execution_time",
                "success",
            }
        ),
        "version::text, installed_on::timestamptz, execution_time::integer, success, type::text,"
        " installed_rank::integer, checksum::integer",
        "installed_rank",
    ),
    # Diesel (setup_migration_table.sql): (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL)
    Tool.DIESEL: Table(
        "__diesel_schema_migrations",
        frozenset({"version", "run_on"}),
        "version::text, run_on::timestamptz, NULL::integer, true, 'SQL', NULL::integer, NULL::integer",
        "version",
    ),
}


@dataclass(frozen=True)
class ForeignRow:
    """One row of another tool's history, as `Table.select` reads it."""

    key: str | None  # the version (or node-pg-migrate's name) the row records
    executed_at: datetime | None
    execution_ms: int | None
    ok: bool  # not dirty (golang-migrate), success (Flyway)
    kind: str  # Flyway's type; 'SQL' for the others
    rank: int | None = None  # Flyway's installed_rank, node-pg-migrate's id
    checksum: int | None = None  # Flyway's CRC32 of the file it ran; the other tools keep none


@dataclass(frozen=True)
class Adopted:
    """What `adopt` did: the versions it recorded, and those recorded before, the same."""

    table: str
    recorded: tuple[int, ...]
    already: tuple[int, ...]


def applied(
    tool: Tool, table: str, rows: list[ForeignRow], converted: list[Converted]
) -> list[tuple[Converted, ForeignRow]]:
    """Which converted migrations the tool's history says are applied. Pure. Refuses what it
    cannot read for certain: a dirty or failed row, a kind of row with no socialdb meaning, a
    row whose file is not in the folder."""
    if tool is Tool.GOLANG_MIGRATE:
        return _golang(table, rows, converted)
    by_key = {_key(tool, c.source.key): c for c in converted}
    found: list[tuple[Converted, ForeignRow]] = []
    for row in rows:
        where = f"{table}, {'installed_rank' if tool is Tool.FLYWAY else 'id'} {row.rank}" if row.rank else table
        if tool is Tool.FLYWAY and not row.ok:
            raise HistoryError(
                f"{where}: a failed row (version {row.key}): Flyway stopped midway in it; repair it with Flyway"
                " (`flyway repair`) and settle the database, then import"
            )
        if tool is Tool.FLYWAY and row.kind == "SCHEMA":
            continue  # Flyway's note that it created the schemas: no migration
        if tool is Tool.FLYWAY and row.kind == "SQL" and row.key is None:
            continue  # a repeatable migration's run: none is imported (they are refused as files)
        if tool is Tool.FLYWAY and row.kind != "SQL":
            raise HistoryError(
                f"{where}: a row of type {row.kind} (version {row.key}): only SQL migrations are adopted; what it"
                " means for the files is not guessed"
            )
        item = by_key.get(_key(tool, row.key or ""))
        if item is None:
            raise HistoryError(
                f"{where}: {row.key} is recorded as applied but no file of the folder is it: put the file back"
                " (its SQL ran; it is never guessed), then import"
            )
        if tool is Tool.FLYWAY and row.checksum is not None and row.checksum != item.source.tool_checksum:
            raise HistoryError(
                f"{where}: {item.source.origin} is not the file Flyway ran (its checksum {row.checksum}, the file's"
                f" now {item.source.tool_checksum}): put back the file it ran, or, if the change is meant,"
                " `flyway repair`, then import"
            )
        found.append((item, row))
    return found


def _key(tool: Tool, key: str) -> str:
    """A history key as compared with a file's: Flyway compares versions part by part (1.0 is 1)."""
    if tool is Tool.FLYWAY and key:
        return ".".join(map(str, flyway_parts(key)))
    return key


def _golang(table: str, rows: list[ForeignRow], converted: list[Converted]) -> list[tuple[Converted, ForeignRow]]:
    """golang-migrate keeps one row, the current version: every file up to it is applied."""
    if not rows:
        return []
    if len(rows) > 1:
        raise HistoryError(f"{table}: {len(rows)} rows; golang-migrate keeps exactly one (the current version)")
    row = rows[0]
    if not row.ok:
        raise HistoryError(
            f"{table}: dirty at version {row.key}: golang-migrate stopped midway in it; settle the database and"
            " run `migrate force` with the version it is at, then import"
        )
    current = int(row.key or "-1")
    if current < 0:
        return []
    if not any(c.source.version == current for c in converted):
        raise HistoryError(f"{table}: version {current} is the current one but no file of the folder has it")
    return [(c, row) for c in converted if c.source.version <= current]


def adopt(
    url: str,
    tool: Tool,
    converted: list[Converted],
    table: str | None = None,
    report: Listener = silent,
    before_commit: Callable[[], None] = lambda: None,
) -> Adopted:
    """Record what `tool`'s history table says is applied into socialdb's history; one transaction.

    `before_commit` runs inside it once the rows are written (the CLI writes the files there):
    if it fails, nothing is recorded.
    """
    spec = TABLES[tool]
    name = table or spec.name
    parts = name.split(".")
    if len(parts) > 2 or not all(parts):
        raise UsageError(f"history table {name!r}: give NAME or SCHEMA.NAME")
    with (
        migration_lock(url, "advisory", 60, report),
        connect(url, autocommit=True, purpose="import") as conn,
        conn.transaction(),  # socialdb's table too: a refusal leaves nothing behind
    ):
        conn.execute("SET LOCAL lock_timeout = '10s'")
        upgraded = history.ensure_table(conn)
        if upgraded:
            report(Note(upgraded))
        ident = sql.Identifier(*parts)
        _check_table(conn, tool, spec, name, ident.as_string(conn))
        conn.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(ident))
        query = sql.SQL("SELECT " + spec.select + " FROM {} ORDER BY " + spec.order).format(ident)
        rows = [ForeignRow(*r) for r in conn.execute(query).fetchall()]
        adopted = applied(tool, name, rows, converted)
        ours = {r.version: r for r in history.read(conn, known_to_exist=True)}
        _refuse_other_rows(tool, name, ours, converted)
        recorded: list[int] = []
        already: list[int] = []
        for item, row in adopted:
            if item.migration.version in ours or item.migration.version in recorded:
                already.append(item.migration.version)
                continue
            _record(conn, item, row)
            recorded.append(item.migration.version)
        before_commit()
    return Adopted(name, tuple(recorded), tuple(already))


def _check_table(conn: Conn, tool: Tool, spec: Table, name: str, quoted: str) -> None:
    found = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
        (quoted,),
    ).fetchall()
    if not found:
        raise HistoryError(
            f"no table {name}: is this the database {tool.value} migrated? (--history-table names another)"
        )
    columns = frozenset(r[0] for r in found)
    if columns != spec.columns:
        raise HistoryError(
            f"{name} has columns ({', '.join(sorted(columns))}), not {tool.value}'s"
            f" ({', '.join(sorted(spec.columns))}): is it {tool.value}'s history table?"
        )


def _refuse_other_rows(tool: Tool, table: str, ours: dict[int, HistoryRow], converted: list[Converted]) -> None:
    """A socialdb row for a converted version must be that file, applied, unchanged."""
    for item in converted:
        row = ours.get(item.migration.version)
        if row is None:
            continue
        same = row.state == "applied" and row.file == item.filename and up_unchanged(row, item.migration)
        if not same:
            raise HistoryError(
                f"version {item.migration.version}: socialdb's history already has {row.file} ({row.state}),"
                f" not {item.filename} as converted from {item.source.origin}: nothing was recorded from {table}"
            )


def _record(conn: Conn, item: Converted, row: ForeignRow) -> None:
    """An applied row in socialdb's history (sql/history.sql), dated as the other tool ran it when it says."""
    migration = item.migration
    conn.execute(
        "INSERT INTO migrations (version, name, file, checksum, up_checksum, executed_at, execution_ms, state)"
        " VALUES (%s, %s, %s, %s, %s, COALESCE(%s, now()), %s, 'applied')",
        (
            migration.version,
            migration.name,
            migration.filename,
            migration.checksum,
            migration.up_checksum,
            row.executed_at,
            max(row.execution_ms or 0, 0),
        ),
    )
