"""`socialdb bench citus`: the hot paths on one server and on a Citus cluster, side by side (issue 26, item 5).

Two databases the caller made, empty: one on a single PostgreSQL server, one on a Citus
coordinator with its workers added (`tools/bench_citus.py` starts throwaway ones on this
machine; the package starts no server). Both are migrated by the URLs' user, as `bench run`
migrates its database, and loaded at once with the same rows (`generate.load_into`: one
generator, one seed, triggers off, secondary indexes rebuilt after) and the summary is built
in both; one server's is vacuumed and analyzed. Then, as production does, the coordinator's
tables are distributed after the load (`socialdb citus distribute`, which copies the local rows
into the shards) and vacuumed and analyzed there. The paths are measured as a login role in
socialdb_app (`ROLE`): Citus connects to the workers as the current role, and socialdb_app may
not log in.

Only the hot paths that run on a distributed schema today: the message and inbox pages, mark
read, search, the dashboard, webhook ingest (one message per transaction, 1 and 8 connections)
and batched, and recording events. Sign-up, connecting an account and creating a link are rare
writes, not hot paths (on Citus they run through migration 059's functions, one at a time across
the cluster): not measured.

In each round every path runs on both topologies back to back, one server first in odd rounds
and Citus first in even ones; the figures are the medians over the rounds, and the ratio is
Citus's throughput over one server's, round by round, then their median.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from socialdb.bench import Say, generate, workload
from socialdb.bench.generate import Target, Timing
from socialdb.bench.results import Figure
from socialdb.bench.run import machine
from socialdb.bench.workload import Measure, Sample
from socialdb.errors import SocialdbError

SINGLE, CITUS = "one server", "Citus"
TOPOLOGIES = (SINGLE, CITUS)
ROLE = "socialdb_bench_app"  # the login role in socialdb_app the paths run as, on both topologies
BEGIN, END = "<!-- bench-citus:begin -->", "<!-- bench-citus:end -->"
WEBHOOK_CONNECTIONS = (1, 8)
BATCHES = 5  # ingest batches and record_events calls per topology and round
NOT_MEASURED = (
    "sign-up, connecting an account, creating a link: rare writes, not hot paths; on Citus they go through"
    " 059's functions, one at a time across the cluster (decision 261)"
)


@dataclass(frozen=True)
class Options:
    scale: float = 1.0
    seconds: float = 6.0  # per timed path, per topology, per round (scale 1 in about 15 min)
    rounds: int = 3
    shard_count: int = 64  # socialdb citus distribute's default: production's
    # Messages per ingest batch and events per record_events call: `bench run`'s 5,000 at scale 1
    # (057's batch functions failed at 5,000 on Citus until 060 made them linear, decision 273).
    batch: int = 5000

    def command(self, output: Path | None = None) -> str:
        return (
            f"socialdb bench citus --scale {self.scale:g} --seconds {self.seconds:g} --rounds {self.rounds}"
            f" --shard-count {self.shard_count} --batch {self.batch}" + (f" --output {output}" if output else "")
        )


@dataclass(frozen=True)
class HotPath:
    """A measured hot path: its name and how it runs once on a topology's database in a round."""

    name: str
    run: Callable[[str, Sample, Options, int], Measure]  # (url, sample, options, round)


def paths(options: Options) -> list[HotPath]:
    """Every measured path, in the order a round runs them."""

    def read(name: str) -> HotPath:
        return HotPath(name, lambda url, s, o, r: workload.read(url, "socialdb", s, o.seconds, name, ROLE))

    def webhook(connections: int) -> HotPath:
        def run(url: str, s: Sample, o: Options, r: int) -> Measure:
            return workload.webhook_ingest(url, "socialdb", s, o.seconds, connections, f"cw{connections}-r{r}",
                                           role=ROLE)  # fmt: skip

        return HotPath(workload.webhook_name(connections), run)

    return [
        *(read(name) for name in workload.READS),
        *(webhook(n) for n in WEBHOOK_CONNECTIONS),
        HotPath(workload.batch_name(options.batch),
                lambda url, s, o, r: workload.batch_ingest(url, "socialdb", s, BATCHES, o.batch, f"cb-r{r}", ROLE)),
        HotPath(f"record events, {options.batch:,} per batch",
                lambda url, s, o, r: workload.record_events(url, "socialdb", s, BATCHES, o.batch, r, ROLE)),
    ]  # fmt: skip


def order(round_number: int) -> tuple[str, str]:
    """The topologies' order in a round (rounds count from 1): one server first in odd rounds."""
    return TOPOLOGIES if round_number % 2 else (TOPOLOGIES[1], TOPOLOGIES[0])


# -- preparing both databases ---------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    timings: tuple[Timing, ...]
    servers: dict[str, str]  # topology -> what it is (version, nodes, shards)

    @property
    def seconds(self) -> float:
        return sum(t.seconds for t in self.timings)


def check(single_url: str, coordinator_url: str) -> str:
    """Refuse in one line, before any change, unless the coordinator has Citus and a worker, the single
    server has no Citus in its database, and both databases are empty (no table in schema public).
    Returns the Citus version ("Citus 13.2.2")."""
    with psycopg.connect(coordinator_url, autocommit=True) as conn:
        found = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'citus'").fetchone()
        if found is None:
            raise SocialdbError("--coordinator-url: no citus extension in that database (CREATE EXTENSION citus)")
        version = str(conn.execute("SELECT citus_version()").fetchone()[0]).split(" on ")[0]  # type: ignore[index]
        workers = conn.execute("SELECT count(*) FROM citus_get_active_worker_nodes()").fetchone()
        if not workers or not workers[0]:
            raise SocialdbError("--coordinator-url: no active worker (SELECT citus_add_node(host, port))")
    with psycopg.connect(single_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone():
            raise SocialdbError("--single-url: that database has the citus extension; give one of a plain server")
    for flag, url in (("--single-url", single_url), ("--coordinator-url", coordinator_url)):
        with psycopg.connect(url, autocommit=True) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN"
                " ('r', 'p') AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass"
                " AND d.objid = c.oid AND d.deptype = 'e')"
            ).fetchone()
            if tables and tables[0]:
                raise SocialdbError(f"{flag}: the database has {tables[0]} table(s) in public; give an empty one")
    return version


def prepare(
    single_url: str, coordinator_url: str, options: Options, report: Say, progress: Callable[[str, int, int], None]
) -> Prepared:
    """Migrate both, load the same rows into both, build the summary (one server's vacuumed and analyzed);
    then distribute the coordinator's tables (after the load, as production does), vacuum and analyze
    them; the login role last."""
    from socialdb.migrate import citus as distribution
    from socialdb.migrate import citus_roles, runner

    version = check(single_url, coordinator_url)
    timings: list[Timing] = []
    for topology, url in ((SINGLE, single_url), (CITUS, coordinator_url)):
        t0 = time.perf_counter()
        runner.up(url)
        timings.append(Timing(f"migrate up, {topology}", 0, time.perf_counter() - t0))
    report(f"loading scale {options.scale:g} into both")
    with psycopg.connect(single_url) as single, psycopg.connect(coordinator_url) as coordinator:
        targets = [Target(SINGLE, single, {}, True), Target(CITUS + " (tables still local)", coordinator, {}, True)]
        timings += generate.load_into(targets, options.scale, progress)
    # The coordinator's VACUUM waits for its shards: the local tables are copied away, and the copies'.
    for topology, url, after in ((SINGLE, single_url, "VACUUM (ANALYZE)"), (CITUS, coordinator_url, None)):
        with psycopg.connect(url, autocommit=True) as conn:
            t0 = time.perf_counter()
            conn.execute("SELECT rebuild_analytics_daily_summary()")
            if after:
                conn.execute(after)
            step = "daily summary" + (f" and {after}" if after else "")
            timings.append(Timing(f"{step}, {topology}", 0, time.perf_counter() - t0))
    report(f"distributing the coordinator's tables ({options.shard_count} shards)")
    t0 = time.perf_counter()
    citus_roles.grant_node_logins(coordinator_url)
    distribution.distribute(coordinator_url, options.shard_count)
    timings.append(Timing("socialdb citus distribute (copies the rows into the shards)", 0, time.perf_counter() - t0))
    with psycopg.connect(coordinator_url, autocommit=True) as conn:
        t0 = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        timings.append(Timing("VACUUM (ANALYZE) after distributing, Citus", 0, time.perf_counter() - t0))
        nodes = conn.execute("SELECT count(*) FROM citus_get_active_worker_nodes()").fetchone()
    for url in (single_url, coordinator_url):
        _login_role(url)
    with psycopg.connect(single_url) as conn:
        server = str(conn.execute("SELECT version()").fetchone()[0]).split(" on ")[0]  # type: ignore[index]
    workers = nodes[0] if nodes else 0
    servers = {
        SINGLE: server,
        CITUS: f"{server}, {version}: a coordinator and {workers} worker(s), {options.shard_count} shards",
    }
    return Prepared(tuple(timings), servers)


def _login_role(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE socialdb_app").format(sql.Identifier(ROLE)))


# -- measuring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A path that failed on a topology: the round and the error's first line; not run there again."""

    path: str
    topology: str
    round: int
    error: str


def measure(urls: dict[str, str], options: Options, report: Say) -> tuple[list[Measure], list[Failure]]:
    """Every path on both topologies in `options.rounds` interleaved rounds; each measure's schema is its
    topology, its round its round. The sample is drawn on one server (same rows, same ids on Citus).
    A path that fails on a topology (a database error) is noted and skipped there in later rounds."""
    sample = workload.sample(urls[SINGLE])
    measures: list[Measure] = []
    failures: list[Failure] = []
    for r in range(1, options.rounds + 1):
        for path in paths(options):
            for topology in order(r):
                if any(f.path == path.name and f.topology == topology for f in failures):
                    continue
                report(f"round {r}: {path.name}, {topology}")
                try:
                    m = path.run(urls[topology], sample, options, r)
                except psycopg.Error as exc:
                    error = " ".join(str(exc).split("\n")[:2])
                    report(f"round {r}: {path.name} failed on {topology}: {error}")
                    failures.append(Failure(path.name, topology, r, error))
                    continue
                measures.append(replace(m, operation=path.name, schema=topology, round=r))
    return measures, failures


@dataclass(frozen=True)
class Row:
    """One path: each topology's medians over the rounds, and the median of the rounds' ratios."""

    path: str
    medians: dict[str, Figure]  # a topology where every round failed has none
    ratios: tuple[float, ...]  # Citus's throughput over one server's, per round

    @property
    def ratio(self) -> float | None:
        return statistics.median(self.ratios) if self.ratios else None


def rows(figures: list[Figure], names: list[str] | None = None) -> list[Row]:
    """Per path (`names`, else those measured, in order): the median over the rounds of each figure, per
    topology."""
    found: list[Row] = []
    for path in names or list(dict.fromkeys(f.operation for f in figures)):
        mine = [f for f in figures if f.operation == path]
        medians: dict[str, Figure] = {}
        for topology in TOPOLOGIES:
            theirs = [f for f in mine if f.schema == topology]
            if not theirs:
                continue
            medians[topology] = Figure(
                path, topology, 0, round(statistics.median(f.calls for f in theirs)),
                round(statistics.median(f.rows for f in theirs)), statistics.median(f.seconds for f in theirs),
                statistics.median(f.rate for f in theirs), statistics.median(f.p50_ms for f in theirs),
                statistics.median(f.p95_ms for f in theirs), statistics.median(f.p99_ms for f in theirs),
            )  # fmt: skip
        rates = {(f.schema, f.round): f.rate for f in mine}
        rounds = sorted({f.round for f in mine})
        ratios = tuple(rates[(CITUS, n)] / rates[(SINGLE, n)] for n in rounds
                       if rates.get((SINGLE, n)) and (CITUS, n) in rates)  # fmt: skip
        found.append(Row(path, medians, ratios))
    return found


# -- the report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    options: Options
    prepared: Prepared
    measures: tuple[Measure, ...]
    failures: tuple[Failure, ...]
    measure_seconds: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    date: datetime


def unit(path: str) -> str:
    if path.startswith(("webhook", "batched")):
        return "messages/s"
    return "events/s" if path.startswith("record") else "calls/s"


def render(run: Run, command: str) -> str:
    """The report's block, between its markers."""
    o = run.options
    table = rows([Figure.of(m) for m in run.measures], [p.name for p in paths(o)])
    cores = os.cpu_count() or 0
    load = ", ".join(f"{x:.2f}" for x in run.load_before) + " before; " + ", ".join(
        f"{x:.2f}" for x in run.load_after) + " after"  # fmt: skip
    lines = [
        BEGIN,
        f"Run of {run.date:%Y-%m-%d %H:%M} UTC: `{command}`",
        "",
        f"- machine: {machine()}; load average (1, 5, 15 min): {load}",
        f"- {SINGLE}: {run.prepared.servers[SINGLE]}",
        f"- {CITUS}: {run.prepared.servers[CITUS]}; every node on this machine (emulated: see below)",
        f"- scale: {o.scale:g} ("
        + ", ".join(f"{k} {v:,}" for k, v in generate.sizes(o.scale).items())
        + "), the same rows in both (one generator, one seed)",
        f"- time: preparing {_minutes(run.prepared.seconds)} ("
        + "; ".join(f"{t.step} {_minutes(t.seconds)}" for t in run.prepared.timings)
        + f"), measuring {_minutes(run.measure_seconds)} ({o.rounds} round{'s' if o.rounds > 1 else ''} of"
        f" {o.seconds:g} s per timed path and topology; {BATCHES} batches of {o.batch:,} per round)",
        f"- as the login role `{ROLE}` in socialdb_app, row-level security in force; ratio: Citus's throughput"
        f" over one server's, round by round, then their median ({SINGLE} first in odd rounds, Citus first in"
        " even ones)",
        f"- not measured: {NOT_MEASURED}",
        "",
        f"| path | unit | {SINGLE} | {CITUS} | ratio | {SINGLE} p50 / p95 ms | {CITUS} p50 / p95 ms | ratio by round |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in table:
        cells = [row.path, unit(row.path)]
        figures = [row.medians.get(t) for t in TOPOLOGIES]
        cells += [f"{f.rate:,.1f}" if f else "failed" for f in figures]
        cells.append(f"**{row.ratio:.2f}x**" if row.ratio is not None else "-")
        cells += [f"{f.p50_ms:.2f} / {f.p95_ms:.2f}" if f else "-" for f in figures]
        cells.append(", ".join(f"{r:.2f}x" for r in row.ratios) or "-")
        lines.append("| " + " | ".join(cells) + " |")
    if run.failures:
        lines += ["", "Failed (each path is not run again on that topology after its first failure):", ""]
        lines += [f"- {f.path}, {f.topology}, round {f.round}: {f.error}" for f in run.failures]
    lines += [
        "",
        f"Emulated: the coordinator, both workers, the single server and the client share this machine's {cores}"
        " cores, memory and disk, and talk over loopback. What this cannot show: what adding a worker adds (a"
        " real worker brings cores, memory and disk of its own; here it takes a share of the same ones), the"
        " network's round trip between nodes, and any figure for more workers; what it shows is the price of"
        " the coordinator's hop on each path at this size.",
        END,
    ]
    return "\n".join(lines)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def write(doc: Path, block: str) -> None:
    """The block between its markers in `doc` (the rest kept); appended when the markers are absent."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")


def run(
    single_url: str, coordinator_url: str, options: Options, report: Say, progress: Callable[[str, int, int], None]
) -> Run:
    """Prepare both databases, measure every path on both; the run, for `render`."""
    before = os.getloadavg()
    prepared = prepare(single_url, coordinator_url, options, report, progress)
    t0 = time.perf_counter()
    measures, failures = measure({SINGLE: single_url, CITUS: coordinator_url}, options, report)
    return Run(options, prepared, tuple(measures), tuple(failures), time.perf_counter() - t0, before, os.getloadavg(),
               datetime.now(UTC))  # fmt: skip
