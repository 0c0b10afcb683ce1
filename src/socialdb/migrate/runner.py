"""Apply and roll back migrations: the library behind `socialdb migrate`.

Everything happens under the migration lock (lease.py), on an autocommit
connection of its own, one migration at a time (execution.py); docs/runner.md
tells the whole story. What a run would lock is the lock planner's (socialdb.planner).
"""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from socialdb.db import connect
from socialdb.errors import DurabilityError, Interrupted, MigrationFileError, UsageError
from socialdb.migrate import execution, interrupts, privileges
from socialdb.migrate.blockers import BlockerWatch
from socialdb.migrate.execution import Session
from socialdb.migrate.lease import migration_lock
from socialdb.scripts import history, standing
from socialdb.scripts.files import (
    TEMPLATE_MARK,
    Migration,
    default_directory,
    load_checked,
    load_migrations,
    load_readable,
    prepare,
)
from socialdb.scripts.options import Direction, LockMode, ResolveAction, RunOptions, choice
from socialdb.scripts.statements import Statement

Report = Callable[[str], None]
__all__ = [
    "Outcome",
    "RunOptions",
    "default_directory",
    "down",
    "resolve",
    "status",
    "up",
    "verify",
]  # the tool's public face


def _silent(_: str) -> None:
    pass


@dataclass(frozen=True)
class Outcome:
    migration: Migration
    direction: Direction
    duration_ms: int


def up(
    url: str,
    directory: Path | None = None,
    options: RunOptions | None = None,
    report: Report = _silent,
    *,
    to: int | None = None,
) -> list[Outcome]:
    """Apply every pending migration in version order, up to version `to` if given; returns what was applied."""
    opts = _checked(options)
    migrations = load_checked(directory)  # every file parsed and checked before any change
    standing.require_version(migrations, to)
    with _session(url, opts, report) as session:
        upgraded = history.ensure_table(session.conn)
        if upgraded:
            report(upgraded)
        rows = history.read(session.conn, known_to_exist=True)
        todo = standing.pending(migrations, rows, to)
        _refuse_templates(todo)
        if not todo:
            report("nothing to apply: the database is up to date" + (f" up to version {to}" if to is not None else ""))
        end = max((m.version for m in todo), default=0)
        return _run_all(session, _ready(session, directory, todo, Direction.UP, (rows, end)), Direction.UP)


def down(
    url: str,
    steps: int | None = None,
    directory: Path | None = None,
    options: RunOptions | None = None,
    report: Report = _silent,
    *,
    to: int | None = None,
) -> list[Outcome]:
    """Roll back the last `steps` applied migrations (default 1), or every one newer than `to`; newest first."""
    opts = _checked(options)
    if steps is not None and to is not None:
        raise UsageError("give a number of migrations to roll back or a version to go down to, not both")
    migrations = load_checked(directory)
    standing.require_version(migrations, to, zero=True)
    with _session(url, opts, report) as session:
        rows = history.read(session.conn)
        if to is None:
            chosen = standing.rollbacks(migrations, rows, 1 if steps is None else steps)
        else:
            chosen = standing.rollbacks_to(migrations, rows, to)
            if not chosen:
                report(f"nothing to roll back: no applied migration is newer than version {to}")
        undone = {m.version for m in chosen}
        end = max((r.version for r in rows if r.version not in undone), default=0)
        done = _run_all(session, _ready(session, directory, chosen, Direction.DOWN, (rows, end)), Direction.DOWN)
        if done and _platform_folder(directory):
            privileges.settle(session.conn, end)
        return done


def status(url: str, directory: Path | None = None) -> list[standing.StatusRow]:
    """Every migration known to the files or the history, with its state. Read-only. A file
    that does not read (a syntax error, a bad name) is a row of its own, `unreadable`, with
    the error: the rest still show."""
    migrations, unreadable = load_readable(directory or default_directory())
    with connect(url, autocommit=True, purpose="status") as conn:
        rows = standing.status(migrations, history.read(conn))
    bad = {b.version: b for b in map(standing.unreadable_row, unreadable)}
    # An applied file that no longer reads shows as what it is, not as missing.
    kept = [r for r in rows if not (r.version in bad and r.state == "missing")]
    return sorted(kept + list(bad.values()), key=lambda r: (r.version, r.file))


def verify(url: str, directory: Path | None = None) -> list[standing.Problem]:
    """Files that disagree with the database's history (changed, missing, failed, out of order). Read-only."""
    migrations = load_migrations(directory or default_directory())
    with connect(url, autocommit=True, purpose="verify") as conn:
        rows = history.read(conn)
        found = standing.problems(migrations, rows)
        newest = max((r.version for r in rows), default=None)
        if _platform_folder(directory) and privileges.stopped_in_band(conn, newest):
            file = next(r.file for r in rows if r.version == newest)
            detail = "a run without SET on app.user_id stopped inside 025-039; run `socialdb migrate up` to 040"
            found.append(standing.Problem(newest or 0, file, "unfinished", detail))
        return found


def resolve(
    url: str,
    version: int,
    action: ResolveAction | str,
    directory: Path | None = None,
    options: RunOptions | None = None,
    report: Report = _silent,
) -> Outcome | None:
    """Settle a failed non-transactional migration: `retry` runs it again, `mark-applied` records it as done."""
    opts = _checked(options)
    chosen = choice(ResolveAction, action, "resolve action")
    migrations = load_checked(directory)
    with _session(url, opts, report) as session:
        conn = session.conn
        rows = history.read(conn)
        migration = standing.resolvable(migrations, rows, version)
        if chosen is ResolveAction.RETRY:
            return _run_all(session, [(migration, prepare(migration, Direction.UP))], Direction.UP)[0]
        execution_ms = next(row.execution_ms for row in rows if row.version == version)
        with conn.transaction():
            history.record_applied(conn, migration, execution_ms)
        report(f"marked {migration.filename} as applied")
        return None


def _ready(
    session: Session,
    directory: Path | None,
    todo: list[Migration],
    direction: Direction,
    where: tuple[list[standing.HistoryRow], int],
) -> list[tuple[Migration, list[Statement]]]:
    """Each migration with the statements to run. For the platform's own folder, first the
    privileges they need are checked and what the role can give itself is done (privileges.py).
    `where`: the history as the run found it, and the version the run ends at."""
    items = [(m, prepare(m, direction)) for m in todo]
    if not todo or not _platform_folder(directory):
        return items
    rows, end = where
    me = privileges.standing(session.conn)
    privileges.check(session.conn, me, todo, direction)
    stripped = privileges.stopped_in_band(session.conn, max((r.version for r in rows), default=None))
    strip = privileges.require_band(me, todo, direction, end, stripped=stripped)
    if direction is Direction.UP:
        privileges.prepare(session.conn, me, todo)
    if not strip:
        return items
    return [(m, privileges.without_placeholder_clause(s) if privileges.in_band(m) else s) for m, s in items]


def _refuse_templates(todo: list[Migration]) -> None:
    """A pending file that is still `migrate new`'s template would apply a placeholder: refused."""
    for migration in todo:
        if TEMPLATE_MARK in migration.up:
            line = migration.up[: migration.up.index(TEMPLATE_MARK)].count("\n") + 1
            raise MigrationFileError(migration.filename, "still `migrate new`'s template: write the change", line)


def _platform_folder(directory: Path | None) -> bool:
    return directory is None or directory.resolve() == default_directory().resolve()


def _checked(options: RunOptions | None) -> RunOptions:
    """The run's options, refused (UsageError) before any work when one makes no sense."""
    opts = options or RunOptions()
    mode = choice(LockMode, opts.lock_mode, "lock mode")  # a plain string from a library caller
    return opts if mode is opts.lock_mode else dataclasses.replace(opts, lock_mode=mode)


@contextmanager
def _session(url: str, opts: RunOptions, report: Report) -> Iterator[Session]:
    """The migration lock and a work connection; both autocommit, both closed at the end."""
    with (
        migration_lock(url, opts.lock_mode, opts.lock_wait_s, report) as monitor,
        connect(url, autocommit=True, purpose="migrate") as conn,
        BlockerWatch(monitor, conn.info.backend_pid) as watch,
    ):
        yield Session(conn, monitor, opts, report, watch)


def _run_all(session: Session, items: list[tuple[Migration, list[Statement]]], direction: Direction) -> list[Outcome]:
    done: list[Outcome] = []
    current: Migration | None = None
    try:
        for migration, statements in items:
            current = migration
            done.append(_run_one(session, migration, direction, statements))
        current = None
        if done and interrupts.pending() is None:  # a signal already came: no wait, as below
            _wait_until_durable(session, done, direction)
        return done
    except KeyboardInterrupt as exc:  # no wait: the user asked to stop
        number = int(getattr(exc, "signal_number", signal.SIGINT))
        raise Interrupted(_interrupted(direction, done, current, number), number) from None
    except BaseException:
        if current is not None and done and interrupts.pending() is None and not session.conn.closed:
            _wait_after_a_failure(session, done, direction)
        raise


def _wait_until_durable(session: Session, done: list[Outcome], direction: Direction) -> None:
    """The one wait of a run for its commits' flush (decision 106); a failure says what committed."""
    try:
        execution.wait_until_durable(session.conn)
    except (psycopg.Error, DurabilityError) as exc:
        verb = "applied" if direction == Direction.UP else "rolled back"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DurabilityError(
            f"{len(done)} migration(s) {verb} and committed, but the wait for their flush failed: {reason}"
        ) from None


def _wait_after_a_failure(session: Session, done: list[Outcome], direction: Direction) -> None:
    """A migration failed: what came before it is flushed too. The failure is the error to
    report: a failed wait is only reported, and a signal only ends the wait."""
    try:
        _wait_until_durable(session, done, direction)
    except DurabilityError as exc:
        session.report(str(exc))
    except KeyboardInterrupt:
        pass


def _run_one(session: Session, migration: Migration, direction: Direction, statements: list[Statement]) -> Outcome:
    up = direction == Direction.UP
    session.report(f"{'applying' if up else 'rolling back'} {migration.filename}")
    ms = execution.run(session, migration, direction, statements)  # the same figure the history keeps
    session.report(f"{'applied' if up else 'rolled back'} {migration.filename} in {ms} ms")
    return Outcome(migration, direction, ms)


def _interrupted(direction: Direction, done: list[Outcome], current: Migration | None, number: int) -> str:
    name = signal.Signals(number).name
    verb = "applied" if direction == Direction.UP else "rolled back"
    finished = ", ".join(o.migration.filename for o in done) or "none"
    if current is None or any(o.migration is current for o in done):
        return f"interrupted by {name}; {verb} before it: {finished}"
    if current.directives.transaction:
        fate = f"{current.filename} was rolled back, nothing of it {verb}"
    else:
        fate = f"{current.filename} stopped midway and is recorded as failed (see `socialdb migrate status`)"
    return f"interrupted by {name}: {fate}; {verb} before it: {finished}"
