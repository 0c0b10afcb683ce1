"""Apply and roll back migrations: the library behind `socialdb migrate`.

Everything happens under the migration lock (lease.py), on an autocommit
connection of its own, one migration at a time (execution.py); docs/runner.md
tells the whole story.
"""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from socialdb.db import Conn, connect
from socialdb.errors import (
    BaselineError,
    ConfigError,
    DurabilityError,
    Interrupted,
    MigrationFileError,
    RepairError,
    UsageError,
)
from socialdb.migrate import execution, interrupts, lease, privileges
from socialdb.migrate.blockers import BlockerWatch
from socialdb.migrate.execution import Session
from socialdb.migrate.lease import migration_lock
from socialdb.scripts import history as history_mod
from socialdb.scripts import standing
from socialdb.scripts.events import Applied, Applying, Listener, Note, RolledBack, RollingBack, silent
from socialdb.scripts.files import (
    TEMPLATE_MARK,
    Migration,
    default_directory,
    fingerprints,
    load_checked,
    load_migrations,
    load_readable,
    prepare,
    with_statements,
)
from socialdb.scripts.options import (
    DEFAULT_HISTORY,
    Direction,
    HistoryTable,
    LockMode,
    ResolveAction,
    RunOptions,
    choice,
)
from socialdb.scripts.splitting import Statement

__all__ = [
    "Change",
    "HistoryTable",
    "Outcome",
    "RunOptions",
    "baseline",
    "default_directory",
    "down",
    "repair",
    "resolve",
    "status",
    "up",
    "verify",
]  # the tool's public face


@dataclass(frozen=True)
class Outcome:
    migration: Migration
    direction: Direction
    duration_ms: int


def up(
    url: str,
    directory: Path | None = None,
    options: RunOptions | None = None,
    report: Listener = silent,
    *,
    to: int | None = None,
    history: HistoryTable | None = None,
    allow_out_of_order: bool = False,
) -> list[Outcome]:
    """Apply every pending migration in version order, up to version `to` if given; returns what was applied.

    Every pending file is parsed and checked before any change; an applied one is judged by its
    checksum against the history, not parsed (a no-op run loads no SQL parser). `allow_out_of_order`:
    a pending file older than the newest applied one runs too, instead of being refused."""
    opts = _checked(options)
    folder, table = _where(directory, history)
    try:  # before the lock: a signal here has nothing to roll back
        if _up_to_date(url, folder, table, to):
            report(Note(f"nothing to apply: the database is up to date{_upto(to)}"))
            return []
        migrations = load_migrations(folder, split_parts=False)  # names, headers, markers: before the lock
        standing.require_version(migrations, to)
    except KeyboardInterrupt as exc:
        number = interrupts.signal_number(exc)
        name = signal.Signals(number).name
        raise Interrupted(f"interrupted by {name} before the migration lock; nothing was changed", number) from None
    with _session(url, opts, report, table) as session:
        shape = history_mod.inspect(session.conn, table)
        rows = history_mod.read(session.conn, table, known_to_exist=True) if shape.found else []
        todo = _parsed(standing.pending(migrations, rows, to, out_of_order=allow_out_of_order))
        upgraded = history_mod.ensure_table(session.conn, table, shape)
        if upgraded:
            report(Note(upgraded))
        for late in standing.older_than_applied(todo, rows):
            report(Note(f"{late.filename} runs out of order (--allow-out-of-order): a newer version is applied"))
        if not todo:
            report(Note(f"nothing to apply: the database is up to date{_upto(to)}"))
        end = max((m.version for m in todo), default=0)
        return _run_all(session, _ready(session, folder, todo, Direction.UP, (rows, end)), Direction.UP)


def _up_to_date(url: str, folder: Path, table: HistoryTable, to: int | None) -> bool:
    """Whether every file is applied with the very text it has now and the history holds nothing
    else: then `up` has nothing to do, and says so without the lock, a parse or a second connection
    (decision 270). Any doubt (a changed or failed file, an older history table, a name a full read
    must judge) answers False, and the full run decides, with its errors."""
    files = fingerprints(folder)
    if not files or (to is not None and to not in files):
        return False
    with connect(url, autocommit=True, purpose="migrate") as conn:
        shape = history_mod.inspect(conn, table)
        if not shape.found or shape.integer_version or not shape.split:
            return False
        rows = history_mod.read(conn, table, known_to_exist=True)
    recorded = {row.version: (row.file, row.checksum) for row in rows if row.state == "applied"}
    return len(recorded) == len(rows) and recorded == files


def _upto(to: int | None) -> str:
    return f" up to version {to}" if to is not None else ""


def _parsed(todo: list[Migration]) -> list[Migration]:
    """The pending files through PostgreSQL's parser, both parts checked; refuses a template
    and a file with no rollback that does not say `rollback=none`, before any change."""
    ready = [with_statements(m) for m in todo]
    for migration in ready:
        prepare(migration, Direction.UP)
        if migration.down_statements is not None:
            prepare(migration, Direction.DOWN)
    _refuse_templates(ready)
    _refuse_no_rollback(ready)
    return ready


def down(
    url: str,
    steps: int | None = None,
    directory: Path | None = None,
    options: RunOptions | None = None,
    report: Listener = silent,
    *,
    to: int | None = None,
    history: HistoryTable | None = None,
) -> list[Outcome]:
    """Roll back the last `steps` applied migrations (default 1), or every one newer than `to`; newest first."""
    opts = _checked(options)
    if steps is not None and to is not None:
        raise UsageError("give a number of migrations to roll back or a version to go down to, not both")
    directory, table = _where(directory, history)
    migrations = load_checked(directory)
    standing.require_version(migrations, to, zero=True)
    with _session(url, opts, report, table) as session:
        rows = history_mod.read(session.conn, table)
        if to is None:
            chosen = standing.rollbacks(migrations, rows, 1 if steps is None else steps)
        else:
            chosen = standing.rollbacks_to(migrations, rows, to)
            if not chosen:
                report(Note(f"nothing to roll back: no applied migration is newer than version {to}"))
        undone = {m.version for m in chosen}
        end = max((r.version for r in rows if r.version not in undone), default=0)
        done = _run_all(session, _ready(session, directory, chosen, Direction.DOWN, (rows, end)), Direction.DOWN)
        if done and _platform_folder(directory):
            privileges.settle(session.conn, end)
        return done


def status(url: str, directory: Path | None = None, *, history: HistoryTable | None = None) -> list[standing.StatusRow]:
    """Every migration known to the files or the history, with its state. Read-only. A file
    that does not read (a syntax error, a bad name) is a row of its own, `unreadable`, with
    the error: the rest still show. A pending file older than the newest applied one says so
    in its detail (`up --allow-out-of-order` runs it)."""
    directory, table = _where(directory, history)
    migrations, unreadable = load_readable(directory)
    with connect(url, autocommit=True, purpose="status") as conn:
        history_rows = history_mod.read(conn, table)
        running = _under_way(conn, history_rows)
        rows = [
            dataclasses.replace(r, state="running", detail=RUNNING) if r.version in running else r
            for r in standing.status(migrations, history_rows)
        ]
    bad = {b.version: b for b in map(standing.unreadable_row, unreadable)}
    # An applied file that no longer reads shows as what it is, not as missing.
    kept = [r for r in rows if not (r.version in bad and r.state == "missing")]
    return sorted(kept + list(bad.values()), key=lambda r: (r.version, r.file))


RUNNING = "a run holds the migration lock and is applying it (transaction=off: its statements commit one by one)"


def _under_way(conn: Conn, rows: list[standing.HistoryRow]) -> set[int]:
    """The versions whose row says "not finished" while a run holds the migration lock: being
    applied now, not failed (decision 272). Without a holder the row stands: the run ended inside."""
    unfinished = {r.version for r in rows if r.state == "failed" and r.error == history_mod.UNFINISHED}
    return unfinished if unfinished and lease.held(conn) else set()


def verify(
    url: str, directory: Path | None = None, *, history: HistoryTable | None = None, allow_out_of_order: bool = False
) -> list[standing.Problem]:
    """Files that disagree with the database's history (changed, missing, failed, out of order). Read-only."""
    directory, table = _where(directory, history)
    migrations = load_migrations(directory)
    with connect(url, autocommit=True, purpose="verify") as conn:
        rows = history_mod.read(conn, table)
        running = _under_way(conn, rows)
        found = [
            p for p in standing.problems(migrations, rows, out_of_order=allow_out_of_order) if p.version not in running
        ]
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
    report: Listener = silent,
    *,
    history: HistoryTable | None = None,
) -> Outcome | None:
    """Settle a failed non-transactional migration: `retry` runs it again, `mark-applied` records it as done."""
    opts = _checked(options)
    chosen = choice(ResolveAction, action, "resolve action")
    directory, table = _where(directory, history)
    migrations = load_checked(directory)
    with _session(url, opts, report, table) as session:
        conn = session.conn
        rows = history_mod.read(conn, table)
        migration = standing.resolvable(migrations, rows, version)
        if chosen is ResolveAction.RETRY:
            return _run_all(session, [(migration, prepare(migration, Direction.UP))], Direction.UP)[0]
        execution_ms = next(row.execution_ms for row in rows if row.version == version)
        with conn.transaction():
            history_mod.record_applied(conn, migration, execution_ms, table)
        report(Note(f"marked {migration.filename} as applied"))
        return None


@dataclass(frozen=True)
class Change:
    """An applied migration whose file changed since (`migrate repair`): which part, which checksums."""

    migration: Migration
    part: str  # "rollback", or "up" (the up part or the file's name)
    recorded: str  # the history's checksum (the up part's for "up" when kept, else the whole file's)
    now: str


def changes(migrations: list[Migration], rows: list[standing.HistoryRow]) -> list[Change]:
    """The applied rows whose file differs from what was recorded. Pure."""
    by_version = {m.version: m for m in migrations}
    found: list[Change] = []
    for row in rows:
        migration = by_version.get(row.version)
        if row.state != "applied" or migration is None or migration.checksum == row.checksum:
            continue
        if migration.filename != row.file or not standing.up_unchanged(row, migration):
            was = row.up_checksum or row.checksum
            found.append(Change(migration, "up", was, migration.up_checksum if row.up_checksum else migration.checksum))
        else:
            found.append(Change(migration, "rollback", row.checksum, migration.checksum))
    return found


def repair(
    url: str,
    directory: Path | None = None,
    *,
    apply: bool = False,
    changed_up: bool = False,
    history: HistoryTable | None = None,
    options: RunOptions | None = None,
    report: Listener = silent,
) -> list[Change]:
    """What changed in applied files since they ran; with `apply`, their rows are re-recorded with
    the files' checksums (nothing is run). A changed up part (or file name) is re-recorded only
    with `changed_up` too: refused otherwise, before anything changes. Without `apply`: read-only."""
    opts = _checked(options)
    directory, table = _where(directory, history)
    migrations = load_checked(directory)  # a re-recorded file must read: both parts are parsed
    if not apply:
        with connect(url, autocommit=True, purpose="repair") as conn:
            return changes(migrations, history_mod.read(conn, table))
    with _session(url, opts, report, table) as session:
        found = changes(migrations, history_mod.read(session.conn, table))
        ups = [c.migration.filename for c in found if c.part == "up"]
        if ups and not changed_up:
            raise RepairError(
                f"the up part of {', '.join(ups)} changed since it was applied: the database holds what the"
                " old one did; restore the file, or record the new one as applied without running it with"
                " --record-changed-up; nothing was re-recorded"
            )
        with session.conn.transaction():
            for change in found:
                history_mod.rerecord(session.conn, change.migration, table)
        return found


def baseline(
    url: str,
    to: int,
    differences: Callable[[], Sequence[object]],
    directory: Path | None = None,
    *,
    history: HistoryTable | None = None,
    options: RunOptions | None = None,
    report: Listener = silent,
) -> list[Migration]:
    """Adopt a database made without socialdb: when its schema equals what the migrations up to
    `to` produce, record them as applied (execution_ms 0). Refused, recording nothing, when it
    differs or already has a history. `differences` compares the two: the schema layer's
    (socialdb.schema.diff.against, built in a scratch database as `schema diff` does), passed in
    by the caller so that the runner stays below the schema tools."""
    from socialdb.db import mask_url

    opts = _checked(options)
    directory, table = _where(directory, history)
    migrations = load_checked(directory)
    standing.require_version(migrations, to)
    chosen = [m for m in migrations if m.version <= to]
    with _session(url, opts, report, table) as session:
        rows = history_mod.read(session.conn, table)
        if rows:
            raise BaselineError(
                f"{table} already records {len(rows)} migration(s): baseline adopts a database with no history;"
                " use `migrate up` (or `migrate repair`) on this one"
            )
        found = list(differences())
        if found:
            shown = "; ".join(map(str, found[:3])) + ("; ..." if len(found) > 3 else "")
            raise BaselineError(
                f"{mask_url(url)} differs from the migrations up to version {to} in {len(found)} place(s):"
                f" {shown}; nothing was recorded (`socialdb schema diff` after a baseline shows the same)"
            )
        history_mod.ensure_table(session.conn, table)
        with session.conn.transaction():
            for migration in chosen:
                history_mod.record_applied(session.conn, migration, 0, table)
        report(Note(f"recorded {len(chosen)} migration(s) as applied, up to {chosen[-1].filename}"))
        return chosen


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


def _refuse_no_rollback(todo: list[Migration]) -> None:
    """A pending file with no rollback part must say it cannot be undone (decision 145)."""
    for migration in todo:
        if migration.down_statements is None and not migration.directives.irreversible:
            raise MigrationFileError(
                migration.filename,
                "no '-- ROLLBACK' part: write what undoes it after that marker line, or, for a migration"
                " that cannot be undone, put the header line '-- socialdb: rollback=none' on its first line",
                1,
            )


def _platform_folder(directory: Path | None) -> bool:
    return directory is None or directory.resolve() == default_directory().resolve()


def _where(directory: Path | None, history: HistoryTable | None) -> tuple[Path, HistoryTable]:
    """The folder (default: the platform's own) and the history table (default: `migrations`);
    the platform's own migrations name `migrations` in their SQL, so they refuse any other."""
    table = history or DEFAULT_HISTORY
    folder = directory or default_directory()
    if table != DEFAULT_HISTORY and _platform_folder(folder):
        raise ConfigError(
            f"history table {table} with the platform's own migrations, whose SQL names the table"
            " `migrations` (018's grants, `maintain`'s lock): use the default with them"
        )
    return folder, table


def _checked(options: RunOptions | None) -> RunOptions:
    """The run's options, refused (UsageError) before any work when one makes no sense."""
    opts = options or RunOptions()
    mode = choice(LockMode, opts.lock_mode, "lock mode")  # a plain string from a library caller
    return opts if mode is opts.lock_mode else dataclasses.replace(opts, lock_mode=mode)


@contextmanager
def _session(url: str, opts: RunOptions, report: Listener, table: HistoryTable = DEFAULT_HISTORY) -> Iterator[Session]:
    """The migration lock and a work connection; both autocommit, both closed at the end."""
    with (
        migration_lock(url, opts.lock_mode, opts.lock_wait_s, report) as monitor,
        connect(url, autocommit=True, purpose="migrate") as conn,
        BlockerWatch(monitor, conn.info.backend_pid) as watch,
    ):
        yield Session(conn, monitor, opts, report, watch, table)


def _run_all(session: Session, items: list[tuple[Migration, list[Statement]]], direction: Direction) -> list[Outcome]:
    done: list[Outcome] = []
    current: Migration | None = None
    try:
        for index, (migration, statements) in enumerate(items, 1):
            current = migration
            done.append(_run_one(session, migration, direction, statements, (index, len(items))))
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
        session.report(Note(str(exc)))
    except KeyboardInterrupt:
        pass


def _run_one(
    session: Session, migration: Migration, direction: Direction, statements: list[Statement], place: tuple[int, int]
) -> Outcome:
    """Run the `place[0]`-th migration of the `place[1]` of the run, reporting its start and its end."""
    up = direction == Direction.UP
    version, file = migration.version, migration.filename
    session.report((Applying if up else RollingBack)(version, file, *place))
    ms = execution.run(session, migration, direction, statements)  # the same figure the history keeps
    session.report((Applied if up else RolledBack)(version, file, ms))
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
