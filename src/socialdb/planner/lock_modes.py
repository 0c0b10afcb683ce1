"""PostgreSQL's table-level lock modes and the lock each DDL command takes: pure tables, no database.

The modes and their conflicts are the documentation's ("Explicit Locking", Table 13.2); the
level of each ALTER TABLE subcommand is `AlterTableGetLockLevel` in tablecmds.c, the same in
PostgreSQL 15 and 18. Where a command's locks differ between versions the rule names the
version that changed it (`Server.since`). Every rule here is checked against a real server by
tests/test_lock_plan.py: the statements run in a transaction and pg_locks must show exactly
what the plan predicted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from pglast.enums import AlterTableType as At

T = TypeVar("T")


class LockLevel(StrEnum):
    """A table-level lock mode, weakest first (the order of PostgreSQL's lock numbers)."""

    ACCESS_SHARE = "ACCESS SHARE"
    ROW_SHARE = "ROW SHARE"
    ROW_EXCLUSIVE = "ROW EXCLUSIVE"
    SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
    SHARE = "SHARE"
    SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
    EXCLUSIVE = "EXCLUSIVE"
    ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"

    @property
    def rank(self) -> int:
        return _ORDER.index(self) + 1

    @classmethod
    def from_pg(cls, mode: str) -> LockLevel:
        """From pg_locks.mode (`AccessShareLock`)."""
        return _BY_PG_NAME[mode]

    def conflicts_with(self, other: LockLevel) -> bool:
        return other in _CONFLICTS[self]


_ORDER = list(LockLevel)
_BY_PG_NAME = {"".join(word.capitalize() for word in level.value.split()) + "Lock": level for level in LockLevel}
_L = LockLevel
_CONFLICTS: dict[LockLevel, frozenset[LockLevel]] = {
    _L.ACCESS_SHARE: frozenset({_L.ACCESS_EXCLUSIVE}),
    _L.ROW_SHARE: frozenset({_L.EXCLUSIVE, _L.ACCESS_EXCLUSIVE}),
    _L.ROW_EXCLUSIVE: frozenset({_L.SHARE, _L.SHARE_ROW_EXCLUSIVE, _L.EXCLUSIVE, _L.ACCESS_EXCLUSIVE}),
    _L.SHARE_UPDATE_EXCLUSIVE: frozenset(
        {_L.SHARE_UPDATE_EXCLUSIVE, _L.SHARE, _L.SHARE_ROW_EXCLUSIVE, _L.EXCLUSIVE, _L.ACCESS_EXCLUSIVE}
    ),
    _L.SHARE: frozenset(
        {_L.ROW_EXCLUSIVE, _L.SHARE_UPDATE_EXCLUSIVE, _L.SHARE_ROW_EXCLUSIVE, _L.EXCLUSIVE, _L.ACCESS_EXCLUSIVE}
    ),
    _L.SHARE_ROW_EXCLUSIVE: frozenset(set(_ORDER[2:])),
    _L.EXCLUSIVE: frozenset(set(_ORDER[1:])),
    _L.ACCESS_EXCLUSIVE: frozenset(_ORDER),
}


class Blocks(StrEnum):
    """What a lock makes the application wait for."""

    READS_AND_WRITES = "reads and writes"  # conflicts with ACCESS SHARE: even SELECT waits
    WRITES = "writes"  # conflicts with ROW EXCLUSIVE: INSERT, UPDATE, DELETE wait
    NOTHING = "nothing"  # only other DDL, VACUUM, ANALYZE wait

    @property
    def rank(self) -> int:
        return {Blocks.NOTHING: 0, Blocks.WRITES: 1, Blocks.READS_AND_WRITES: 2}[self]


def blocks(levels: Iterable[LockLevel]) -> Blocks:
    """What the application waits for while these locks are held on a relation."""
    held = list(levels)
    if any(level.conflicts_with(LockLevel.ACCESS_SHARE) for level in held):
        return Blocks.READS_AND_WRITES
    if any(level.conflicts_with(LockLevel.ROW_EXCLUSIVE) for level in held):
        return Blocks.WRITES
    return Blocks.NOTHING


def worst(values: Iterable[Blocks]) -> Blocks:
    return max(values, key=lambda b: b.rank, default=Blocks.NOTHING)


def strongest(levels: Iterable[LockLevel]) -> LockLevel | None:
    return max(levels, key=lambda level: level.rank, default=None)


class DataEffect(StrEnum):
    """What a statement does to a relation's data."""

    REWRITE = "rewrite"  # a new copy of the table (and its indexes): pg_class.relfilenode changes
    EMPTIES = "empties"  # TRUNCATE: a new, empty file
    SCAN = "scan"  # reads every row under the lock: validation, index build
    WRITES_ROWS = "writes rows"  # INSERT / UPDATE / DELETE: row locks until commit
    READS = "reads"  # a query reads it
    NONE = "none"  # catalog only


class When(StrEnum):
    """When a statement takes a lock."""

    ALWAYS = "always"
    PER_ROW = "per row"  # row triggers, foreign-key checks, functions called for each row
    SOME_PATHS = "some paths"  # inside a branch, loop or exception handler of a function body

    def within(self, outer: When) -> When:
        """A lock taken `self` inside code that itself runs `outer`."""
        return max(self, outer, key=lambda w: list(When).index(w))


@dataclass(frozen=True)
class Server:
    """The server a plan is for: `server_version_num` (150004, 180001, ...)."""

    version_num: int

    @property
    def major(self) -> int:
        return self.version_num // 10000

    def since(self, major: int) -> bool | None:
        """Whether a behaviour that changed in `major` applies. The rules are verified on 15 and 18
        (tests/test_lock_plan.py); for a release between them a change is not known: None."""
        if VERIFIED[0] < self.major < VERIFIED[1]:
            return None
        return self.major >= major

    def when_since(self, major: int, when: When) -> When | None:
        """How surely a lock that exists from `major` on is taken: never (None), always, or, on an
        unverified release, on some paths."""
        applies = self.since(major)
        if applies is None:
            return When.SOME_PATHS.within(when)
        return when if applies else None

    def when_before(self, major: int, when: When) -> When | None:
        """The same for a lock that went away in `major`."""
        applies = self.since(major)
        if applies is None:
            return When.SOME_PATHS.within(when)
        return None if applies else when


NEWEST = Server(180000)  # the plan's server when no database is given
VERIFIED = (15, 18)  # the majors the reality check runs on


# AlterTableGetLockLevel (tablecmds.c), PostgreSQL 15 and 18. Subcommands missing here make
# the statement "unknown": the plan assumes ACCESS EXCLUSIVE rather than guess. Left out on
# purpose: SET TABLESPACE and SET ACCESS METHOD (a rewrite, or nothing when the table is
# already there), SET EXPRESSION (PostgreSQL 17 on), inheritance, typed tables, foreign tables.
_SUE, _SRE, _AEL = _L.SHARE_UPDATE_EXCLUSIVE, _L.SHARE_ROW_EXCLUSIVE, _L.ACCESS_EXCLUSIVE
ALTER_TABLE_LEVEL: dict[At, LockLevel] = {
    At.AT_AddColumn: _AEL,
    At.AT_ColumnDefault: _AEL,
    At.AT_DropNotNull: _AEL,
    At.AT_SetNotNull: _AEL,
    At.AT_DropExpression: _AEL,
    At.AT_SetStatistics: _SUE,
    At.AT_SetOptions: _SUE,
    At.AT_ResetOptions: _SUE,
    At.AT_SetStorage: _AEL,
    At.AT_SetCompression: _AEL,
    At.AT_DropColumn: _AEL,
    At.AT_AddConstraint: _AEL,  # a foreign key: SHARE ROW EXCLUSIVE (see `constraint_level`)
    At.AT_ValidateConstraint: _SUE,
    At.AT_DropConstraint: _AEL,
    At.AT_AlterConstraint: _AEL,
    At.AT_AlterColumnType: _AEL,
    At.AT_ChangeOwner: _AEL,
    At.AT_ClusterOn: _SUE,
    At.AT_DropCluster: _SUE,
    At.AT_SetLogged: _AEL,
    At.AT_SetUnLogged: _AEL,
    At.AT_EnableTrig: _SRE,
    At.AT_EnableAlwaysTrig: _SRE,
    At.AT_EnableReplicaTrig: _SRE,
    At.AT_DisableTrig: _SRE,
    At.AT_EnableTrigAll: _SRE,
    At.AT_DisableTrigAll: _SRE,
    At.AT_EnableTrigUser: _SRE,
    At.AT_DisableTrigUser: _SRE,
    At.AT_EnableRule: _AEL,
    At.AT_EnableAlwaysRule: _AEL,
    At.AT_EnableReplicaRule: _AEL,
    At.AT_DisableRule: _AEL,
    At.AT_ReplicaIdentity: _AEL,
    At.AT_EnableRowSecurity: _AEL,
    At.AT_DisableRowSecurity: _AEL,
    At.AT_ForceRowSecurity: _AEL,
    At.AT_NoForceRowSecurity: _AEL,
    At.AT_AddIdentity: _AEL,
    At.AT_SetIdentity: _AEL,
    At.AT_DropIdentity: _AEL,
    At.AT_AttachPartition: _SUE,  # on the parent; the partition: ACCESS EXCLUSIVE
}

# Storage parameters whose change takes SHARE UPDATE EXCLUSIVE (reloptions.c, `lockmode` of each
# option); any other, and every view option, takes ACCESS EXCLUSIVE.
SUE_RELOPTIONS = frozenset(
    {
        "fillfactor",
        "toast_tuple_target",
        "parallel_workers",
        "vacuum_index_cleanup",
        "vacuum_truncate",
        "log_autovacuum_min_duration",
        "autovacuum_enabled",
        "autovacuum_vacuum_threshold",
        "autovacuum_vacuum_insert_threshold",
        "autovacuum_analyze_threshold",
        "autovacuum_vacuum_cost_delay",
        "autovacuum_vacuum_cost_limit",
        "autovacuum_freeze_min_age",
        "autovacuum_freeze_max_age",
        "autovacuum_freeze_table_age",
        "autovacuum_multixact_freeze_min_age",
        "autovacuum_multixact_freeze_max_age",
        "autovacuum_multixact_freeze_table_age",
        "autovacuum_vacuum_scale_factor",
        "autovacuum_vacuum_insert_scale_factor",
        "autovacuum_analyze_scale_factor",
        "autovacuum_vacuum_max_threshold",
    }
)


def reloptions_level(names: Iterable[str]) -> LockLevel:
    """The lock of `ALTER TABLE ... SET (...)` / `RESET (...)` for these option names."""
    plain = [name.rpartition(".")[2] if name.startswith("toast.") else name for name in names]
    return _SUE if plain and all(name in SUE_RELOPTIONS for name in plain) else _AEL


@dataclass(frozen=True)
class Take:
    """One lock a statement takes."""

    relation: str  # schema.name
    level: LockLevel
    when: When = When.ALWAYS


@dataclass(frozen=True)
class Effect:
    relation: str
    effect: DataEffect


@dataclass(frozen=True)
class Analysis:
    """What one statement locks and does, from its parse tree and what is known of the database."""

    command: str = ""  # e.g. "ALTER TABLE ... ADD COLUMN"
    takes: tuple[Take, ...] = ()
    effects: tuple[Effect, ...] = ()
    creates: tuple[str, ...] = ()  # relations it creates: nobody else can see them before commit
    unknown: tuple[str, ...] = ()  # why (part of) it could not be classified: assume ACCESS EXCLUSIVE

    def plus(self, *others: Analysis) -> Analysis:
        """This analysis and others' locks, effects and unknowns together (the command stays this one's)."""
        parts = (self, *others)
        return Analysis(
            self.command,
            _unique(t for a in parts for t in a.takes),
            _unique(e for a in parts for e in a.effects),
            _unique(c for a in parts for c in a.creates),
            _unique(u for a in parts for u in a.unknown),
        )


def _unique(items: Iterable[T]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(items))
