"""`socialdb bench`: build both schemas on one server, load the same data, measure, report."""

from __future__ import annotations

import os
import platform
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import psycopg

from socialdb.bench import generate, migrate_up, workload
from socialdb.bench.workload import Measure
from socialdb.db import create_database, drop_database, with_database
from socialdb.migrate import runner
from socialdb.migrate.statements import split

OURS, SPEC = "socialdb_bench_ours", "socialdb_bench_spec"
Report = Callable[[str], None]


@dataclass
class Run:
    scale: float
    server: str = ""
    load_rates: dict[str, float] = field(default_factory=dict)
    measures: list[Measure] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)


def url_for(admin_url: str, database: str) -> str:
    return with_database(admin_url, database)


def generate_data(admin_url: str, scale: float, report: Report, progress: Callable[[str, int, int], None]) -> Run:
    """Recreate both databases, migrate them, load the same data into both."""
    run = Run(scale)
    for name in (OURS, SPEC):
        _recreate(admin_url, name)
    runner.up(url_for(admin_url, OURS))
    run.notes["spec skipped"] = _apply_spec_schema(url_for(admin_url, SPEC))
    report(f"loading scale {scale:g} into {OURS} and {SPEC}")
    with psycopg.connect(url_for(admin_url, OURS)) as ours, psycopg.connect(url_for(admin_url, SPEC)) as spec:
        run.load_rates = generate.load(ours, spec, scale, progress)
    # The first summary after the load: every day is new. The load ran with triggers off,
    # so no day is noted as changed: ours is built by the rebuild, which notes every day.
    for name, schema, build in (
        (OURS, "socialdb", "SELECT rebuild_analytics_daily_summary()"),
        (SPEC, "spec", "REFRESH MATERIALIZED VIEW analytics_daily_summary"),
    ):
        with psycopg.connect(url_for(admin_url, name), autocommit=True) as conn:
            t0 = time.perf_counter()
            conn.execute(build.encode())
            run.notes[f"daily summary built after the load ({schema})"] = f"{time.perf_counter() - t0:.1f} s"
            conn.execute("VACUUM (ANALYZE)")
    return run


def measure(
    admin_url: str, run: Run, seconds: float, report: Report, migrate_runs: int = 5, dbmate: Path | None = None
) -> Run:
    ours, spec = url_for(admin_url, OURS), url_for(admin_url, SPEC)
    with psycopg.connect(ours) as conn:
        run.server = str(conn.execute("SELECT version()").fetchone()[0]).split(" on ")[0]  # type: ignore[index]
    s = workload.sample(ours)
    batch = max(int(5000 * min(run.scale, 1)), 50)
    for schema, url in (("spec", spec), ("socialdb", ours)):
        report(f"measuring the {schema} schema")
        run.measures += workload.reads(url, schema, s, seconds)
        run.measures.append(workload.webhook_ingest(url, schema, s, seconds, 1, f"w1-{schema}"))
        run.measures.append(workload.webhook_ingest(url, schema, s, seconds, 8, f"w8-{schema}"))
        run.measures.append(workload.batch_ingest(url, schema, s, 10, batch, f"b-{schema}"))
        run.measures.append(workload.record_events(url, schema, s, 10, batch))
        for every_day in (False, True):
            refreshed, slowest_read = workload.refresh(url, schema, s, every_day)
            run.measures.append(refreshed)
            run.notes[f"slowest summary read during {refreshed.operation} ({schema})"] = f"{slowest_read:.1f} ms"
    run.measures += migrate_up.time_migrate(admin_url, migrate_runs, report, dbmate)
    return run


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
