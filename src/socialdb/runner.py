"""Apply and roll back migrations: the library behind `socialdb migrate`.

Everything happens under the migration lock (lock.py), on an autocommit
connection of its own, one migration at a time (execution.py); docs/runner.md
tells the whole story.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from socialdb import execution, history, plan
from socialdb.connection import connect
from socialdb.errors import Interrupted, MigrationFileError, UsageError
from socialdb.execution import RunOptions, Session
from socialdb.files import Migration, load_migrations
from socialdb.lock import migration_lock
from socialdb.statements import Statement, split

Report = Callable[[str], None]
__all__ = ["Outcome", "RunOptions", "default_directory", "down", "resolve", "status", "up"]


def _silent(_: str) -> None:
    pass


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
    prepared = {m.version: prepare(m, "up") for m in migrations}  # syntax errors before any change
    with _session(url, opts, report) as session:
        history.ensure_table(session.conn)
        todo = plan.pending(migrations, history.read(session.conn))
        if not todo:
            report("nothing to apply: the database is up to date")
        return _run_all(session, [(m, prepared[m.version]) for m in todo], "up")


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
    with _session(url, opts, report) as session:
        chosen = plan.rollbacks(migrations, history.read(session.conn), steps)
        prepared = [(m, prepare(m, "down")) for m in chosen]  # all parsed before any runs
        return _run_all(session, prepared, "down")


def status(url: str, directory: Path | None = None) -> list[plan.StatusRow]:
    """Every migration known to the files or the history, with its state. Read-only."""
    migrations = load_migrations(directory or default_directory())
    with connect(url, autocommit=True, purpose="status") as conn:
        return plan.status(migrations, history.read(conn))


def resolve(
    url: str,
    version: int,
    action: str,
    directory: Path | None = None,
    options: RunOptions | None = None,
    report: Report = _silent,
) -> Outcome | None:
    """Settle a failed non-transactional migration: `retry` runs it again, `mark-applied` records it as done."""
    opts = options or RunOptions()
    by_version = {m.version: m for m in load_migrations(directory or default_directory())}
    with _session(url, opts, report) as session:
        conn = session.conn
        rows = {row.version: row for row in history.read(conn)}
        if version not in rows or rows[version].state != "failed":
            raise UsageError(f"migration {version} is not in the failed state; nothing to resolve")
        migration = by_version.get(version)
        if migration is None:
            raise UsageError(f"migration {version} failed but its file {rows[version].file} is missing")
        if action == "mark-applied":
            with conn.transaction():
                history.record_applied(conn, migration, rows[version].execution_ms)
            report(f"marked {migration.filename} as applied")
            return None
        if action != "retry":
            raise UsageError(f"unknown resolve action {action!r}: use retry or mark-applied")
        return _run_all(session, [(migration, prepare(migration, "up"))], "up")[0]


def prepare(migration: Migration, direction: str) -> list[Statement]:
    """Split one part of a migration into statements, refusing what cannot run as configured."""
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


@contextmanager
def _session(url: str, opts: RunOptions, report: Report) -> Iterator[Session]:
    """The migration lock and a work connection; both autocommit, both closed at the end."""
    with (
        migration_lock(url, opts.lock_mode, opts.lock_wait_s, report) as monitor,
        connect(url, autocommit=True, purpose="migrate") as conn,
    ):
        yield Session(conn, monitor, opts, report)


def _run_all(session: Session, items: list[tuple[Migration, list[Statement]]], direction: str) -> list[Outcome]:
    done: list[Outcome] = []
    current: Migration | None = None
    try:
        for migration, statements in items:
            current = migration
            done.append(_run_one(session, migration, direction, statements))
        return done
    except KeyboardInterrupt as exc:
        number = int(getattr(exc, "signal_number", signal.SIGINT))
        raise Interrupted(_interrupted(direction, done, current, number), number) from None


def _run_one(session: Session, migration: Migration, direction: str, statements: list[Statement]) -> Outcome:
    session.report(f"{'applying' if direction == 'up' else 'rolling back'} {migration.filename}")
    started = time.monotonic()
    execution.run(session, migration, direction, statements)
    ms = int((time.monotonic() - started) * 1000)
    session.report(f"{'applied' if direction == 'up' else 'rolled back'} {migration.filename} in {ms} ms")
    return Outcome(migration, direction, ms)


def _interrupted(direction: str, done: list[Outcome], current: Migration | None, number: int) -> str:
    name = signal.Signals(number).name
    verb = "applied" if direction == "up" else "rolled back"
    finished = ", ".join(o.migration.filename for o in done) or "none"
    if current is None or any(o.migration is current for o in done):
        return f"interrupted by {name}; {verb} before it: {finished}"
    if current.directives.transaction:
        fate = f"{current.filename} was rolled back, nothing of it {verb}"
    else:
        fate = f"{current.filename} stopped midway and is recorded as failed (see `socialdb migrate status`)"
    return f"interrupted by {name}: {fate}; {verb} before it: {finished}"
