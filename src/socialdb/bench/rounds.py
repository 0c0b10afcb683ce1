"""Every operation in rounds, the two schemas interleaved (issue 15: the median ratio of at least three runs).

Within a round each operation runs on both schemas back to back, the spec's first in odd rounds and
ours first in even ones, so that whatever the machine does at a moment, and whatever one run leaves
behind for the next (caches, checkpoints, autovacuum), falls on both alike.

The operations that write do the same work in every round: messages get ids of their own per round
(`tag`), the same conversations; each round's events land on a day of their own (today minus the
round), so every refresh recomputes as many events; the rebuild compares every day each time. The
data grows a little from round to round (at scale 1, about 1% per round), on both schemas alike.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from socialdb.bench import Say, pgbench, workload
from socialdb.bench.workload import Measure, Sample

SCHEMAS = ("spec", "socialdb")
PGBENCH = " (pgbench)"


@dataclass(frozen=True)
class Context:
    """What every operation of a round needs."""

    urls: dict[str, str]  # schema -> database URL
    sample: Sample
    seconds: float
    round: int
    batch: int
    pgbench: Path | None
    targets: int  # rows of pgbench's lookup table
    shares: tuple[float, ...] = ()  # the webhook's cells with a share of first contacts (issue 22)
    only: str | None = None  # run only the operations whose name holds this text


@dataclass(frozen=True)
class Outcome:
    measure: Measure
    slowest_read_ms: float | None = None  # for the refreshes: the slowest summary read meanwhile


@dataclass(frozen=True)
class Operation:
    name: str
    run: Callable[[Context, str], Outcome]
    needs_pgbench: bool = False


def order(round_number: int) -> tuple[str, str]:
    """The schemas' order in a round (rounds count from 1): the spec's first in odd rounds."""
    return SCHEMAS if round_number % 2 else (SCHEMAS[1], SCHEMAS[0])


def schedule(operations: list[str], rounds: int) -> list[tuple[int, str, str]]:
    """(round, operation, schema) in the order they run."""
    return [(r, op, schema) for r in range(1, rounds + 1) for op in operations for schema in order(r)]


def _read(name: str) -> Operation:
    return Operation(name, lambda c, s: Outcome(workload.read(c.urls[s], s, c.sample, c.seconds, name)))


def _webhook(connections: int, share: float = 0.0) -> Operation:
    def run(c: Context, s: str) -> Outcome:
        tag = f"w{connections}-{s}-r{c.round}" + (f"-f{_percent(share)}" if share else "")
        return Outcome(workload.webhook_ingest(c.urls[s], s, c.sample, c.seconds, connections, tag, share))

    return Operation(workload.webhook_name(connections, share), run)


def _pgbench(connections: int, share: float = 0.0) -> Operation:
    name = workload.webhook_name(connections, share) + PGBENCH

    def run(c: Context, s: str) -> Outcome:
        assert c.pgbench is not None
        # Both schemas draw the same conversations in a round; each cell draws message ids of its own.
        seed = 1000 * c.round + connections + 100_000 * _percent(share)
        seconds = max(1, math.ceil(c.seconds))
        job = pgbench.Job(c.pgbench, c.urls[s], s, connections, seconds, c.targets, seed, share)
        return Outcome(pgbench.run(job, name)[0])

    return Operation(name, run, needs_pgbench=True)


def _percent(share: float) -> int:
    return round(share * 100)


def _batched(c: Context, s: str) -> Outcome:
    return Outcome(workload.batch_ingest(c.urls[s], s, c.sample, 10, c.batch, f"b-{s}-r{c.round}"))


def _events(c: Context, s: str) -> Outcome:
    return Outcome(workload.record_events(c.urls[s], s, c.sample, 10, c.batch, days_ago=c.round))


def _refresh(every_day: bool) -> Callable[[Context, str], Outcome]:
    def run(c: Context, s: str) -> Outcome:
        measure, slowest = workload.refresh(c.urls[s], s, c.sample, every_day)
        return Outcome(measure, slowest)

    return run


def operations(batch: int, shares: tuple[float, ...] = ()) -> list[Operation]:
    """Every measured operation, in the order a round runs them (the events before the refresh that sums them);
    for each share of first contacts, the webhook's four cells again."""
    return [
        *(_read(name) for name in workload.READS),
        *(op for share in (0.0, *shares) for op in _webhook_cells(share)),
        Operation(workload.batch_name(batch), _batched),
        Operation(workload.events_name(batch), _events),
        Operation(workload.REFRESH, _refresh(False)),
        Operation(workload.REBUILD, _refresh(True)),
    ]


def _webhook_cells(share: float) -> list[Operation]:
    return [_webhook(1, share), _pgbench(1, share), _webhook(8, share), _pgbench(8, share)]


def chosen(base: Context) -> list[Operation]:
    """The operations a run measures: those pgbench allows, and of them those `only` names, if given."""
    return [
        op
        for op in operations(base.batch, base.shares)
        if (base.pgbench is not None or not op.needs_pgbench) and (base.only is None or base.only in op.name)
    ]


@dataclass(frozen=True)
class Rounds:
    measures: tuple[Measure, ...]  # each with its round
    notes: dict[str, str]
    round_seconds: tuple[float, ...]


def run_rounds(base: Context, rounds: int, report: Say) -> Rounds:
    """Each round: every operation on both schemas, in `order(round)`; measures carry their round."""
    ops = chosen(base)
    measures: list[Measure] = []
    slowest: dict[str, float] = {}
    durations: list[float] = []
    for r in range(1, rounds + 1):
        started = time.perf_counter()
        context = replace(base, round=r)
        report(f"round {r} of {rounds}: {' then '.join(order(r))} for each operation")
        for op in ops:
            for schema in order(r):
                outcome = op.run(context, schema)
                measures.append(replace(outcome.measure, round=r))
                if outcome.slowest_read_ms is not None:
                    key = f"slowest summary read during {op.name} ({schema})"
                    slowest[key] = max(slowest.get(key, 0.0), outcome.slowest_read_ms)
        durations.append(time.perf_counter() - started)
        left = (rounds - r) * sum(durations) / len(durations)
        report(f"round {r} took {_duration(durations[-1])}" + (f"; about {_duration(left)} left" if left else ""))
    notes = {key + (f", over {rounds} rounds" if rounds > 1 else ""): f"{ms:.1f} ms" for key, ms in slowest.items()}
    return Rounds(tuple(measures), notes, tuple(durations))


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def expected_seconds(
    scale: float, seconds: float, rounds: int, with_pgbench: bool, migrate_runs: int, shares: int = 0
) -> float:
    """A rough forecast of `bench run` on the 2-core machine of docs/performance.md: loading and building
    take about 5 min per unit of scale; a round, each timed operation twice plus about 150 s per unit of
    scale for the batches and the summary's refreshes and rebuild; migrate up about 0.6 s a run of four.
    `shares`: how many shares of first contacts, each two more webhook cells and two more pgbench ones."""
    timed = len(workload.READS) + 2 * (1 + shares)
    pgbench_cells = 2 * (1 + shares) * max(1, math.ceil(seconds)) if with_pgbench else 0
    per_round = 2 * (timed * seconds + pgbench_cells) + 150 * scale
    return 10 + 300 * scale + rounds * per_round + migrate_runs * 4 * 0.6
