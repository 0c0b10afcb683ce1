"""What a run tells as it goes: typed events, each with the line a person reads (`str(event)`).

The runner never prints. It hands each event to its caller's callback, a `Listener`: the CLI
writes `str(event)` as a line, or draws its progress display by the event's type (cli/progress.py);
a library caller may do either, or keep the events (`report=events.append`). `print` is a
listener too: it writes the same lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class _Step:
    """A migration about to run: the `index`-th of the `total` this run has to run (from 1)."""

    version: int
    file: str
    index: int
    total: int


@dataclass(frozen=True)
class Applying(_Step):
    def __str__(self) -> str:
        return f"applying {self.file}"


@dataclass(frozen=True)
class RollingBack(_Step):
    def __str__(self) -> str:
        return f"rolling back {self.file}"


@dataclass(frozen=True)
class _Done:
    """A migration run and committed, in the milliseconds the history recorded."""

    version: int
    file: str
    ms: int


@dataclass(frozen=True)
class Applied(_Done):
    def __str__(self) -> str:
        return f"applied {self.file} in {self.ms} ms"


@dataclass(frozen=True)
class RolledBack(_Done):
    def __str__(self) -> str:
        return f"rolled back {self.file} in {self.ms} ms"


@dataclass(frozen=True)
class WaitingForLock:
    """Another run holds the migration lock (said once per wait): who, as the lock tells it."""

    holder: str

    def __str__(self) -> str:
        return f"waiting for the migration lock, held by {self.holder}"


@dataclass(frozen=True)
class Retrying:
    """A migration (or statement) did not get its locks in lock_timeout: it is tried again after `delay_s`."""

    file: str
    attempt: int
    attempts: int
    blockers: tuple[str, ...]  # the sessions that held the locks, as pg_stat_activity named them
    delay_s: float

    def __str__(self) -> str:
        return (
            f"{self.file}: lock not available (attempt {self.attempt}/{self.attempts}),"
            f" blocked by {blocked_by(self.blockers)}; retrying in {self.delay_s:.1f}s"
        )


@dataclass(frozen=True)
class Note:
    """Anything else worth a line: nothing to do, a history table upgraded, an index rebuilt, ..."""

    text: str

    def __str__(self) -> str:
        return self.text


Event = Applying | RollingBack | Applied | RolledBack | WaitingForLock | Retrying | Note
Listener = Callable[[Event], None]


def silent(_: Event) -> None:
    """The listener that drops every event: the library's default."""


def as_lines(say: Callable[[str], None]) -> Listener:
    """A listener that hands each event's line to `say`."""
    return lambda event: say(str(event))


def blocked_by(blockers: Sequence[str]) -> str:
    """The sessions that held the locks, for a person; a blocker may be gone before it is named."""
    return "; ".join(blockers) if blockers else "a session that released its lock before it could be named"
