"""Running one migration's statements: in a transaction, or one by one, with timeouts and retries.

Transactional: every statement and the history row commit together, or nothing
does; a lock timeout rolls the whole attempt back and retries it with backoff.
The timeouts and the statements are sent in one pipeline (psycopg's pipeline mode):
the server runs them in order as they arrive, and the first error names its own
statement. Four round trips a migration (BEGIN, the pipeline, the history row,
COMMIT) instead of one per statement (docs/performance.md, issue 15). The COMMIT does
not wait for its flush; the run waits once at its end (decision 106).
Non-transactional (`transaction=off`): each statement commits on its own; a
failure is recorded in the history as `failed`, with the statement at fault.
"""

from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from socialdb.db import Conn
from socialdb.errors import DurabilityError, LockNotAvailableError, MigrationFailed
from socialdb.migrate import interrupts
from socialdb.migrate.blockers import BlockerWatch
from socialdb.migrate.privileges import BOOTSTRAP_HINT
from socialdb.scripts import history
from socialdb.scripts.events import Listener, Note, Retrying, blocked_by
from socialdb.scripts.files import Migration, lock_timeout_of
from socialdb.scripts.options import DEFAULT_HISTORY, Direction, HistoryTable, RunOptions
from socialdb.scripts.splitting import Statement

Query = tuple[str | bytes, tuple[Any, ...] | None]  # SQL and its parameters
# How often the server checks, during a long statement, that the runner is still there:
# a runner killed with -9 then gets its statement cancelled and its transaction rolled back.
CLIENT_CHECK_MS = 1000

_INVALID_INDEXES = """
SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE NOT i.indisvalid AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
ORDER BY 1
"""
_INDEX_IS_INVALID = """
SELECT NOT i.indisvalid FROM pg_index i
WHERE i.indexrelid = to_regclass(CASE WHEN %(schema)s::text IS NULL THEN quote_ident(%(name)s)
                                      ELSE quote_ident(%(schema)s) || '.' || quote_ident(%(name)s) END)
"""


@dataclass(frozen=True)
class Session:
    """What every migration of a run shares: its connections, its settings, where it reports."""

    conn: Conn  # runs the migrations; autocommit, so transaction() means BEGIN ... COMMIT
    monitor: Conn  # the lock's connection; also reads who blocks `conn`
    opts: RunOptions
    report: Listener
    watch: BlockerWatch  # samples, on `monitor`, who blocks `conn` while a statement waits
    history: HistoryTable = DEFAULT_HISTORY  # where the run records what it did


_INSUFFICIENT_PRIVILEGE = "42501"


def run(session: Session, migration: Migration, direction: Direction, statements: list[Statement]) -> int:
    """Run `statements` (the up or down part of `migration`) and update the history with them.

    Returns the milliseconds the history recorded (the run's only measure of its duration).
    """
    interrupts.check()  # a signal that came while the run connected, planned or reported
    if migration.directives.transaction:
        return _run_transactional(session, migration, direction, statements)
    return _run_statementwise(session, migration, direction, statements)


def invalid_indexes(conn: Conn) -> list[str]:
    return [row[0] for row in conn.execute(_INVALID_INDEXES).fetchall()]


def _run_transactional(
    session: Session, migration: Migration, direction: Direction, statements: list[Statement]
) -> int:
    conn, opts = session.conn, session.opts
    for attempt in range(1, opts.lock_retries + 1):
        started = time.monotonic()
        try:
            with session.watch.watching(lock_timeout_of(migration, opts)) as watched, conn.transaction():
                _execute_pipelined(conn, migration, statements, _timeouts(migration, opts, local=True))
                ms = _ms_since(started)
                _record(conn, migration, direction, ms, session.history)
                interrupts.check()  # the last moment a signal can still roll it back
            return ms
        except psycopg.errors.LockNotAvailable:
            _retry_or_give_up(session, migration, attempt, watched.blockers, "nothing of it was applied")
        except psycopg.Error as exc:  # at COMMIT (a deferred constraint): rolled back, no statement to name
            raise MigrationFailed(migration.filename, None, f"at COMMIT: {_pg_message(exc)}", exc.sqlstate) from None
    raise AssertionError("unreachable: the last attempt raises LockNotAvailableError")


def _execute_pipelined(
    conn: Conn, migration: Migration, statements: list[Statement], timeouts: Query, *, committed: bool = False
) -> None:
    """The timeouts, then `statements` in order, sent together; raise MigrationFailed naming the one that failed.

    With `committed`, in a transaction of their own whose COMMIT is inside the same signal
    handling: a signal cancels the work it does, and its error (a deferred constraint) is theirs.
    """
    cursors: list[psycopg.Cursor[Any]] = []
    try:
        with interrupts.cancellable(conn), conn.transaction() if committed else contextlib.nullcontext():
            failure = _pipeline(conn, [timeouts, *((s.sql.encode(), None) for s in statements)], cursors)
            if failure is not None:
                raise failure  # in the section: a signal that cancelled the statement takes its place
    except psycopg.errors.LockNotAvailable:
        raise
    except psycopg.Error as exc:
        # Answers fill the cursors in order: the first without one failed (or, with none missing,
        # the query being sent when the error came back). Query 0 sets the timeouts.
        failed = next((i for i, cursor in enumerate(cursors) if cursor.pgresult is None), len(cursors))
        raise _failure(migration, statements[min(max(failed - 1, 0), len(statements) - 1)], exc) from None


def _pipeline(conn: Conn, queries: list[Query], cursors: list[psycopg.Cursor[Any]]) -> BaseException | None:
    """Send `queries` in one pipeline and read every answer; return the first failure instead of raising it.

    Raised inside the block, an error would reach psycopg's exit, which drains the aborted
    statements and logs what it meets there; so it is kept, and raised by the caller.
    """
    failure: BaseException | None = None
    try:
        with conn.pipeline():
            try:
                for query, params in queries:
                    cursors.append(conn.execute(query, params))
            except BaseException as exc:  # a statement's error, or a signal escalated into psycopg's wait
                failure = exc
    except psycopg.Error as exc:  # the answers read on the way out: the first error, or the statements it aborted
        failure = failure or _first_error(exc)
    return failure


def _first_error(exc: psycopg.Error) -> psycopg.Error:
    """What failed, rather than a statement it aborted (psycopg reads those after it, in its context)."""
    while isinstance(exc, psycopg.errors.PipelineAborted) and isinstance(exc.__context__, psycopg.Error):
        exc = exc.__context__
    return exc


def _run_statementwise(
    session: Session, migration: Migration, direction: Direction, statements: list[Statement]
) -> int:
    conn = session.conn
    started = time.monotonic()
    try:
        conn.execute(*_timeouts(migration, session.opts, local=False))
        if direction is Direction.UP:
            history.record_started(conn, migration, session.history)  # committed: a kill -9 leaves it
        for statement in statements:
            try:
                _drop_invalid_leftover(conn, statement, session.report)
                _execute_with_retries(session, migration, statement)
            except MigrationFailed as exc:
                raise _record_failure(conn, migration, statement, exc, _ms_since(started), session.history) from None
            except KeyboardInterrupt:
                interrupted = MigrationFailed(migration.filename, statement.line, "interrupted by a signal")
                _record_failure(conn, migration, statement, interrupted, _ms_since(started), session.history)
                raise
        ms = _ms_since(started)
        _record(conn, migration, direction, ms, session.history)  # one statement in autocommit: atomic on its own
        return ms
    finally:
        if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            conn.execute("RESET lock_timeout; RESET statement_timeout; RESET client_connection_check_interval")


def _record_failure(
    conn: Conn, migration: Migration, statement: Statement, exc: MigrationFailed, ms: int, table: HistoryTable
) -> MigrationFailed:
    """Record the failed state and return the error to raise, naming any invalid index left behind."""
    history.record_failed(conn, migration, ms, statement.sql, str(exc), table)  # one statement in autocommit: atomic
    message = exc.pg_message + "; the statements before it were committed"
    leftovers = invalid_indexes(conn)
    if leftovers:
        message += f"; invalid indexes left behind: {', '.join(leftovers)}"
    message += (
        f" (fix it so that a rerun skips what is done, e.g. IF NOT EXISTS, then"
        f" `socialdb migrate resolve {migration.version} --retry` or `--mark-applied`)"
    )
    return MigrationFailed(exc.path, exc.line, message, exc.sqlstate, applied_partially=True)


def _drop_invalid_leftover(conn: Conn, statement: Statement, report: Listener) -> None:
    """A failed CREATE INDEX CONCURRENTLY leaves an INVALID index, which IF NOT EXISTS would accept."""
    if statement.concurrent_index is None:
        return
    schema, name = statement.concurrent_index
    row = conn.execute(_INDEX_IS_INVALID, {"schema": schema, "name": name}).fetchone()
    if row is None or not row[0]:
        return
    report(Note(f"dropping invalid index {name} left by an earlier failed build, to build it again"))
    target = sql.Identifier(schema, name) if schema else sql.Identifier(name)
    with interrupts.cancellable(conn):  # it waits for every older transaction
        conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(target))


def _execute_with_retries(session: Session, migration: Migration, statement: Statement) -> None:
    conn = session.conn
    for attempt in range(1, session.opts.lock_retries + 1):
        try:
            with session.watch.watching(lock_timeout_of(migration, session.opts)) as watched:
                if statement.needs_no_transaction or statement.kind in _MAY_COMMIT:
                    _execute(conn, migration, statement)
                else:
                    _execute_alone(session, migration, statement)
            return
        except psycopg.errors.LockNotAvailable:
            try:
                _retry_or_give_up(session, migration, attempt, watched.blockers, "this statement was not applied")
            except LockNotAvailableError as exc:
                reason = str(exc).removeprefix(f"{migration.filename}: ")  # the file:line comes first
                raise MigrationFailed(migration.filename, statement.line, reason, "55P03") from None
            _drop_invalid_leftover(conn, statement, session.report)


def _execute_alone(session: Session, migration: Migration, statement: Statement) -> None:
    """A statement that may run in a transaction gets one of its own, with the migration's
    timeouts set for it (SET LOCAL): behind PgBouncer in transaction mode, the session's
    settings may sit on another server connection, and a DDL statement waiting for its lock
    without a lock_timeout would queue the table's traffic behind it (decision 108)."""
    timeouts = _timeouts(migration, session.opts, local=True)
    try:
        _execute_pipelined(session.conn, migration, [statement], timeouts, committed=True)
    except MigrationFailed as exc:
        if exc.sqlstate != _ACTIVE_SQL_TRANSACTION:
            raise
        # A built-in statement PostgreSQL refuses in a block, which it checks before doing anything.
        _execute(session.conn, migration, statement)


def _execute(conn: Conn, migration: Migration, statement: Statement) -> None:
    try:
        with interrupts.cancellable(conn):
            conn.execute(statement.sql.encode())
    except psycopg.errors.LockNotAvailable:
        raise
    except psycopg.Error as exc:
        raise _failure(migration, statement, exc) from None


def _failure(migration: Migration, statement: Statement, exc: psycopg.Error) -> MigrationFailed:
    """The error of `statement`, at its file line (PostgreSQL's position, when it gives one)."""
    position = exc.diag.statement_position
    line = statement.line_of(int(position) if position else None)
    return MigrationFailed(migration.filename, line, _pg_message(exc), exc.sqlstate)


def _pg_message(exc: psycopg.Error) -> str:
    message = exc.diag.message_primary or str(exc).strip().splitlines()[0]
    if exc.sqlstate == _INSUFFICIENT_PRIVILEGE:  # the migrating role lacks a grant (docs/deploying.md)
        return f"{message} (SQLSTATE {exc.sqlstate}; {BOOTSTRAP_HINT})"
    return f"{message} (SQLSTATE {exc.sqlstate})"


def _record(conn: Conn, migration: Migration, direction: Direction, ms: int, table: HistoryTable) -> None:
    if direction == Direction.UP:
        history.record_applied(conn, migration, ms, table)
    else:
        history.remove(conn, migration.version, table)


def _timeouts(migration: Migration, opts: RunOptions, *, local: bool) -> Query:
    """The statement that sets the migration's timeouts (for its transaction when `local`).

    A transaction's commit also goes without waiting for its WAL to be flushed (or
    replicated): its locks go at once, and the run waits once at its end (decision 106).
    Not the session's: behind PgBouncer in transaction mode a session setting can stay on a
    server connection that the application then uses, and its commits would not wait either.

    A transaction's timeouts are `SET LOCAL` commands with `citus.propagate_set_commands =
    'local'` before them, in one DO block (one statement, for the pipeline): on a Citus
    coordinator they then reach every worker the transaction opens, so a lock held on a shard
    fails the migration after its lock_timeout instead of queueing traffic behind it
    (set_config() is not propagated). Elsewhere the `citus.` setting is an unused placeholder
    (decision 190).
    """
    statement_ms = migration.directives.statement_timeout_ms
    statement_ms = opts.statement_timeout_ms if statement_ms is None else statement_ms
    lock_ms = lock_timeout_of(migration, opts)
    if local:
        # Integers and this module's constant: nothing of a file's text goes into the block.
        block = _LOCAL_TIMEOUTS.format(
            lock=int(lock_ms), statement=int(statement_ms), check=CLIENT_CHECK_MS, commit=MIGRATION_COMMIT
        )
        return block, None
    return _TIMEOUTS, (f"{lock_ms}ms", False, f"{statement_ms}ms", False, f"{CLIENT_CHECK_MS}ms", False)


# "... cannot run inside a transaction block": a statement the splitter does not know to need none.
_ACTIVE_SQL_TRANSACTION = "25001"
# User code that may COMMIT (procedures, DO blocks: batched backfills): run alone, as written.
_MAY_COMMIT = frozenset({"DoStmt", "CallStmt"})
_TIMEOUTS = (
    "SELECT set_config('lock_timeout', %s, %s), set_config('statement_timeout', %s, %s),"
    " set_config('client_connection_check_interval', %s, %s)"
)
# synchronous_commit for a migration's transaction (the probe of decision 106 sets it to "on").
MIGRATION_COMMIT = "off"
# A transaction's settings: the two timeouts as SET LOCAL, which Citus propagates to the workers
# (decision 190); the connection check and the commit's wait concern the coordinator only.
# citus.multi_shard_modify_mode = 'sequential': a migration that changes a distributed table and
# then creates or alters a function (018, 019) is refused in parallel mode ("cannot run function
# command because there was a parallel operation on a distributed table in the transaction");
# in sequential mode each worker's shards go over one connection, which the function command
# can then use too (decision 242). Elsewhere an unused placeholder, like the first setting.
_LOCAL_TIMEOUTS = (
    "DO $socialdb$ BEGIN SET LOCAL citus.propagate_set_commands = 'local';"
    " SET LOCAL citus.multi_shard_modify_mode = 'sequential';"
    " SET LOCAL lock_timeout = '{lock}ms'; SET LOCAL statement_timeout = '{statement}ms';"
    " PERFORM set_config('client_connection_check_interval', '{check}ms', true),"
    " set_config('synchronous_commit', '{commit}', true); END $socialdb$"
)
# A commit waits only if its transaction wrote WAL: a transactional logical message (open to
# every role; only logical decoding consumers see it, under the prefix `socialdb`). A session
# whose synchronous_commit is off still waits here for the local flush ('local').
_DURABLE = (
    "SELECT pg_logical_emit_message(true, 'socialdb', 'migrate run ended'),"
    " CASE WHEN current_setting('synchronous_commit') = 'off'"
    " THEN set_config('synchronous_commit', 'local', true) END"
)


def wait_until_durable(conn: Conn) -> None:
    """Wait until every commit of this run is flushed, and replicated as the session's own
    synchronous_commit asks (at least flushed, if it is off): this transaction's commit
    record follows all of theirs. A signal cancels the wait; a wait cancelled on the server
    (its WARNING) raises."""
    warnings: list[str] = []

    def keep(notice: psycopg.errors.Diagnostic) -> None:
        if notice.severity_nonlocalized == "WARNING":
            warnings.append(notice.message_primary or "")

    conn.add_notice_handler(keep)
    try:
        with interrupts.cancellable(conn), conn.transaction():
            conn.execute(_DURABLE)
    finally:
        conn.remove_notice_handler(keep)
    if warnings:
        raise DurabilityError("; ".join(warnings))


def _retry_or_give_up(
    session: Session, migration: Migration, attempt: int, blockers: list[str], consequence: str
) -> None:
    opts = session.opts
    if attempt >= opts.lock_retries:
        raise LockNotAvailableError(
            f"{migration.filename}: could not get its locks within lock_timeout after {attempt} attempts;"
            f" {consequence}. Blocked by: {blocked_by(blockers)}"
        )
    delay = min(opts.retry_base_s * 2 ** (attempt - 1), opts.retry_cap_s) * random.uniform(0.5, 1.0)
    session.report(Retrying(migration.filename, attempt, opts.lock_retries, tuple(blockers), delay))
    interrupts.sleep(delay)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
