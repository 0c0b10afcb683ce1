"""A benchmark run as figures: per operation, schema and round; medians over the rounds; JSON on disk.

`bench run` writes `performance.json` beside its report (scale, date, machine, the time of each
load step and of the whole run, and every operation's figures in every round), which
`bench growth` reads to show how each operation's cost grows with the data (issue 16).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from socialdb.bench.generate import Timing
from socialdb.bench.workload import Measure
from socialdb.errors import SocialdbError

FORMAT = "socialdb-bench/1"
SPEC, OURS = "spec", "socialdb"


@dataclass(frozen=True)
class Figure:
    """One operation on one schema in one round."""

    operation: str
    schema: str
    round: int
    calls: int
    rows: int
    seconds: float
    rate: float  # rows (calls, messages, events) per second
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @classmethod
    def of(cls, m: Measure) -> Figure:
        return cls(m.operation, m.schema, m.round, m.calls, m.rows, m.seconds, m.rate,
                   m.percentile(50), m.percentile(95), m.percentile(99))  # fmt: skip


@dataclass(frozen=True)
class Result:
    """A whole `bench run`, as `performance.json` holds it."""

    scale: float
    date: str  # UTC, ISO 8601
    command: str
    machine: str
    server: str
    rounds: int
    seconds: float  # per timed operation
    sizes: dict[str, int]
    generation: tuple[Timing, ...]
    generation_seconds: float
    measure_seconds: float
    total_seconds: float
    figures: tuple[Figure, ...]
    notes: dict[str, str]


def dump(result: Result) -> str:
    data = {"format": FORMAT, **asdict(result)}
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def load(path: Path) -> Result:
    """A result file; a SocialdbError naming the file when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SocialdbError(f"{path}: cannot read it ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise SocialdbError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SocialdbError(f'{path}: not a socialdb bench result (no "format": "{FORMAT}")')
    try:
        return _result(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise SocialdbError(f"{path}: a bench result with a missing or malformed field ({exc!r})") from exc


def _result(data: dict[str, Any]) -> Result:
    fields = {k: v for k, v in data.items() if k != "format"}
    return Result(
        scale=float(fields["scale"]), date=str(fields["date"]), command=str(fields["command"]),
        machine=str(fields["machine"]), server=str(fields["server"]), rounds=int(fields["rounds"]),
        seconds=float(fields["seconds"]), sizes={str(k): int(v) for k, v in fields["sizes"].items()},
        generation=tuple(Timing(**t) for t in fields["generation"]),
        generation_seconds=float(fields["generation_seconds"]), measure_seconds=float(fields["measure_seconds"]),
        total_seconds=float(fields["total_seconds"]), figures=tuple(Figure(**f) for f in fields["figures"]),
        notes={str(k): str(v) for k, v in fields["notes"].items()},
    )  # fmt: skip


@dataclass(frozen=True)
class Median:
    """One operation on one schema: the median of each figure over the rounds."""

    calls: float
    rate: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Comparison:
    """One operation on both schemas: medians, and ours over the spec's throughput in each round."""

    operation: str
    medians: dict[str, Median]
    ratios: tuple[float, ...]  # round by round
    rounds: tuple[int, ...]

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.ratios) if self.ratios else 0.0


def median_of(figures: list[Figure]) -> Median:
    def mid(attribute: str) -> float:
        return float(statistics.median(getattr(f, attribute) for f in figures))

    return Median(mid("calls"), mid("rate"), mid("p50_ms"), mid("p95_ms"), mid("p99_ms"))


def ratio(ours: float, spec: float) -> float:
    return ours / spec if spec else 0.0


def compare(figures: list[Figure]) -> list[Comparison]:
    """Each operation measured on both schemas, in the order first measured."""
    found: list[Comparison] = []
    for operation in dict.fromkeys(f.operation for f in figures):
        mine = [f for f in figures if f.operation == operation]
        by_round = {(f.round, f.schema): f for f in mine}
        rounds = sorted({f.round for f in mine if (f.round, SPEC) in by_round and (f.round, OURS) in by_round})
        if not rounds:
            continue
        ratios = tuple(ratio(by_round[(r, OURS)].rate, by_round[(r, SPEC)].rate) for r in rounds)
        medians = {s: median_of([f for f in mine if f.schema == s]) for s in (SPEC, OURS)}
        found.append(Comparison(operation, medians, ratios, tuple(rounds)))
    return found
