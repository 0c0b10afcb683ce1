"""The history table (`migrations` unless configured): which migration ran, when, for how long,
with which checksum.

Its name and schema come from the configuration (options.HistoryTable) and enter the SQL only
as psycopg.sql.Identifier; every value is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from psycopg import sql

from socialdb.db import Conn
from socialdb.scripts.files import Migration
from socialdb.scripts.options import DEFAULT_HISTORY, HistoryTable
from socialdb.scripts.standing import HistoryRow


def identifier(table: HistoryTable) -> sql.Identifier:
    return sql.Identifier(table.name) if table.schema is None else sql.Identifier(table.schema, table.name)


def _query(template: str, table: HistoryTable) -> sql.Composed:
    return sql.SQL(template).format(table=identifier(table))  # templates are static strings of this module


def _regclass(conn: Conn, table: HistoryTable) -> str:
    """The table's name quoted as to_regclass() reads it, passed as a bound parameter."""
    return identifier(table).as_string(conn)


def exists(conn: Conn, table: HistoryTable = DEFAULT_HISTORY) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (_regclass(conn, table),)).fetchone()
    return bool(row and row[0])


@dataclass(frozen=True)
class Shape:
    """What one query tells of the table: there or not, and which upgrades it still needs."""

    found: bool
    integer_version: bool  # `version integer`, from before 64-bit versions
    split: bool  # has up_checksum


def inspect(conn: Conn, table: HistoryTable = DEFAULT_HISTORY) -> Shape:
    """One round trip: whether the table is there and which upgrades it needs. Changes nothing."""
    row = conn.execute(
        "SELECT to_regclass(%(t)s) IS NOT NULL, (SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = to_regclass(%(t)s) AND attname = 'version'), EXISTS (SELECT 1 FROM pg_attribute"
        " WHERE attrelid = to_regclass(%(t)s) AND attname = 'up_checksum' AND NOT attisdropped)",
        {"t": _regclass(conn, table)},
    ).fetchone()
    found, version_type, split = row if row else (False, None, False)
    return Shape(bool(found), version_type == "integer", bool(split))


def ensure_table(conn: Conn, table: HistoryTable = DEFAULT_HISTORY, shape: Shape | None = None) -> str | None:
    """Create the table if missing, or bring an older one up to date; say what was done, if anything.

    Call under the runner's lock, outside any other transaction. `shape`: what `inspect` found.
    """
    found = shape or inspect(conn, table)
    if not found.found:
        conn.execute(ddl_query(table))  # its statements in one query, which runs as one transaction
        return None
    done = [_widen_version(conn, table)] if found.integer_version else []
    done += [] if found.split else [_split_checksum(conn, table)]
    return "; ".join(done) or None


def _widen_version(conn: Conn, table: HistoryTable) -> str:
    """Tables created before 64-bit versions have `version integer`: make it bigint, once."""
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '10s'")  # a session idle in a read of the table must not hang the run
        conn.execute(_query("ALTER TABLE {table} ALTER COLUMN version TYPE bigint", table))
    return f"upgraded the history table: {table}.version is now bigint (64-bit versions)"


def _split_checksum(conn: Conn, table: HistoryTable) -> str:
    """Tables created before the up part had a checksum of its own: add the column, once."""
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '10s'")
        conn.execute(_query("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS up_checksum text", table))
    return f"upgraded the history table: {table}.up_checksum keeps each up part's own checksum"


def read(conn: Conn, table: HistoryTable = DEFAULT_HISTORY, *, known_to_exist: bool = False) -> list[HistoryRow]:
    """Every row, in version order; empty when the table does not exist yet (not asked when `known_to_exist`)."""
    if not known_to_exist and not exists(conn, table):
        return []
    rows = conn.execute(
        # up_checksum through to_jsonb: read-only commands (status, verify) also read a table
        # that a runner from before the split made, which `up` alone upgrades.
        _query(
            "SELECT version, name, file, checksum, executed_at, execution_ms, state, failed_statement, error,"
            " to_jsonb(m) ->> 'up_checksum' FROM {table} AS m ORDER BY version",
            table,
        )
    ).fetchall()
    return [HistoryRow(*row) for row in rows]


_INSERT_APPLIED = (
    "INSERT INTO {table} (version, name, file, checksum, up_checksum, execution_ms, state)"
    " VALUES (%s, %s, %s, %s, %s, %s, 'applied')"
    " ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, file = EXCLUDED.file,"
    " checksum = EXCLUDED.checksum, up_checksum = EXCLUDED.up_checksum, execution_ms = EXCLUDED.execution_ms,"
    " state = 'applied', executed_at = now(), failed_statement = NULL, error = NULL"
)


def record_applied(conn: Conn, migration: Migration, execution_ms: int, table: HistoryTable = DEFAULT_HISTORY) -> None:
    """Insert (or turn a failed row into) an applied row; call inside the migration's transaction."""
    conn.execute(_query(_INSERT_APPLIED, table), _identity(migration, execution_ms))


# What a `transaction=off` file's row says from its first statement until it ends: a run killed
# inside it (kill -9, a lost connection) has no moment to say more (decision 272).
UNFINISHED = (
    "not finished: a run is applying it now, or one ended inside it without a word (killed, its connection"
    " lost); the statements it had run stay committed"
)


def record_started(conn: Conn, migration: Migration, table: HistoryTable = DEFAULT_HISTORY) -> None:
    """Mark a non-transactional migration as not finished before its first statement; its end
    (applied, or failed with the statement at fault) replaces the row. Call in autocommit."""
    record_failed(conn, migration, 0, None, UNFINISHED, table)


def record_failed(
    conn: Conn,
    migration: Migration,
    execution_ms: int,
    statement: str | None,
    error: str,
    table: HistoryTable = DEFAULT_HISTORY,
) -> None:
    """Mark a non-transactional migration as failed midway, with the statement at fault."""
    conn.execute(
        _query(
            "INSERT INTO {table} (version, name, file, checksum, up_checksum, execution_ms, state, failed_statement,"
            " error) VALUES (%s, %s, %s, %s, %s, %s, 'failed', %s, %s)"
            " ON CONFLICT (version) DO UPDATE SET checksum = EXCLUDED.checksum, up_checksum = EXCLUDED.up_checksum,"
            " execution_ms = EXCLUDED.execution_ms, state = 'failed', executed_at = now(),"
            " failed_statement = EXCLUDED.failed_statement, error = EXCLUDED.error",
            table,
        ),
        (*_identity(migration, execution_ms), statement, error),
    )


def rerecord(conn: Conn, migration: Migration, table: HistoryTable = DEFAULT_HISTORY) -> None:
    """Give an applied row the file's current name and checksums (`migrate repair`); when and how
    long it ran stay as they were."""
    conn.execute(
        _query(
            "UPDATE {table} SET file = %s, checksum = %s, up_checksum = %s WHERE version = %s AND state = 'applied'",
            table,
        ),
        (migration.filename, migration.checksum, migration.up_checksum, migration.version),
    )


def _identity(migration: Migration, execution_ms: int) -> tuple[object, ...]:
    """The columns every row of a migration carries: which file, which checksums, how long."""
    return (
        migration.version,
        migration.name,
        migration.filename,
        migration.checksum,
        migration.up_checksum,
        execution_ms,
    )


def remove(conn: Conn, version: int, table: HistoryTable = DEFAULT_HISTORY) -> None:
    """Delete a migration's row; call inside the transaction of its rollback."""
    conn.execute(_query("DELETE FROM {table} WHERE version = %s", table), (version,))


def _text() -> str:
    return resources.files("socialdb.scripts").joinpath("history.sql").read_text(encoding="utf-8")


def ddl() -> str:
    """The history table's definition (history.sql, beside this module) for the default name, as text."""
    return _text().replace("{table}", DEFAULT_HISTORY.name)


def ddl_query(table: HistoryTable = DEFAULT_HISTORY) -> sql.Composed:
    """The history table's definition with its configured name, as the runner runs it."""
    return _query(_text(), table)
