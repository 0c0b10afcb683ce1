"""How a run behaves: its modes (enums, used as the CLI's choices too) and its options."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from socialdb.errors import UsageError

E = TypeVar("E", bound=StrEnum)


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


class ResolveAction(StrEnum):
    """How `migrate resolve` settles a non-transactional migration that failed midway."""

    RETRY = "retry"  # run it again from its first statement
    MARK_APPLIED = "mark-applied"  # record it as done (finished by hand)


class LockMode(StrEnum):
    """How a run holds the migration lock (docs/runner.md)."""

    ADVISORY = "advisory"  # a session advisory lock on a connection of its own
    TABLE = "table"  # a lease row in migrations_lock; works through PgBouncer transaction pooling


def choice(kind: type[E], value: str, what: str) -> E:
    """The member of `kind` named by `value`; a UsageError naming it and the choices otherwise.

    For callers of the library that pass plain strings; the CLI hands the enums over as they are.
    """
    try:
        return kind(value)
    except ValueError:
        raise UsageError(f"{what} {value!r}: use {' or '.join(m.value for m in kind)}") from None


@dataclass(frozen=True)
class RunOptions:
    lock_timeout_ms: int = 1000
    statement_timeout_ms: int = 0  # 0: off
    lock_retries: int = 10  # attempts at a migration (or statement) that cannot get its locks
    retry_base_s: float = 0.5  # backoff: base * 2^(attempt-1), capped, times a jitter in [0.5, 1]
    retry_cap_s: float = 10.0
    lock_wait_s: float = 60.0  # how long to wait for another runner's lock
    lock_mode: LockMode = LockMode.ADVISORY


@dataclass(frozen=True)
class HistoryTable:
    """Where the runner keeps its history: a table name, in a schema or (None) the search_path's first.

    The platform's own migrations name `migrations` in their SQL (018's grants, `maintain`'s
    lock), so only the default goes with them (runner.history_for).
    """

    name: str = "migrations"
    schema: str | None = None

    def __str__(self) -> str:
        return self.name if self.schema is None else f"{self.schema}.{self.name}"


DEFAULT_HISTORY = HistoryTable()
