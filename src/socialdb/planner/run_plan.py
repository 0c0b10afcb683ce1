"""The plan of a run, as `migrate plan` and `up --dry-run` show it: which migrations `up` would
apply (or the files named), and what each of their statements would lock. The facts come from
the database (live.py), or, without one, from a new, empty database of a given server version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from socialdb.db import connect
from socialdb.planner import live, lock_plan
from socialdb.planner.facts import Facts
from socialdb.planner.gates import Thresholds
from socialdb.planner.lock_modes import NEWEST, Server
from socialdb.planner.lock_plan import Plan
from socialdb.scripts import history as history_mod
from socialdb.scripts import standing
from socialdb.scripts.files import load_checked, load_named
from socialdb.scripts.options import DEFAULT_HISTORY, HistoryTable, RunOptions


def plan(
    url: str | None,
    directory: Path | None = None,
    *,
    to: int | None = None,
    files: Sequence[Path] = (),
    options: RunOptions | None = None,
    thresholds: Thresholds | None = None,
    server: Server | None = None,
    history: HistoryTable | None = None,
    allow_out_of_order: bool = False,
    report: Callable[[str], None] = lambda _: None,
) -> Plan:
    """What `up` would run (or `files`, in version order), and what each statement would lock.

    With a URL the pending migrations, sizes and lock holders are that database's, read in one
    READ ONLY transaction that changes nothing (no history table is created); without one
    (`url=None`) every file is pending and the plan is for a new, empty database on `server`.
    `history`: the configured history table; `allow_out_of_order`: as `up`'s, each pending file
    that runs out of order reported.
    """
    migrations = load_checked(directory)
    standing.require_version(migrations, to)
    chosen = load_named(files)
    if url is None:
        todo = chosen or [m for m in migrations if to is None or m.version <= to]
        return lock_plan.build(todo, Facts.empty(server or NEWEST), options=options, thresholds=thresholds)
    with connect(url, autocommit=True, purpose="plan") as conn, conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        rows = history_mod.read(conn, history or DEFAULT_HISTORY)
        facts, holders = live.facts(conn), live.holders(conn)
    todo = chosen or standing.pending(migrations, rows, to, out_of_order=allow_out_of_order)
    for late in standing.older_than_applied(todo, rows):
        report(f"{late.filename} runs out of order (--allow-out-of-order): a newer version is applied")
    return lock_plan.build(todo, facts, holders, options, thresholds)
