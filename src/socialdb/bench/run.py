"""`socialdb bench`: build both schemas on one server, load the same data, measure, report."""

from __future__ import annotations

import os
import platform
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

import psycopg

from socialdb.bench import Say, generate, migrate_up, pgbench, results, rounds, workload
from socialdb.bench.generate import Timing
from socialdb.bench.workload import Measure
from socialdb.db import create_database, drop_database, with_database
from socialdb.migrate import runner
from socialdb.scripts.splitting import split

OURS, SPEC = "socialdb_bench_ours", "socialdb_bench_spec"


@dataclass(frozen=True)
class Generated:
    """Both databases loaded: how long each step took, and what to say about it."""

    scale: float
    timings: tuple[Timing, ...]
    notes: dict[str, str]

    @property
    def seconds(self) -> float:
        return sum(t.seconds for t in self.timings)


@dataclass(frozen=True)
class Options:
    seconds: float = 10.0  # per timed operation, per schema, per round
    rounds: int = 3
    migrate_runs: int = 5
    dbmate: Path | None = None
    pgbench: Path | None = None
    shares: tuple[float, ...] = ()  # of first contacts, each four more webhook cells (issue 22)
    only: str | None = None  # only the operations whose name holds this text (and no migrate up)


# The first-contact cells a run measures unless told (issue 22): from this scale up only, so that
# CI's smoke run (scale 0.01) stays as short as it was.
FIRST_CONTACT_SHARES = (1.0, 0.5, 0.05)
FIRST_CONTACT_SCALE = 0.05


def default_shares(scale: float) -> tuple[float, ...]:
    return FIRST_CONTACT_SHARES if scale >= FIRST_CONTACT_SCALE else ()


def shares(percents: list[float]) -> tuple[float, ...]:
    """Percents as shares, each once, in the order given; 0 for none."""
    return tuple(dict.fromkeys(p / 100 for p in percents if p))


@dataclass(frozen=True)
class Run:
    scale: float
    server: str
    options: Options
    generated: Generated
    measures: tuple[Measure, ...]
    notes: dict[str, str]
    measure_seconds: float

    @property
    def load_rates(self) -> dict[str, float]:
        return {t.step: t.rate for t in self.generated.timings if t.rows}


def url_for(admin_url: str, database: str) -> str:
    return with_database(admin_url, database)


def generate_data(admin_url: str, scale: float, report: Say, progress: Callable[[str, int, int], None]) -> Generated:
    """Recreate both databases, migrate them, load the same data into both, build both summaries."""
    started = time.perf_counter()
    for name in (OURS, SPEC):
        _recreate(admin_url, name)
    runner.up(url_for(admin_url, OURS))
    notes = {"spec skipped": _apply_spec_schema(url_for(admin_url, SPEC))}
    timings = [Timing("create and migrate both databases", 0, time.perf_counter() - started)]
    report(f"loading scale {scale:g} into {OURS} and {SPEC}")
    with psycopg.connect(url_for(admin_url, OURS)) as ours, psycopg.connect(url_for(admin_url, SPEC)) as spec:
        timings += generate.load(ours, spec, scale, progress)
    # The first summary after the load: every day is new. The load ran with triggers off,
    # so no day is noted as changed: ours is built by the rebuild, which notes every day.
    for name, schema, build in (
        (OURS, "socialdb", "SELECT rebuild_analytics_daily_summary()"),
        (SPEC, "spec", "REFRESH MATERIALIZED VIEW analytics_daily_summary"),
    ):
        with psycopg.connect(url_for(admin_url, name), autocommit=True) as conn:
            t0 = time.perf_counter()
            conn.execute(build.encode())
            built = time.perf_counter() - t0
            notes[f"daily summary built after the load ({schema})"] = f"{built:.1f} s"
            timings.append(Timing(f"daily summary, {schema}", 0, built))
            t0 = time.perf_counter()
            conn.execute("VACUUM (ANALYZE)")
            timings.append(Timing(f"VACUUM (ANALYZE), {schema}", 0, time.perf_counter() - t0))
    return Generated(scale, tuple(timings), notes)


def measure(admin_url: str, generated: Generated, options: Options, report: Say) -> Run:
    """Every operation on both schemas in `options.rounds` interleaved rounds, then migrate up timed."""
    started = time.perf_counter()
    urls = {"socialdb": url_for(admin_url, OURS), "spec": url_for(admin_url, SPEC)}
    with psycopg.connect(urls["socialdb"]) as conn:
        server = str(conn.execute("SELECT version()").fetchone()[0]).split(" on ")[0]  # type: ignore[index]
    s = workload.sample(urls["socialdb"])
    notes = dict(generated.notes)
    targets = 0
    if options.pgbench is None:
        notes["pgbench"] = "not found (PostgreSQL's client tools, or --pgbench PATH): its lines are skipped"
    else:
        ids = workload.platform_conversation_ids(urls["socialdb"], [c for c, _, _ in s.conversations])
        targets = min(pgbench.create_targets(url, s.conversations, ids) for url in urls.values())
        notes["pgbench"] = f"{options.pgbench} ({pgbench.version(options.pgbench)}), -M prepared"
    batch = max(int(5000 * min(generated.scale, 1)), 50)
    context = rounds.Context(urls, s, options.seconds, 0, batch, options.pgbench, targets, options.shares, options.only)
    done = rounds.run_rounds(context, options.rounds, report)
    notes.update(done.notes)
    if options.shares:
        notes["first contact"] = (
            "in the cells named so, that share of the messages opens a conversation (an id never seen, on"
            " the drawn conversation's account); the rest go to the sampled conversations"
        )
    migrate = () if options.only else migrate_up.time_migrate(admin_url, options.migrate_runs, report, options.dbmate)
    measures = (*done.measures, *migrate)
    return Run(generated.scale, server, options, generated, measures, notes, time.perf_counter() - started)


def as_result(run: Run, command: str, date: datetime) -> results.Result:
    """The run as `performance.json` holds it."""
    timed = [m for m in run.measures if m.round]
    return results.Result(
        scale=run.scale, date=date.strftime("%Y-%m-%dT%H:%M:%SZ"), command=command, machine=machine(),
        server=run.server, rounds=run.options.rounds, seconds=run.options.seconds,
        sizes=generate.sizes(run.scale), generation=run.generated.timings,
        generation_seconds=run.generated.seconds, measure_seconds=run.measure_seconds,
        total_seconds=run.generated.seconds + run.measure_seconds,
        figures=tuple(results.Figure.of(m) for m in timed), notes=run.notes,
    )  # fmt: skip


def _apply_spec_schema(url: str) -> str:
    """The spec's 13 files as written; CREATE EXTENSION of one the server lacks is skipped (and reported)."""
    skipped: list[str] = []
    folder = resources.files("socialdb.bench").joinpath("spec_schema")
    with psycopg.connect(url, autocommit=True) as conn:
        available = {r[0] for r in conn.execute("SELECT name FROM pg_available_extensions")}
        for path in sorted(Path(str(folder)).glob("*.sql")):
            for statement in split(path.read_text(encoding="utf-8"), path.name, 1):
                match = re.match(r'CREATE EXTENSION IF NOT EXISTS "([^"]+)"', statement.sql)
                if match and match.group(1) not in available:
                    skipped.append(match.group(1))
                    continue
                conn.execute(statement.sql.encode())
    return ", ".join(skipped) or "none"


def _recreate(admin_url: str, name: str) -> None:
    drop_database(admin_url, name)
    create_database(admin_url, name)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(re.findall(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[0])
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, IndexError):
        memory = "unknown memory"
    return f"{cpu}, {os.cpu_count()} cores, {memory}, {platform.system()} {platform.release()}"


def admin_database(url: str) -> str:
    """The URL's server with its maintenance database, for CREATE / DROP DATABASE."""
    return with_database(url, "postgres")
