"""Server CPU per webhook message by share of first contacts: the spec's statement against
variants of ours (issue 22, after 048 and 044's account check).

Each variant of ours is a definition of `seller_ingest_message` (a file of SQL) swapped in on the
same database; the spec's is its one statement. For each round, share and variant, in a rotating
order: N messages one by one on one connection (autocommit, prepared after 2 uses, as the
benchmark's client), a `share` of them opening a conversation. Measured: the backend's CPU from
/proc (load-independent, unlike throughput on a shared machine), the client's CPU and the wall
time. Medians of the rounds. The current definition is put back at the end.

Run after `socialdb bench generate` on a server of its own:
    uv run python -m tools.probes.probe_first_contact_mix ADMIN_URL NAME=FILE.sql [NAME=FILE.sql ...]
"""

from __future__ import annotations

import collections
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from socialdb.app import operations as ops
from socialdb.app import session as library
from socialdb.bench import workload
from socialdb.bench.run import OURS, SPEC, url_for
from tools.probes.probe_ingest_counts import backend_cpu_s

N = 1500
ROUNDS = 5
SHARES = (1.0, 0.5, 0.05, 0.0)
_CURRENT = "SELECT pg_get_functiondef('seller_ingest_message'::regproc)"


def _messages(
    sample: workload.Sample, ids: dict[Any, str], share: float, tag: str
) -> list[tuple[Any, ops.IncomingMessage]]:
    rng = random.Random(tag)
    out = []
    for i in range(N):
        conversation, account, seller = rng.choice(sample.conversations)
        platform_id = f"mix-{tag}-{i}" if rng.random() < share else ids[conversation]
        message = ops.IncomingMessage(
            account, platform_id, "cliente", f"mix-{tag}-{i}", "customer", datetime.now(UTC), "Oi, tudo bem?"
        )
        out.append((seller, message))
    return out


def _send(url: str, ours: bool, items: list[tuple[Any, ops.IncomingMessage]]) -> tuple[float, float, float]:
    with psycopg.connect(url, autocommit=True, prepare_threshold=2) as conn:
        if ours:
            conn.execute("SET ROLE socialdb_app")
        server, client, started = backend_cpu_s(conn.info.backend_pid), time.process_time(), time.perf_counter()
        for seller, message in items:
            if ours:
                with library.session(conn, seller) as s:
                    s.ingest_message(message)
            else:
                conn.execute(workload.SPEC_INGEST, ops.ingest_parameters(None, message))
        wall = time.perf_counter() - started
        return (
            (backend_cpu_s(conn.info.backend_pid) - server) / N * 1e6,
            (time.process_time() - client) / N * 1e6,
            wall / N * 1e6,
        )


def main() -> None:
    admin_url = sys.argv[1]
    urls = {"spec": url_for(admin_url, SPEC), "ours": url_for(admin_url, OURS)}
    with psycopg.connect(urls["ours"], autocommit=True) as conn:
        row = conn.execute(_CURRENT).fetchone()
        assert row is not None
        current = str(row[0])
    variants: list[tuple[str, str | None]] = [("spec", None), ("ours now", current)]
    for given in sys.argv[2:]:
        name, _, file = given.partition("=")
        variants.append((name, Path(file).read_text(encoding="utf-8")))
    sample = workload.sample(urls["ours"])
    ids = workload.platform_conversation_ids(urls["ours"], [c for c, _, _ in sample.conversations])
    results: dict[tuple[float, str], dict[str, list[float]]] = collections.defaultdict(
        lambda: collections.defaultdict(list)
    )
    try:
        for round_ in range(ROUNDS):
            for share in SHARES:
                k = round_ % len(variants)
                for name, definition in variants[k:] + variants[:k]:
                    ours = definition is not None
                    if ours:
                        with psycopg.connect(urls["ours"], autocommit=True) as conn:
                            conn.execute(str(definition).encode())
                    items = _messages(sample, ids, share, f"{round_}-{share}-{name}")
                    server, client, wall = _send(urls["ours" if ours else "spec"], ours, items)
                    for key, value in (("server", server), ("client", client), ("wall", wall)):
                        results[(share, name)][key].append(value)
            print(f"round {round_}: done", file=sys.stderr, flush=True)
    finally:
        with psycopg.connect(urls["ours"], autocommit=True) as conn:
            conn.execute(current.encode())
    names = [name for name, _ in variants]
    print("| share | measure (us per message) | " + " | ".join(names) + " |")
    print("|---:|---|" + "---:|" * len(names))
    for share in SHARES:
        for key in ("server", "client", "wall"):
            cells = [statistics.median(results[(share, n)][key]) for n in names]
            print(f"| {share:.0%} | {key} | " + " | ".join(f"{c:,.0f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
