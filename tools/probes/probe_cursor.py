"""Client CPU per call of one page statement, by how psycopg runs it (decision 276).

    uv run python -m tools.probes.probe_cursor ADMIN_URL CALLS ROUNDS

Against a server where `socialdb bench generate` loaded the data, as the application role, it
runs the inbox page's statement CALLS times per way, in ROUNDS interleaved rounds, and prints
the medians of the client's CPU (this process's user and system time) and of the wall time per
call. The ways: `conn.execute` (a new cursor per call, as the library did), one cursor kept
for every call in text, and the same in binary; and the message page's statement the same
three ways. Each round draws the same conversations for every way.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg

from socialdb.app import statements as sql
from socialdb.bench import workload
from socialdb.bench.run import OURS, url_for

Way = Callable[[UUID, UUID, UUID], object]


def ways(conn: psycopg.Connection[Any]) -> dict[str, Way]:
    text, binary = conn.cursor(), conn.cursor(binary=True)

    def inbox(seller: UUID, account: UUID) -> dict[str, Any]:
        return {"seller": seller, "account": account, "limit": 20, "after_at": None, "after_id": None}

    def page(seller: UUID, conversation: UUID) -> dict[str, Any]:
        return {"seller": seller, "conversation": conversation, "limit": 50, "after_at": None, "after_id": None}

    return {
        "inbox, conn.execute": lambda c, a, s: conn.execute(sql.INBOX, inbox(s, a)).fetchall(),
        "inbox, one cursor": lambda c, a, s: text.execute(sql.INBOX, inbox(s, a)).fetchall(),
        "inbox, one cursor, binary": lambda c, a, s: binary.execute(sql.INBOX, inbox(s, a)).fetchall(),
        "messages, conn.execute": lambda c, a, s: conn.execute(sql.MESSAGES, page(s, c)).fetchall(),
        "messages, one cursor": lambda c, a, s: text.execute(sql.MESSAGES, page(s, c)).fetchall(),
        "messages, one cursor, binary": lambda c, a, s: binary.execute(sql.MESSAGES, page(s, c)).fetchall(),
    }


def main() -> None:
    admin_url, calls, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    url = url_for(admin_url, OURS)
    conversations = workload.sample(url).conversations
    with psycopg.connect(url, autocommit=True, prepare_threshold=2) as conn:
        conn.execute("SET ROLE socialdb_app")
        found: dict[str, list[tuple[float, float]]] = {}
        for number in range(rounds):
            for name, way in ways(conn).items():
                rng = random.Random(number)
                picks = [rng.choice(conversations) for _ in range(calls)]
                cpu, wall = time.process_time(), time.perf_counter()
                for conversation, account, seller in picks:
                    way(conversation, account, seller)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                found.setdefault(name, []).append((cpu / calls * 1e6, wall / calls * 1e6))
    for name, samples in found.items():
        cpu = statistics.median(c for c, _ in samples)
        wall = statistics.median(w for _, w in samples)
        print(f"| {name} | {cpu:.1f} | {wall:.1f} |")


if __name__ == "__main__":
    main()
