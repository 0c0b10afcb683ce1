"""Recording events with and without three indexes the spec has and no query reads, against the spec's COPY.

Interleaved rounds: the spec's COPY, ours as shipped, then ours without idx_analytics_event_type,
idx_analytics_category and idx_analytics_occurred_at (built again after the line). Each line is
events/s over BATCHES batches of SIZE, as `socialdb_app` through `record_events`. Run after
`socialdb bench generate` (it appends events to the benchmark databases):
    uv run python -m tools.probes.probe_event_indexes
"""

from __future__ import annotations

import statistics

import psycopg

from socialdb import embedded
from socialdb.app import operations as ops
from socialdb.bench import workload
from socialdb.bench.run import OURS, SPEC, url_for
from socialdb.settings import embedded_dir
from tools.probes.probe_events import rate

ROUNDS = 7
SPEC_ONLY = {
    "idx_analytics_event_type": "CREATE INDEX IF NOT EXISTS idx_analytics_event_type ON analytics_events (event_type)",
    "idx_analytics_category": "CREATE INDEX IF NOT EXISTS idx_analytics_category ON analytics_events (event_category)",
    "idx_analytics_occurred_at": (
        "CREATE INDEX IF NOT EXISTS idx_analytics_occurred_at ON analytics_events (occurred_at DESC)"
    ),
}


def indexes(url: str, present: bool) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for name, create in SPEC_ONLY.items():
            conn.execute(create.encode() if present else f"DROP INDEX IF EXISTS {name}".encode())


def main() -> None:
    admin_url = embedded.start(embedded_dir())  # the server `socialdb bench generate` used
    ours_url, spec_url = url_for(admin_url, OURS), url_for(admin_url, SPEC)
    sample = workload.sample(ours_url)
    results: dict[str, list[float]] = {"spec COPY": [], "ours, as shipped": [], "ours, without the three": []}
    for round_ in range(ROUNDS):
        results["spec COPY"].append(rate(spec_url, "spec", sample, workload.spec_copy_events))
        indexes(ours_url, True)
        results["ours, as shipped"].append(rate(ours_url, "socialdb", sample, ops.record_events))
        indexes(ours_url, False)
        try:
            results["ours, without the three"].append(rate(ours_url, "socialdb", sample, ops.record_events))
        finally:
            indexes(ours_url, True)  # as shipped again
        print(f"round {round_}: " + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in results.items()), flush=True)
    spec = results["spec COPY"]
    for name, rates in results.items():
        ratios = [r / s for r, s in zip(rates, spec, strict=True)]
        line = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"{name}: median {statistics.median(rates):,.0f} events/s; ratio by round {line};"
              f" median ratio {statistics.median(ratios):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
