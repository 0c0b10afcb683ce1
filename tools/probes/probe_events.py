"""Recording events: the spec's COPY, our path before migration 027 (COPY into a temporary
table, then one INSERT ... SELECT that the policies check) and after it (one INSERT from
arrays, since the application may no longer create a temporary table). docs/performance.md.

Interleaved rounds; each line is events/s over BATCHES batches of SIZE. Run after
`socialdb bench generate` (it appends events to the benchmark databases):
    uv run python -m tools.probes.probe_events
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from socialdb import embedded
from socialdb.app import operations as ops
from socialdb.bench import workload
from socialdb.bench.run import OURS, SPEC, url_for
from socialdb.settings import embedded_dir

ROUNDS, BATCHES, SIZE = 5, 10, 5000

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS analytics_events_stage (
  user_id uuid, client_account_id uuid, event_type text, event_category text,
  occurred_at timestamptz, value numeric(12, 2), entity_type text, entity_id uuid
) ON COMMIT DELETE ROWS
"""
_STAGE_COPY = (
    "COPY analytics_events_stage (user_id, client_account_id, event_type, event_category, occurred_at, value,"
    " entity_type, entity_id) FROM STDIN"
)
_STAGE_MOVE = """
INSERT INTO analytics_events (user_id, client_account_id, event_type, event_category, occurred_at, value,
                              entity_type, entity_id)
SELECT user_id, client_account_id, event_type, event_category, occurred_at, value, entity_type, entity_id
FROM analytics_events_stage
"""


def staged(conn: psycopg.Connection[Any], events: list[ops.Event]) -> None:
    """The path of record_events before 027."""
    conn.execute(_STAGE)
    with conn.cursor() as cur, cur.copy(_STAGE_COPY) as copy:
        for e in events:
            row = (e.user_id, e.client_account_id, e.event_type, e.event_category, e.occurred_at, e.value)
            copy.write_row((*row, e.entity_type, e.entity_id))
    conn.execute(_STAGE_MOVE)


def rate(url: str, schema: str, sample: workload.Sample, write: Callable[[psycopg.Connection[Any], Any], Any]) -> float:
    session = workload.Session(url, schema)
    started = time.perf_counter()
    for n in range(BATCHES):
        _, account, seller = sample.conversations[n % len(sample.conversations)]
        now = datetime.now(UTC)
        events = [ops.Event(seller, account, "sale", "sales", now, Decimal("49.90")) for _ in range(SIZE)]
        session.run(seller, functools.partial(_write, write, events))
    session.close()
    return BATCHES * SIZE / (time.perf_counter() - started)


def _write(write: Callable[[psycopg.Connection[Any], Any], Any], events: list[ops.Event], conn: Any) -> Any:
    return write(conn, events)


def temporary(url: str, allowed: bool) -> None:
    """Grant TEMPORARY back to the application for the old path only, and take it away again."""
    with psycopg.connect(url, autocommit=True) as conn:
        name = sql.Identifier(str(conn.info.dbname))
        grant = sql.SQL("GRANT TEMPORARY ON DATABASE {} TO socialdb_app")
        revoke = sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM socialdb_app")
        conn.execute((grant if allowed else revoke).format(name))


def main() -> None:
    admin_url = embedded.start(embedded_dir())  # the server `socialdb bench generate` used
    ours_url, spec_url = url_for(admin_url, OURS), url_for(admin_url, SPEC)
    sample = workload.sample(ours_url)
    results: dict[str, list[float]] = {"spec COPY": [], "ours before 027": [], "ours after 027": []}
    for round_ in range(ROUNDS):
        results["spec COPY"].append(rate(spec_url, "spec", sample, workload.spec_copy_events))
        temporary(ours_url, True)
        try:
            results["ours before 027"].append(rate(ours_url, "socialdb", sample, staged))
        finally:
            temporary(ours_url, False)
        results["ours after 027"].append(rate(ours_url, "socialdb", sample, ops.record_events))
        print(f"round {round_}: " + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in results.items()))
    spec = results["spec COPY"]
    for name, rates in results.items():
        ratios = [r / s for r, s in zip(rates, spec, strict=True)]
        print(f"{name}: median {statistics.median(rates):,.0f} events/s, ratio to spec {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
