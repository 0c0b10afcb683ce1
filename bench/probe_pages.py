"""Where a page's time goes (inbox, messages): the seller's round trip, RLS, pipelining (docs/performance.md).

Run after `socialdb bench run` (it reads the two benchmark databases on the embedded server):
    uv run python bench/probe_pages.py
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from typing import Any

import psycopg

from socialdb import embedded
from socialdb import operations as ops
from socialdb.bench.run import OURS, SPEC, url_for
from socialdb.settings import embedded_dir

N = 3000
WARM_UP = 500  # calls before the measured N, not counted


def url(database: str) -> str:
    """A benchmark database on the embedded server that `socialdb bench run` used."""
    return url_for(embedded.start(embedded_dir()), database)


Page = Callable[[psycopg.Connection[Any], Any], object]


def probe(database: str, app_role: bool, pipeline: bool, keys: list[tuple[Any, Any]], page: Page | None) -> str:
    """N transactions over random (key, seller) pairs, each with one page (or none: the
    transaction's own cost). Statements are prepared after 2 uses, as in the benchmark."""
    conn = psycopg.connect(url(database), autocommit=True, prepare_threshold=2)
    if app_role:
        conn.execute("SET ROLE socialdb_app")
    rng = random.Random(1)
    latencies = []
    for _ in range(WARM_UP + N):
        key, seller = rng.choice(keys)
        started = time.perf_counter()
        with conn.pipeline() if pipeline else contextlib.nullcontext(), conn.transaction():
            if app_role:
                conn.execute("SELECT set_config('app.user_id', %s, true)", (str(seller),))
            if page is not None:
                page(conn, key)
        latencies.append((time.perf_counter() - started) * 1000)
    conn.close()
    measured = sorted(latencies[WARM_UP:])
    return f"p50 {measured[N // 2]:.3f} ms, p95 {measured[int(N * 0.95)]:.3f} ms"


def main() -> None:
    with psycopg.connect(url(OURS)) as conn:
        accounts = conn.execute(
            "SELECT client_account_id, user_id FROM conversations WHERE status = 'open' ORDER BY random() LIMIT 500"
        ).fetchall()
        conversations = conn.execute("SELECT id, user_id FROM conversations ORDER BY random() LIMIT 500").fetchall()
    pages: list[tuple[str, list[tuple[Any, Any]], Page]] = [
        ("inbox page", accounts, ops.inbox_page),
        ("message page", conversations, ops.message_page),
    ]
    print("transaction alone:")
    print("  spec schema: BEGIN, COMMIT           ", probe(SPEC, False, False, conversations, None))
    print("  ours: BEGIN, set_config, COMMIT      ", probe(OURS, True, False, conversations, None))
    for name, keys, page in pages:
        print(f"{name}:")
        print("  spec schema                          ", probe(SPEC, False, False, keys, page))
        print("  ours, superuser (no RLS, no seller)  ", probe(OURS, False, False, keys, page))
        print("  ours, socialdb_app with a seller     ", probe(OURS, True, False, keys, page))
        print("  ours, socialdb_app, pipelined        ", probe(OURS, True, True, keys, page))


if __name__ == "__main__":
    main()
