"""Random against time-ordered ids (migration 039), against the spec's schema (docs/performance.md).

Two measures, each on the benchmark databases `socialdb bench run` leaves behind, ours with
039's rollback ("random ids") and its up part ("time-ordered") applied in turn to the same
data:
- WAL per webhook message, this session's own (PostgreSQL 18's per-backend statistics):
  MESSAGES messages on random conversations right after a CHECKPOINT, then as many again on
  the same conversations (their pages already written since the checkpoint);
- recorded events, events/s: BATCHES batches of 5,000, in ROUNDS rounds in a rotating order.
039 is left applied at the end.
    uv run python -m socialdb.bench.probes.probe_ids
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import psycopg

from socialdb import embedded
from socialdb.app import operations as ops
from socialdb.bench import workload
from socialdb.bench.probes.probe_ingest_counts import parts
from socialdb.bench.run import OURS, SPEC, url_for
from socialdb.migrate.files import default_directory
from socialdb.settings import embedded_dir

MESSAGES = 500
BATCHES = 10
ROUNDS = 6
_OWN_WAL = "SELECT wal_records, wal_fpi, wal_bytes FROM pg_stat_get_backend_wal(pg_backend_pid())"


def wal_per_message(url: str, ours: bool, targets: list[tuple[Any, ...]], tag: str) -> tuple[float, float, float]:
    """(records, full-page images, bytes) per message."""
    statement = ops.INGEST_STATEMENT if ours else workload.SPEC_INGEST
    with psycopg.connect(url, autocommit=True) as conn:
        if ours:
            conn.execute("SET ROLE socialdb_app")
        before = _own_wal(conn)
        for n, (account, conversation, seller) in enumerate(targets):
            message = ops.IncomingMessage(account, conversation, "cliente", f"{tag}-{time.time()}-{n}", "customer",
                                          datetime.now(UTC), "Oi, ainda tem?")  # fmt: skip
            conn.execute(statement.encode(), ops.ingest_parameters(seller, message))
        after = _own_wal(conn)
    n = len(targets)
    return (after[0] - before[0]) / n, (after[1] - before[1]) / n, (after[2] - before[2]) / n


def _own_wal(conn: psycopg.Connection[Any]) -> tuple[float, float, float]:
    conn.execute("SELECT pg_stat_force_next_flush()")
    row = conn.execute(_OWN_WAL).fetchone()
    assert row is not None
    return float(row[0]), float(row[1]), float(row[2])


def main() -> None:
    up, down = parts(default_directory() / "039-time-ordered-ids.sql")
    admin_url = embedded.start(embedded_dir())
    urls = {"spec": url_for(admin_url, SPEC), "ours": url_for(admin_url, OURS)}
    variants = [("spec", None), ("random ids", down), ("time-ordered", up)]
    with psycopg.connect(urls["ours"]) as conn:
        rows = conn.execute("SELECT client_account_id, platform_conversation_id, user_id FROM conversations").fetchall()
    for round_ in range(2):
        targets = random.Random(100 + round_).sample(rows, MESSAGES)
        for name, sql in variants:
            url = _apply(urls, sql)
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute("CHECKPOINT")
            for when in ("after CHECKPOINT", "again"):
                records, fpi, size = wal_per_message(url, sql is not None, targets, f"ids-{round_}-{name}-{when}")
                print(f"WAL, round {round_}, {name}, {when}: {records:.1f} records, {fpi:.2f} full-page images,"
                      f" {size:,.0f} bytes per message", flush=True)  # fmt: skip
    events(urls, variants)
    _apply(urls, up)


def events(urls: dict[str, str], variants: list[tuple[str, str | None]]) -> None:
    sample = workload.sample(urls["ours"], 500)
    rates: dict[str, list[float]] = {name: [] for name, _ in variants}
    for round_ in range(ROUNDS):
        for name, sql in variants[round_ % 3 :] + variants[: round_ % 3]:
            url = _apply(urls, sql)
            m = workload.record_events(url, "spec" if sql is None else "socialdb", sample, BATCHES, 5000, 20 + round_)
            rates[name].append(m.rows / m.seconds)
        print(f"events, round {round_}: " + ", ".join(f"{n} {r[-1]:,.0f}/s" for n, r in rates.items()), flush=True)
    for name, values in rates.items():
        ratios = [v / s for v, s in zip(values, rates["spec"], strict=True)]
        by_round = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"events, {name}: median {statistics.median(values):,.0f}/s;"
              f" ratio to spec by round {by_round}; median {statistics.median(ratios):.2f}")  # fmt: skip


def _apply(urls: dict[str, str], sql: str | None) -> str:
    """The variant's database, with its part of 039 applied (the spec's as it is)."""
    if sql is None:
        return urls["spec"]
    with psycopg.connect(urls["ours"], autocommit=True) as conn:
        conn.execute(sql.encode())
    return urls["ours"]


if __name__ == "__main__":
    main()
