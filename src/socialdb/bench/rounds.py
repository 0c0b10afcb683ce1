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

from socialdb.bench import pgbench, workload
from socialdb.bench.workload import Measure, Sample
from socialdb.scripts.options import Report

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


def _webhook(connections: int) -> Operation:
    def run(c: Context, s: str) -> Outcome:
        tag = f"w{connections}-{s}-r{c.round}"
        return Outcome(workload.webhook_ingest(c.urls[s], s, c.sample, c.seconds, connections, tag))

    return Operation(workload.webhook_name(connections), run)


def _pgbench(connections: int) -> Operation:
    name = workload.webhook_name(connections) + PGBENCH

    def run(c: Context, s: str) -> Outcome:
        assert c.pgbench is not None
        seed = 1000 * c.round + connections  # both schemas draw the same conversations in a round
        job = pgbench.Job(c.pgbench, c.urls[s], s, connections, max(1, math.ceil(c.seconds)), c.targets, seed)
        return Outcome(pgbench.run(job, name)[0])

    return Operation(name, run, needs_pgbench=True)


def _batched(c: Context, s: str) -> Outcome:
    return Outcome(workload.batch_ingest(c.urls[s], s, c.sample, 10, c.batch, f"b-{s}-r{c.round}"))


def _events(c: Context, s: str) -> Outcome:
    return Outcome(workload.record_events(c.urls[s], s, c.sample, 10, c.batch, days_ago=c.round))


def _refresh(every_day: bool) -> Callable[[Context, str], Outcome]:
    def run(c: Context, s: str) -> Outcome:
        measure, slowest = workload.refresh(c.urls[s], s, c.sample, every_day)
        return Outcome(measure, slowest)

    return run


def operations(batch: int) -> list[Operation]:
    """Every measured operation, in the order a round runs them (the events before the refresh that sums them)."""
    return [
        *(_read(name) for name in workload.READS),
        _webhook(1),
        _pgbench(1),
        _webhook(8),
        _pgbench(8),
        Operation(workload.batch_name(batch), _batched),
        Operation(workload.events_name(batch), _events),
        Operation(workload.REFRESH, _refresh(False)),
        Operation(workload.REBUILD, _refresh(True)),
    ]


@dataclass(frozen=True)
class Rounds:
    measures: tuple[Measure, ...]  # each with its round
    notes: dict[str, str]
    round_seconds: tuple[float, ...]


def run_rounds(base: Context, rounds: int, report: Report) -> Rounds:
    """Each round: every operation on both schemas, in `order(round)`; measures carry their round."""
    chosen = [op for op in operations(base.batch) if base.pgbench is not None or not op.needs_pgbench]
    measures: list[Measure] = []
    slowest: dict[str, float] = {}
    durations: list[float] = []
    for r in range(1, rounds + 1):
        started = time.perf_counter()
        context = replace(base, round=r)
        report(f"round {r} of {rounds}: {' then '.join(order(r))} for each operation")
        for op in chosen:
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


def expected_seconds(scale: float, seconds: float, rounds: int, with_pgbench: bool, migrate_runs: int) -> float:
    """A rough forecast of `bench run` on the 2-core machine of docs/performance.md: loading and building
    take about 5 min per unit of scale; a round, each timed operation twice plus about 150 s per unit of
    scale for the batches and the summary's refreshes and rebuild; migrate up about 0.6 s a run of four."""
    timed = len(workload.READS) + 2
    per_round = 2 * (timed * seconds + (2 * max(1, math.ceil(seconds)) if with_pgbench else 0)) + 150 * scale
    return 10 + 300 * scale + rounds * per_round + migrate_runs * 4 * 0.6
