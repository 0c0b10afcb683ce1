"""The history table `migrations`: which migration ran, when, for how long, with which checksum."""

from __future__ import annotations

from importlib import resources

from socialdb.db import Conn
from socialdb.scripts.files import Migration
from socialdb.scripts.standing import HistoryRow


def exists(conn: Conn) -> bool:
    row = conn.execute("SELECT to_regclass('migrations') IS NOT NULL").fetchone()
    return bool(row and row[0])


def ensure_table(conn: Conn) -> str | None:
    """Create the table if missing, or bring an older one up to date; say what was done, if anything.

    Call under the runner's lock, outside any other transaction. One round trip when the
    table is there and current (it answers both questions), one more to create it.
    """
    row = conn.execute(
        "SELECT to_regclass('migrations') IS NOT NULL, (SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = to_regclass('migrations') AND attname = 'version'), EXISTS (SELECT 1 FROM pg_attribute"
        " WHERE attrelid = to_regclass('migrations') AND attname = 'up_checksum' AND NOT attisdropped)"
    ).fetchone()
    found, version_type, split = row if row else (False, None, False)
    if not found:
        conn.execute(ddl().encode())  # its statements in one query, which runs as one transaction
        return None
    done = [_widen_version(conn)] if version_type == "integer" else []
    done += [] if split else [_split_checksum(conn)]
    return "; ".join(done) or None


def _widen_version(conn: Conn) -> str:
    """Tables created before 64-bit versions have `version integer`: make it bigint, once."""
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '10s'")  # a session idle in a read of the table must not hang the run
        conn.execute("ALTER TABLE migrations ALTER COLUMN version TYPE bigint")
    return "upgraded the history table: migrations.version is now bigint (64-bit versions)"


def _split_checksum(conn: Conn) -> str:
    """Tables created before the up part had a checksum of its own: add the column, once."""
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '10s'")
        conn.execute("ALTER TABLE migrations ADD COLUMN IF NOT EXISTS up_checksum text")
    return "upgraded the history table: migrations.up_checksum keeps each up part's own checksum"


def read(conn: Conn, *, known_to_exist: bool = False) -> list[HistoryRow]:
    """Every row, in version order; empty when the table does not exist yet (not asked when `known_to_exist`)."""
    if not known_to_exist and not exists(conn):
        return []
    rows = conn.execute(
        # up_checksum through to_jsonb: read-only commands (status, verify) also read a table
        # that a runner from before the split made, which `up` alone upgrades.
        "SELECT version, name, file, checksum, executed_at, execution_ms, state, failed_statement, error,"
        " to_jsonb(m) ->> 'up_checksum' FROM migrations AS m ORDER BY version"
    ).fetchall()
    return [HistoryRow(*row) for row in rows]


def record_applied(conn: Conn, migration: Migration, execution_ms: int) -> None:
    """Insert (or turn a failed row into) an applied row; call inside the migration's transaction."""
    conn.execute(
        "INSERT INTO migrations (version, name, file, checksum, up_checksum, execution_ms, state)"
        " VALUES (%s, %s, %s, %s, %s, %s, 'applied')"
        " ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, file = EXCLUDED.file,"
        " checksum = EXCLUDED.checksum, up_checksum = EXCLUDED.up_checksum, execution_ms = EXCLUDED.execution_ms,"
        " state = 'applied', executed_at = now(), failed_statement = NULL, error = NULL",
        _identity(migration, execution_ms),
    )


def record_failed(conn: Conn, migration: Migration, execution_ms: int, statement: str, error: str) -> None:
    """Mark a non-transactional migration as failed midway, with the statement at fault."""
    conn.execute(
        "INSERT INTO migrations (version, name, file, checksum, up_checksum, execution_ms, state, failed_statement,"
        " error) VALUES (%s, %s, %s, %s, %s, %s, 'failed', %s, %s)"
        " ON CONFLICT (version) DO UPDATE SET checksum = EXCLUDED.checksum, up_checksum = EXCLUDED.up_checksum,"
        " execution_ms = EXCLUDED.execution_ms, state = 'failed', executed_at = now(),"
        " failed_statement = EXCLUDED.failed_statement, error = EXCLUDED.error",
        (*_identity(migration, execution_ms), statement, error),
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


def remove(conn: Conn, version: int) -> None:
    """Delete a migration's row; call inside the transaction of its rollback."""
    conn.execute("DELETE FROM migrations WHERE version = %s", (version,))


def ddl() -> str:
    """The history table's definition (history.sql, beside this module), as the runner creates it."""
    return resources.files("socialdb.scripts").joinpath("history.sql").read_text(encoding="utf-8")
