"""Where a page's time goes (inbox, messages): round trips, the seller, RLS (docs/performance.md).

Each page is timed four ways: on the spec's schema as one statement in autocommit and
inside BEGIN ... COMMIT; on ours through the seller_* function (migration 025) in
autocommit, and the same query inside a seller transaction (BEGIN, set_config, query,
COMMIT: the path before 025). Run after `socialdb bench run` (it reads the two benchmark
databases on the embedded server):
    uv run python -m tools.probes.probe_pages
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from typing import Any

import psycopg

from socialdb import embedded
from socialdb.app import operations as ops
from socialdb.app.tenant import seller
from socialdb.bench import workload
from socialdb.bench.run import OURS, SPEC, url_for
from socialdb.settings import embedded_dir

N = 3000
WARM_UP = 500  # calls before the measured N, not counted

Conn = psycopg.Connection[Any]
Page = Callable[[Conn, Any, Any], object]  # (connection, key, seller)


def url(database: str) -> str:
    """A benchmark database on the embedded server that `socialdb bench run` used."""
    return url_for(embedded.start(embedded_dir()), database)


def probe(database: str, app_role: bool, wrap: str, keys: list[tuple[Any, Any]], page: Page) -> str:
    """N calls over random (key, seller) pairs; wrap is "none", "transaction" or "seller"
    (a transaction with the seller set). Statements are prepared after 2 uses, as in the benchmark."""
    conn = psycopg.connect(url(database), autocommit=True, prepare_threshold=2)
    if app_role:
        conn.execute("SET ROLE socialdb_app")
    rng = random.Random(1)
    latencies = []
    for _ in range(WARM_UP + N):
        key, user = rng.choice(keys)
        started = time.perf_counter()
        if wrap == "seller":
            around: contextlib.AbstractContextManager[Any] = seller(conn, user)
        else:
            around = conn.transaction() if wrap == "transaction" else contextlib.nullcontext()
        with around:
            page(conn, key, user)
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
    pages: list[tuple[str, list[tuple[Any, Any]], Page, Page, str]] = [
        (
            "inbox page", accounts,
            lambda c, key, user: ops.inbox_page(c, user, key),
            lambda c, key, _: c.execute(workload.SPEC_INBOX, {"account": key}).fetchall(),
            "seller_inbox_page",
        ),
        (
            "message page", conversations,
            lambda c, key, user: ops.message_page(c, user, key),
            lambda c, key, _: c.execute(workload.SPEC_MESSAGES, {"conversation": key}).fetchall(),
            "seller_message_page",
        ),
    ]  # fmt: skip
    for name, keys, ours, plain, function in pages:
        print(f"{name}:")
        print("  spec schema, autocommit              ", probe(SPEC, False, "none", keys, plain))
        print("  spec schema, BEGIN ... COMMIT        ", probe(SPEC, False, "transaction", keys, plain))
        print(f"  ours, {function}, autocommit ", probe(OURS, True, "none", keys, ours))
        print("  ours, the query in a seller transaction", probe(OURS, True, "seller", keys, plain))


if __name__ == "__main__":
    main()
