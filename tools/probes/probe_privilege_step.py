"""What the runner's privilege step (decision 110: the check, the role step, the band) costs a
`runner.up` from empty: the platform's migrations with the step and with it switched off,
interleaved, a new database each, as the server URL's role (a superuser: without the step a
role that is no superuser cannot migrate at all).

    uv run python -m tools.probes.probe_privilege_step SERVER_URL [RUNS]
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

from socialdb.db import with_database
from socialdb.migrate import runner


def _time_one(server: str, platform_folder: Callable[[Path | None], bool]) -> float:
    name = f"probe_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    real = runner._platform_folder
    runner._platform_folder = platform_folder  # type: ignore[assignment]  # the probe's switch
    try:
        started = time.perf_counter()
        runner.up(with_database(server, name))
        return time.perf_counter() - started
    finally:
        runner._platform_folder = real
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def main(server: str, runs: int) -> None:
    real = runner._platform_folder
    off: Callable[[Path | None], bool] = lambda _directory: False  # noqa: E731
    times: dict[str, list[float]] = {"with": [], "without": []}
    for run in range(runs):
        order = ["with", "without"] if run % 2 == 0 else ["without", "with"]
        for label in order:
            times[label].append(_time_one(server, real if label == "with" else off))
    ratios = [a / b for a, b in zip(times["with"], times["without"], strict=True)]
    print(
        f"runs={runs} with the step {statistics.median(times['with']) * 1000:.1f} ms,"
        f" without {statistics.median(times['without']) * 1000:.1f} ms,"
        f" median of the runs' ratios {statistics.median(ratios):.3f}"
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 11)
