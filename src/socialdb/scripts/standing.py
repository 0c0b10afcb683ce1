"""Where a database stands against the files: each file's status, what to apply or roll back, what
disagrees. The files on disk compared with the history table's rows; pure, no database code."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from socialdb.errors import (
    ChecksumMismatchError,
    FailedMigrationError,
    MigrationFileError,
    MissingMigrationError,
    NoRollbackError,
    OutOfOrderError,
    UsageError,
)
from socialdb.scripts.files import Migration


@dataclass(frozen=True)
class HistoryRow:
    version: int
    name: str
    file: str
    checksum: str
    executed_at: datetime
    execution_ms: int
    state: str  # "applied" or "failed"
    failed_statement: str | None
    error: str | None
    up_checksum: str | None = None  # None: recorded before the runner kept the up part's own


def up_unchanged(row: HistoryRow, migration: Migration) -> bool:
    """Whether the file's up part is the one that was applied; its rollback may have been corrected."""
    if row.up_checksum is not None:
        return row.up_checksum == migration.up_checksum
    return row.checksum == migration.checksum or row.checksum in migration.earlier_checksums


@dataclass(frozen=True)
class StatusRow:
    version: int
    name: str
    file: str
    state: str  # applied, pending, changed, missing, failed, unreadable
    executed_at: datetime | None = None
    execution_ms: int | None = None
    detail: str | None = None


def status(files: list[Migration], history: list[HistoryRow]) -> list[StatusRow]:
    by_version = {m.version: m for m in files}
    rows = [_status_of_applied(row, by_version.get(row.version)) for row in history]
    applied = {row.version for row in history}
    newest = max(applied, default=None)
    rows += [
        StatusRow(m.version, m.name, m.filename, "pending", detail=_out_of_order(m.version, newest))
        for m in files
        if m.version not in applied
    ]
    return sorted(rows, key=lambda r: r.version)


def _out_of_order(version: int, newest: int | None) -> str | None:
    """A pending file's note when a newer version is applied: `up` runs it only with --allow-out-of-order."""
    if newest is None or version > newest:
        return None
    return f"out of order: version {newest} is applied; `migrate up --allow-out-of-order` applies it"


def _status_of_applied(row: HistoryRow, migration: Migration | None) -> StatusRow:
    if row.state == "failed":
        state, detail = "failed", row.error
    elif migration is None:
        state, detail = "missing", None
    elif migration.filename != row.file or not up_unchanged(row, migration):
        state, detail = "changed", None
    else:
        state, detail = "applied", (None if migration.checksum == row.checksum else "rollback corrected since applied")
    return StatusRow(row.version, row.name, row.file, state, row.executed_at, row.execution_ms, detail)


def unreadable_row(error: MigrationFileError) -> StatusRow:
    """A file that does not read, as `status` shows it: its version if its name has one."""
    name = os.path.basename(error.path)
    digits, _, rest = name.partition("-")
    version = int(digits) if digits.isdigit() else -1
    where = f"line {error.line}: " if error.line is not None else ""
    shown = (rest if version >= 0 else name).removesuffix(".sql")
    return StatusRow(version, shown, name, "unreadable", detail=where + error.reason)


def check(files: list[Migration], history: list[HistoryRow], resolving: int | None = None) -> None:
    """Refuse to run when history and files disagree; the message names the file and what to do.

    `resolving`: the failed migration `resolve` settles; it may be failed and its file edited, not missing.
    """
    present = {m.version for m in files}
    for row in status(files, history):
        if row.state == "missing" or (row.version == resolving and row.version not in present):
            raise MissingMigrationError(
                f"{row.file}: applied on {row.executed_at:%Y-%m-%d %H:%M} but the file is missing; restore it"
            )
        if row.version == resolving:
            continue
        if row.state == "changed":
            raise ChecksumMismatchError(
                f"{row.file}: changed since it was applied on {row.executed_at:%Y-%m-%d %H:%M};"
                " restore the original and put the change in a new migration"
            )
        if row.state == "failed":
            raise FailedMigrationError(
                f"{row.file}: failed midway ({row.detail}); fix it so that a rerun skips what is done"
                " (e.g. IF NOT EXISTS), then run"
                f" `socialdb migrate resolve {row.version} --retry` or `--mark-applied`"
            )


def resolvable(files: list[Migration], history: list[HistoryRow], version: int) -> Migration:
    """The failed migration `resolve` may settle; refuses a missing or changed file, or a version that did not fail."""
    check(files, history, resolving=version)
    if not any(row.version == version and row.state == "failed" for row in history):
        raise UsageError(f"migration {version} is not in the failed state; nothing to resolve")
    return next(m for m in files if m.version == version)


def require_version(files: list[Migration], version: int | None, *, zero: bool = False) -> None:
    """Refuse a target version (`--to`) that names no migration file (`zero`: 0, the empty
    database before the first file, is a target too, for `down`)."""
    if version is None or (zero and version == 0) or any(m.version == version for m in files):
        return
    known = f"versions run from {files[0].version} to {files[-1].version}" if files else "the folder is empty"
    raise UsageError(f"--to {version}: no migration file has this version ({known})")


def pending(
    files: list[Migration], history: list[HistoryRow], to: int | None = None, *, out_of_order: bool = False
) -> list[Migration]:
    """Migrations to apply, in version order, up to `to` if given; refuses one older than the newest
    applied, unless `out_of_order` (`--allow-out-of-order`)."""
    check(files, history)
    applied = {row.version for row in history}
    newest = max(applied, default=None)
    todo = [m for m in files if m.version not in applied]
    for migration in todo:
        if newest is not None and migration.version < newest and not out_of_order:
            raise OutOfOrderError(
                f"{migration.filename} is pending but version {newest} is already applied;"
                " give it a version above the newest applied one, or run it with --allow-out-of-order"
            )
    return [m for m in todo if to is None or m.version <= to]


def older_than_applied(todo: list[Migration], history: list[HistoryRow]) -> list[Migration]:
    """The pending migrations of `todo` that a newer applied version passed (run out of order)."""
    newest = max((row.version for row in history), default=None)
    return [m for m in todo if newest is not None and m.version < newest]


def rollbacks(files: list[Migration], history: list[HistoryRow], steps: int) -> list[Migration]:
    """The last `steps` applied migrations, newest first; refuses before anything runs."""
    if steps < 1:
        raise UsageError(f"cannot roll back {steps} migrations: give a number of at least 1")
    check(files, history)
    applied = sorted((row.version for row in history), reverse=True)
    if steps > len(applied):
        raise UsageError(f"cannot roll back {steps} migrations: only {len(applied)} applied")
    return _reversible(files, applied[:steps])


def rollbacks_to(files: list[Migration], history: list[HistoryRow], to: int) -> list[Migration]:
    """Every applied migration newer than `to`, newest first (`to` itself stays); refuses before anything runs."""
    require_version(files, to, zero=True)
    check(files, history)
    return _reversible(files, sorted((row.version for row in history if row.version > to), reverse=True))


def _reversible(files: list[Migration], versions: list[int]) -> list[Migration]:
    by_version = {m.version: m for m in files}
    chosen = [by_version[version] for version in versions]
    for migration in chosen:
        if migration.directives.irreversible:
            raise NoRollbackError(
                f"{migration.filename}: irreversible ('-- socialdb: rollback=none'); nothing was rolled back"
            )
        if migration.down_statements is None:
            raise NoRollbackError(f"{migration.filename}: has no '-- ROLLBACK' section; nothing was rolled back")
    return chosen


@dataclass(frozen=True)
class Problem:
    """Why `migrate verify` fails: a file that disagrees with the history."""

    version: int
    file: str
    state: str  # changed, missing, failed, out-of-order, unfinished
    detail: str


def problems(files: list[Migration], history: list[HistoryRow], *, out_of_order: bool = False) -> list[Problem]:
    """Every file that keeps `up` from running: applied and changed or missing, failed midway, or
    pending with a version below the newest applied one (unless `out_of_order`, as `up` takes it).
    Empty: the folder and the history agree."""
    newest = max((row.version for row in history), default=None)
    found: list[Problem] = []
    for row in status(files, history):
        if row.state == "changed":
            found.append(Problem(row.version, row.file, "changed", "edited since it was applied"))
        elif row.state == "missing":
            found.append(Problem(row.version, row.file, "missing", "applied, but the file is gone"))
        elif row.state == "failed":
            found.append(Problem(row.version, row.file, "failed", f"failed midway: {row.detail}"))
        elif row.state == "pending" and newest is not None and row.version < newest and not out_of_order:
            detail = f"pending, but version {newest} is already applied"
            found.append(Problem(row.version, row.file, "out-of-order", detail))
    return found
