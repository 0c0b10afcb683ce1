"""Webhook ingest before and after migration 036 (a message counts itself), against the spec's.

Throughput on a shared 2-core machine swings with whatever else runs, so each variant is
also priced in CPU time, which load barely moves: the server backend's (from
/proc/PID/stat; the server runs on this machine) and the client's, per message, over
CPU_MESSAGES messages sent one by one on one connection.

Three rounds; in each, for 1 and 8 connections, the spec's schema, ours before 036 and ours
after it, in a rotating order, driven by the Python client and by pgbench. "Before" is
036's rollback applied to the benchmark database, "after" its up part: the same data, the
same server, only the function and the triggers differ. Run after `socialdb bench generate`
(it writes messages into the benchmark databases; 036 is left applied at the end):
    uv run python -m tools.probes.probe_ingest_counts [MIGRATION_FILE]
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import psycopg

from socialdb import embedded
from socialdb.app import operations as ops
from socialdb.bench import pgbench, workload
from socialdb.bench.run import OURS, SPEC, url_for
from socialdb.scripts.files import default_directory
from socialdb.settings import embedded_dir

SECONDS = 8
CPU_MESSAGES = 3000
ROUNDS = 3
MIGRATION = "036-ingest-counts-itself.sql"


def parts(path: Path) -> tuple[str, str]:
    up, _, down = path.read_text(encoding="utf-8").partition("\n-- ROLLBACK\n")
    return up, down


def python_rate(url: str, schema: str, sample: workload.Sample, connections: int, tag: str) -> float:
    m = workload.webhook_ingest(url, schema, sample, SECONDS, connections, tag)
    return m.rows / m.seconds


def pgbench_rate(executable: Path, url: str, schema: str, connections: int, targets: int, seed: int) -> float:
    job = pgbench.Job(executable, url, schema, connections, SECONDS, targets, seed)
    return pgbench.run(job, "webhook ingest")[1].tps


def backend_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def cpu_per_message(
    url: str, schema: str, sample: workload.Sample, ids: dict[UUID, str], tag: str
) -> tuple[float, float]:
    """Server and client CPU microseconds per message, one connection, autocommit."""
    rng = random.Random(tag)
    with psycopg.connect(url, autocommit=True) as conn:
        if schema == "socialdb":
            conn.execute("SET ROLE socialdb_app")
        server, client = backend_cpu_s(conn.info.backend_pid), time.process_time()
        for n in range(CPU_MESSAGES):
            conversation, account, seller = rng.choice(sample.conversations)
            m = ops.IncomingMessage(account, ids[conversation], "cliente", f"{tag}-{n}", "customer", datetime.now(UTC))
            if schema == "socialdb":
                ops.ingest_message(conn, seller, m)
            else:
                conn.execute(workload.SPEC_INGEST, ops.ingest_parameters(None, m))
        server, client = backend_cpu_s(conn.info.backend_pid) - server, time.process_time() - client
    return server / CPU_MESSAGES * 1e6, client / CPU_MESSAGES * 1e6


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default_directory() / MIGRATION
    up, down = parts(path)
    admin_url = embedded.start(embedded_dir())
    urls = {"spec": url_for(admin_url, SPEC), "ours": url_for(admin_url, OURS)}
    sample = workload.sample(urls["ours"])
    executable = pgbench.find()
    # The generated ids are the same in both databases.
    ids = workload.platform_conversation_ids(urls["ours"], [c for c, _, _ in sample.conversations])
    targets = min(pgbench.create_targets(u, sample.conversations, ids) for u in urls.values())
    results: dict[str, list[float]] = {}
    variants = [("spec", None), ("ours before", down), ("ours after", up)]
    for round_ in range(ROUNDS):
        order = variants[round_ % 3 :] + variants[: round_ % 3]
        for connections in (1, 8):
            for name, sql in order:
                schema, url = ("spec", urls["spec"]) if sql is None else ("socialdb", urls["ours"])
                if sql is not None:
                    with psycopg.connect(url, autocommit=True) as conn:
                        conn.execute(sql.encode())
                tag = f"counts-{round_}-{connections}-{name.replace(' ', '-')}"
                if connections == 1:
                    server, client = cpu_per_message(url, schema, sample, ids, tag + "-cpu")
                    results.setdefault(f"{name}, server CPU us, cpu", []).append(server)
                    results.setdefault(f"{name}, client CPU us, cpu", []).append(client)
                    print(
                        f"round {round_}, {name}: server CPU {server:.0f} us/message, client {client:.0f}", flush=True
                    )
                py = python_rate(url, schema, sample, connections, tag)
                # A seed of its own per run: one drawn again would redeliver the earlier run's ids.
                seed = 1000 * round_ + 10 * connections + variants.index((name, sql))
                pg = pgbench_rate(executable, url, schema, connections, targets, seed) if executable else 0.0
                results.setdefault(f"{name}, {connections} conn, python", []).append(py)
                results.setdefault(f"{name}, {connections} conn, pgbench", []).append(pg)
                print(
                    f"round {round_}, {connections} conn, {name}: python {py:,.0f}/s, pgbench {pg:,.0f}/s", flush=True
                )
    with psycopg.connect(urls["ours"], autocommit=True) as conn:
        conn.execute(up.encode())
    report(results)


def report(results: dict[str, list[float]]) -> None:
    for key, values in results.items():
        _, connections, driver = key.split(", ")
        spec = results[f"spec, {connections}, {driver}"]
        # Throughput: ours over the spec's; CPU per message: the spec's over ours (higher is better both ways).
        pairs = zip(values, spec, strict=True)
        ratios = [s / v if driver == "cpu" else v / s for v, s in pairs if s and v]
        line = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"{key}: median {statistics.median(values):,.0f}/s; ratio to spec by round {line};"
              f" median ratio {statistics.median(ratios):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
