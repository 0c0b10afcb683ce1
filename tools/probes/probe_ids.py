"""Random against time-ordered ids (migration 039), against the spec's schema (docs/performance.md).

Two measures, each on the benchmark databases `socialdb bench run` leaves behind, ours with
039's rollback ("random ids") and its up part ("time-ordered") applied in turn to the same
data:
- WAL per webhook message, this session's own (PostgreSQL 18's per-backend statistics):
  MESSAGES messages on random conversations right after a CHECKPOINT, then as many again on
  the same conversations (their pages already written since the checkpoint);
- recorded events, events/s: BATCHES batches of 5,000, in ROUNDS rounds in a rotating order.
039 is left applied at the end.
    uv run python -m tools.probes.probe_ids
"""

from __future__ import annotations

import random
import statistics

import psycopg

from socialdb import embedded
from socialdb.bench import workload
from socialdb.bench.run import OURS, SPEC, url_for
from socialdb.scripts.files import default_directory
from socialdb.settings import embedded_dir
from tools.probes.probe_ingest_counts import parts
from tools.probes.probe_wal import wal_per_message

MESSAGES = 500
BATCHES = 10
ROUNDS = 6


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
