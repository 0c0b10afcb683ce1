"""How long a test waits for a fresh migrated database: a template clone (socialdb.testing's
`socialdb_url`) against migrating an empty database each time (docs/performance.md).

Interleaved rounds on one server; for each, the time from asking for the database to having
it ready (what a test waits for), and the time to drop it (its teardown). The embedded
PostgreSQL in a temporary folder by default, or the server of SOCIALDB_TEST_DATABASE_URL:
    uv run python -m tools.probes.probe_fixture [ROUNDS]
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from socialdb import embedded
from socialdb.db import create_database, database_of, drop_database
from socialdb.migrate import runner

ROUNDS = 15


def _name() -> str:
    return f"socialdb_probe_{uuid.uuid4().hex[:12]}"


def _ready_and_drop(server_url: str, make: Callable[[str], object]) -> tuple[float, float]:
    """Seconds until the database is ready (`make` given its name), then seconds to drop it."""
    name = _name()
    start = time.perf_counter()
    make(name)
    ready = time.perf_counter()
    drop_database(server_url, name)
    return ready - start, time.perf_counter() - ready


def measure(server_url: str, rounds: int) -> dict[str, list[tuple[float, float]]]:
    """Per variant, (ready, drop) seconds of each round; the rounds interleave the variants."""
    template_url = create_database(server_url, _name())
    runner.up(template_url)
    template = database_of(template_url)
    variants: dict[str, Callable[[str], object]] = {
        "template clone": lambda name: create_database(server_url, name, template),
        "migrate each time": lambda name: runner.up(create_database(server_url, name)),
    }
    times: dict[str, list[tuple[float, float]]] = {what: [] for what in variants}
    try:
        for _ in range(rounds):
            for what, make in variants.items():
                times[what].append(_ready_and_drop(server_url, make))
    finally:
        drop_database(server_url, template)
    return times


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS
    given = os.environ.get("SOCIALDB_TEST_DATABASE_URL")
    home = None if given else Path(tempfile.mkdtemp(prefix="socialdb-probe-"))
    try:
        server_url = given or embedded.start(home or Path(), database="postgres")
        times = measure(server_url, rounds)
    finally:
        if home is not None:
            embedded.stop(home)
            shutil.rmtree(home, ignore_errors=True)
    for what, pairs in times.items():
        ready, drop = [r * 1000 for r, _ in pairs], [d * 1000 for _, d in pairs]
        print(
            f"{what}: ready in median {statistics.median(ready):.0f} ms (min {min(ready):.0f}),"
            f" dropped in median {statistics.median(drop):.0f} ms, over {rounds} rounds"
        )
    ratio = statistics.median(r for r, _ in times["migrate each time"]) / statistics.median(
        r for r, _ in times["template clone"]
    )
    print(f"ready: migrating each time takes {ratio:.1f}x the clone")


if __name__ == "__main__":
    main()
