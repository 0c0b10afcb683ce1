"""Where an inbox page's time goes: the seller's round trip, RLS, pipelining (docs/performance.md).

Run after `socialdb bench run` (it reads the two benchmark databases on the embedded server):
    uv run python bench/probe_inbox.py
"""

from __future__ import annotations

import contextlib
import random
import time
from typing import Any

import psycopg

from socialdb import operations as ops
from socialdb.bench.run import OURS, SPEC
from socialdb.settings import embedded_dir

HOST = embedded_dir() / "pgdata"
N = 3000


def url(database: str) -> str:
    return f"user=postgres dbname={database} host={HOST}"


def probe(database: str, app_role: bool, pipeline: bool, accounts: list[tuple[Any, Any]]) -> str:
    conn = psycopg.connect(url(database), autocommit=True)
    if app_role:
        conn.execute("SET ROLE socialdb_app")
    rng = random.Random(1)
    latencies = []
    for _ in range(N):
        account, seller = rng.choice(accounts)
        started = time.perf_counter()
        with conn.pipeline() if pipeline else contextlib.nullcontext(), conn.transaction():
            if app_role:
                conn.execute("SELECT set_config('app.user_id', %s, true)", (str(seller),))
            ops.inbox_page(conn, account)
        latencies.append((time.perf_counter() - started) * 1000)
    conn.close()
    latencies.sort()
    return f"p50 {latencies[N // 2]:.2f} ms, p95 {latencies[int(N * 0.95)]:.2f} ms"


def main() -> None:
    with psycopg.connect(url(OURS)) as conn:
        accounts = conn.execute(
            "SELECT client_account_id, user_id FROM conversations WHERE status = 'open' ORDER BY random() LIMIT 500"
        ).fetchall()
    print("spec schema                        ", probe(SPEC, False, False, accounts))
    print("ours, superuser (no RLS, no seller)", probe(OURS, False, False, accounts))
    print("ours, socialdb_app with a seller   ", probe(OURS, True, False, accounts))
    print("ours, socialdb_app, pipelined      ", probe(OURS, True, True, accounts))


if __name__ == "__main__":
    main()
