"""Apply and roll back migrations: the library behind `socialdb migrate`.

Each transactional migration runs in one transaction together with its history
row, under the run's lock; see docs/runner.md for the whole story.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psycopg

from socialdb import history, plan
from socialdb.connection import connect
from socialdb.errors import LockNotAvailableError, MigrationFailed, MigrationFileError
from socialdb.files import Migration, load_migrations
from socialdb.history import Conn
from socialdb.lock import advisory_lock
from socialdb.statements import Statement, split
from socialdb.watch import BlockerWatch

Report = Callable[[str], None]


def _silent(_: str) -> None:
    pass


@dataclass(frozen=True)
class RunOptions:
    lock_timeout_ms: int = 1000
    statement_timeout_ms: int = 0  # 0: off
    lock_retries: int = 10  # attempts at a migration that cannot get its locks
    retry_base_s: float = 0.5  # backoff: base * 2^(attempt-1), capped, with jitter
    retry_cap_s: float = 10.0
    lock_wait_s: float = 60.0  # how long to wait for another runner's lock


@dataclass(frozen=True)
class Outcome:
    migration: Migration
    direction: str  # "up" or "down"
    duration_ms: int


def default_directory() -> Path:
    return Path(str(resources.files("socialdb").joinpath("migrations")))


def up(
    url: str, directory: Path | None = None, options: RunOptions | None = None, report: Report = _silent
) -> list[Outcome]:
    """Apply every pending migration in version order; returns what was applied."""
    opts = options or RunOptions()
    migrations = load_migrations(directory or default_directory())
    prepared = {m.version: _prepare(m, "up") for m in migrations}  # syntax errors before any change
    with (
        advisory_lock(url, opts.lock_wait_s, report) as lock_conn,
        connect(url, autocommit=True, purpose="migrate") as conn,
    ):
        history.ensure_table(conn)
        todo = plan.pending(migrations, history.read(conn))
        if not todo:
            report("nothing to apply: the database is up to date")
        return [_run(conn, lock_conn, m, "up", prepared[m.version], opts, report) for m in todo]


def down(
    url: str,
    steps: int = 1,
    directory: Path | None = None,
    options: RunOptions | None = None,
    report: Report = _silent,
) -> list[Outcome]:
    """Roll back the last `steps` applied migrations, newest first."""
    opts = options or RunOptions()
    migrations = load_migrations(directory or default_directory())
    with (
        advisory_lock(url, opts.lock_wait_s, report) as lock_conn,
        connect(url, autocommit=True, purpose="migrate") as conn,
    ):
        chosen = plan.rollbacks(migrations, history.read(conn), steps)
        prepared = [(m, _prepare(m, "down")) for m in chosen]  # all parsed before any runs
        return [_run(conn, lock_conn, m, "down", stmts, opts, report) for m, stmts in prepared]


def status(url: str, directory: Path | None = None) -> list[plan.StatusRow]:
    """Every migration known to the files or the history, with its state. Read-only."""
    migrations = load_migrations(directory or default_directory())
    with connect(url, autocommit=True, purpose="status") as conn:
        return plan.status(migrations, history.read(conn))


def _prepare(migration: Migration, direction: str) -> list[Statement]:
    text = migration.up if direction == "up" else migration.down
    first_line = migration.up_line if direction == "up" else (migration.down_line or 1)
    statements = split(text or "", migration.filename, first_line)
    if migration.directives.transaction:
        for statement in statements:
            if statement.needs_no_transaction:
                raise MigrationFileError(
                    migration.filename,
                    "this statement cannot run inside a transaction: add the header line"
                    " '-- socialdb: transaction=off' (see docs/runner.md)",
                    statement.line,
                )
    return statements


def _run(
    conn: Conn,
    lock_conn: Conn,
    migration: Migration,
    direction: str,
    statements: list[Statement],
    opts: RunOptions,
    report: Report,
) -> Outcome:
    verb = "applying" if direction == "up" else "rolling back"
    report(f"{verb} {migration.filename}")
    started = time.monotonic()
    if migration.directives.transaction:
        _run_transactional(conn, lock_conn, migration, direction, statements, opts, report)
    else:
        _run_statementwise(conn, lock_conn, migration, direction, statements, opts, report)
    ms = int((time.monotonic() - started) * 1000)
    report(f"{'applied' if direction == 'up' else 'rolled back'} {migration.filename} in {ms} ms")
    return Outcome(migration, direction, ms)


def _run_transactional(
    conn: Conn,
    lock_conn: Conn,
    migration: Migration,
    direction: str,
    statements: list[Statement],
    opts: RunOptions,
    report: Report,
) -> None:
    for attempt in range(1, opts.lock_retries + 1):
        started = time.monotonic()
        watch = BlockerWatch(lock_conn, conn.info.backend_pid, _lock_timeout(migration, opts))
        try:
            with watch, conn.transaction():
                _set_timeouts(conn, migration, opts, local=True)
                for statement in statements:
                    _execute(conn, migration, statement)
                _record(conn, migration, direction, int((time.monotonic() - started) * 1000))
            return
        except psycopg.errors.LockNotAvailable:
            _retry_or_give_up(migration, attempt, opts, watch.blockers, report, "nothing of it was applied")


def _run_statementwise(
    conn: Conn,
    lock_conn: Conn,
    migration: Migration,
    direction: str,
    statements: list[Statement],
    opts: RunOptions,
    report: Report,
) -> None:
    """transaction=off: each statement commits on its own; a failure is recorded, not hidden."""
    started = time.monotonic()
    try:
        _set_timeouts(conn, migration, opts, local=False)
        for statement in statements:
            try:
                _execute_with_retries(conn, lock_conn, migration, statement, opts, report)
            except MigrationFailed as exc:
                ms = int((time.monotonic() - started) * 1000)
                with conn.transaction():
                    history.record_failed(conn, migration, ms, statement.sql, str(exc))
                raise MigrationFailed(
                    exc.path, exc.line, exc.pg_message, exc.sqlstate, applied_partially=True
                ) from None
        with conn.transaction():
            _record(conn, migration, direction, int((time.monotonic() - started) * 1000))
    finally:
        if not conn.closed:
            conn.execute("RESET lock_timeout")
            conn.execute("RESET statement_timeout")


def _execute_with_retries(
    conn: Conn, lock_conn: Conn, migration: Migration, statement: Statement, opts: RunOptions, report: Report
) -> None:
    for attempt in range(1, opts.lock_retries + 1):
        watch = BlockerWatch(lock_conn, conn.info.backend_pid, _lock_timeout(migration, opts))
        try:
            with watch:
                _execute(conn, migration, statement)
            return
        except psycopg.errors.LockNotAvailable:
            try:
                _retry_or_give_up(migration, attempt, opts, watch.blockers, report, "this statement was not applied")
            except LockNotAvailableError as exc:
                raise MigrationFailed(migration.filename, statement.line, str(exc), "55P03") from None


def _execute(conn: Conn, migration: Migration, statement: Statement) -> None:
    try:
        conn.execute(statement.sql.encode())
    except psycopg.errors.LockNotAvailable:
        raise
    except psycopg.Error as exc:
        position = exc.diag.statement_position
        line = statement.line_of(int(position) if position else None)
        message = exc.diag.message_primary or str(exc).strip().splitlines()[0]
        sqlstate = exc.sqlstate
        raise MigrationFailed(migration.filename, line, f"{message} (SQLSTATE {sqlstate})", sqlstate) from None


def _record(conn: Conn, migration: Migration, direction: str, ms: int) -> None:
    if direction == "up":
        history.record_applied(conn, migration, ms)
    else:
        history.remove(conn, migration.version)


def _lock_timeout(migration: Migration, opts: RunOptions) -> int:
    value = migration.directives.lock_timeout_ms
    return opts.lock_timeout_ms if value is None else value


def _set_timeouts(conn: Conn, migration: Migration, opts: RunOptions, *, local: bool) -> None:
    statement_ms = migration.directives.statement_timeout_ms
    statement_ms = opts.statement_timeout_ms if statement_ms is None else statement_ms
    conn.execute(
        "SELECT set_config('lock_timeout', %s, %s), set_config('statement_timeout', %s, %s)",
        (f"{_lock_timeout(migration, opts)}ms", local, f"{statement_ms}ms", local),
    )


def _retry_or_give_up(
    migration: Migration, attempt: int, opts: RunOptions, blockers: list[str], report: Report, consequence: str
) -> None:
    waiting_on = "; ".join(blockers) if blockers else "a session that released its lock before it could be named"
    if attempt >= opts.lock_retries:
        raise LockNotAvailableError(
            f"{migration.filename}: could not get its locks within lock_timeout after {attempt} attempts;"
            f" {consequence}. Blocked by: {waiting_on}"
        )
    delay = min(opts.retry_base_s * 2 ** (attempt - 1), opts.retry_cap_s) * random.uniform(0.5, 1.0)
    report(
        f"{migration.filename}: lock not available (attempt {attempt}/{opts.lock_retries}),"
        f" blocked by {waiting_on}; retrying in {delay:.1f}s"
    )
    time.sleep(delay)
