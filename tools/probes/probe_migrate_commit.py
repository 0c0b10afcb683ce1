"""migrate up in process, each migration committing with synchronous_commit off and the run
waiting once at its end (decision 106), against each commit waiting for its own flush (as
before), and the floor (`psql -1 -f`): interleaved runs, a new database each, on the
embedded server.
    uv run python -m tools.probes.probe_migrate_commit [RUNS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from socialdb import embedded
from socialdb.bench import migrate_up
from socialdb.migrate import execution, runner
from socialdb.scripts.files import default_directory, load_migrations
from socialdb.settings import embedded_dir


@contextmanager
def each_commit_waits() -> Iterator[None]:
    """The runner as it was: no synchronous_commit off, no wait at the end."""
    saved = execution.MIGRATION_COMMIT, execution.wait_until_durable
    execution.MIGRATION_COMMIT = "on"
    execution.wait_until_durable = lambda conn: None
    try:
        yield
    finally:
        execution.MIGRATION_COMMIT, execution.wait_until_durable = saved


def before(url: str) -> None:
    with each_commit_waits():
        runner.up(url)


def after(url: str) -> None:
    runner.up(url)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    admin = embedded.start(embedded_dir())
    with tempfile.TemporaryDirectory() as work:
        floor = migrate_up._contenders(load_migrations(default_directory()), Path(work), None)[0]
        contenders = [
            migrate_up.Contender("floor", floor.run),
            migrate_up.Contender("each commit waits (before)", before),
            migrate_up.Contender("one wait at the end (after)", after),
        ]
        times = migrate_up.interleaved(admin, contenders, runs)
    base = statistics.median(times["floor"])
    for name, ms in times.items():
        ratios = [m / f for m, f in zip(ms, times["floor"], strict=True)]
        each = ", ".join(f"{m:.0f}" for m in ms)
        print(
            f"{name}: median {statistics.median(ms):.0f} ms, {statistics.median(ms) / base:.2f}x the floor's median;"
            f" median of per-run ratios {statistics.median(ratios):.2f}x; runs {each}"
        )


if __name__ == "__main__":
    main()
