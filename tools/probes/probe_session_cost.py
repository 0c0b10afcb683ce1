"""Client CPU per call: the library's session against a bare `conn.execute` of the same
statement (issue 22's hot paths through the new surface).

One connection as socialdb_app, the message page of one sampled conversation; 5 rounds of
3,000 calls per variant after 100 to warm up; medians of `time.process_time()` (this
process's CPU: the client's share, which the load of the machine barely moves) and wall.

    uv run python -m tools.probes.probe_session_cost URL_OF_socialdb_bench_ours
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import psycopg

from socialdb.app import session as library
from socialdb.app import statements as sql
from socialdb.bench import workload

ROUNDS, CALLS = 5, 3000


def main() -> None:
    url = sys.argv[1]
    conversation, _, seller = workload.sample(url).conversations[0]
    conn = psycopg.connect(url, autocommit=True, prepare_threshold=2)
    conn.execute("SET ROLE socialdb_app")
    params = {"seller": seller, "conversation": conversation, "limit": 50, "after_at": None, "after_id": None}

    def bare() -> None:
        conn.execute(sql.MESSAGES, params).fetchall()

    def through_session() -> None:
        with library.session(conn, seller) as s:
            list(s.message_page(conversation))

    variants: dict[str, Callable[[], None]] = {"bare conn.execute": bare, "session": through_session}
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(ROUNDS):
        for name, call in variants.items():
            for _ in range(100):
                call()
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(CALLS):
                call()
            found[name].append(((time.process_time() - cpu) / CALLS * 1e6, (time.perf_counter() - wall) / CALLS * 1e6))
    for name, values in found.items():
        cpu_us = statistics.median(v[0] for v in values)
        wall_us = statistics.median(v[1] for v in values)
        print(f"{name}: client CPU {cpu_us:.0f} us, wall {wall_us:.0f} us per call")


if __name__ == "__main__":
    main()
