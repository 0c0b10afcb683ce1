"""The library's session against the functions it replaces, call for call (docs/performance.md).

Each hot path is timed both ways on the same connection and data, in interleaved rounds:
the deprecated function of socialdb.app.operations (inside `tenant.seller` where it needs a
scope, as the benchmark ran it before) and the session's method (a session opened per call,
as a request would). The ratio is old/new time per call (above 1: the session is faster),
the median of the rounds. Run after `socialdb bench run` (it reads the benchmark's database
on the embedded server):
    uv run python -m tools.probes.probe_surface [rounds] [calls]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg

from socialdb import embedded
from socialdb.app import operations as ops
from socialdb.app import session as library
from socialdb.app.tenant import seller
from socialdb.bench.generate import START
from socialdb.bench.run import OURS, url_for
from socialdb.settings import embedded_dir

Conn = psycopg.Connection[Any]
Way = Callable[[Conn, random.Random, list[tuple[Any, Any, Any]]], object]


def _sample(conn: Conn) -> list[tuple[Any, Any, Any]]:
    return conn.execute("SELECT id, client_account_id, user_id FROM conversations ORDER BY id LIMIT 500").fetchall()


Item = tuple[Any, Any, Any]  # (conversation, account, seller) of one sampled conversation


def old_way(call: Callable[[Conn, Item], object], scoped: bool) -> Way:
    """The deprecated function, inside the seller's scope when it needs one."""

    def run(conn: Conn, rng: random.Random, sample: list[Item]) -> object:
        item = rng.choice(sample)
        if not scoped:
            return call(conn, item)
        with seller(conn, item[2]):
            return call(conn, item)

    return run


def new_way(call: Callable[[library.Session, Item], object]) -> Way:
    """The session's method, in a session opened for the call, as a request would."""

    def run(conn: Conn, rng: random.Random, sample: list[Item]) -> object:
        item = rng.choice(sample)
        with library.session(conn, item[2]) as s:
            return call(s, item)

    return run


def ways() -> dict[str, tuple[Way, Way]]:
    """Per operation: (the old function, the session's method); a page's rows are built when read,
    so each page is timed as a call alone (as the benchmark calls it) and with every row read."""
    first = (START + timedelta(days=30)).date()
    last = first + timedelta(days=89)
    return {
        "inbox page": (
            old_way(lambda c, i: ops.inbox_page(c, i[2], i[1]), scoped=False),
            new_way(lambda s, i: s.inbox_page(i[1])),
        ),
        "inbox page, every row read": (
            old_way(lambda c, i: [row[1] for row in ops.inbox_page(c, i[2], i[1])], scoped=False),
            new_way(lambda s, i: [row.platform_conversation_id for row in s.inbox_page(i[1])]),
        ),
        "message page": (
            old_way(lambda c, i: ops.message_page(c, i[2], i[0]), scoped=False),
            new_way(lambda s, i: s.message_page(i[0])),
        ),
        "message page, every row read": (
            old_way(lambda c, i: [row[3] for row in ops.message_page(c, i[2], i[0])], scoped=False),
            new_way(lambda s, i: [row.content for row in s.message_page(i[0])]),
        ),
        "product search": (
            old_way(lambda c, _: ops.search_products(c, "vestido"), scoped=True),
            new_way(lambda s, _: s.search_products("vestido")),
        ),
        "dashboard, 90 days": (
            old_way(lambda c, i: ops.dashboard(c, i[2], first, last), scoped=True),
            new_way(lambda s, _: s.dashboard(first, last)),
        ),
        "mark conversation read": (
            old_way(lambda c, i: ops.mark_read(c, i[0]), scoped=True),
            new_way(lambda s, i: s.mark_read(i[0])),
        ),
    }


def timed(conn: Conn, way: Way, sample: list[Item], calls: int, seed: int) -> float:
    """Median ms per call over `calls` calls (after as many unmeasured ones)."""
    rng = random.Random(seed)
    for _ in range(calls):
        way(conn, rng, sample)
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        way(conn, rng, sample)
        latencies.append((time.perf_counter() - started) * 1000)
    return statistics.median(latencies)


def main(rounds: int = 5, calls: int = 1000) -> None:
    warnings.simplefilter("ignore", DeprecationWarning)
    url = url_for(embedded.start(embedded_dir()), OURS)
    with psycopg.connect(url, autocommit=True, prepare_threshold=2) as conn:
        conn.execute("SET ROLE socialdb_app")
        with psycopg.connect(url) as admin:
            sample = _sample(admin)
        for name, (old, new) in ways().items():
            ratios: list[float] = []
            olds: list[float] = []
            news: list[float] = []
            for r in range(rounds):
                pair = [(old, olds), (new, news)] if r % 2 == 0 else [(new, news), (old, olds)]
                for way, into in pair:
                    into.append(timed(conn, way, sample, calls, seed=r))
                ratios.append(olds[-1] / news[-1])
            print(
                f"| {name} | {statistics.median(olds):.3f} | {statistics.median(news):.3f} |"
                f" {', '.join(f'{x:.2f}' for x in sorted(ratios))} | **{statistics.median(ratios):.2f}x** |"
            )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
