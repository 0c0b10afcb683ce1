"""Client CPU of the seller scope's ownership guard alone: what a session and one call of it
add on top of their statements (taking the connection, checking the call's thread or task,
giving it back), with no database.

7 runs of 50,000; the median per session and call. Run it in two checkouts, in turn, to
compare two versions of socialdb.app.tenant:

    uv run python -m tools.probes.probe_guard
"""

from __future__ import annotations

import statistics
import timeit

import psycopg

from socialdb.app import tenant

RUNS, CALLS = 7, 50_000


def main() -> None:
    conn = psycopg.Connection.__new__(psycopg.Connection)  # never connected: the guard only marks it

    def session_and_call() -> None:
        guard = tenant.hold(conn)
        guard.__enter__()
        tenant.require_holder(conn)
        guard.__exit__()

    runs = [timeit.timeit(session_and_call, number=CALLS) / CALLS * 1e6 for _ in range(RUNS)]
    print(f"guard: {statistics.median(runs):.2f} us per session and call (median of {RUNS} runs of {CALLS:,})")


if __name__ == "__main__":
    main()
