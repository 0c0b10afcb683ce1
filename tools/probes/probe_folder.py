"""A folder of thousands of migrations: how long loading it, `status`, `verify` and `plan` take,
and whether that stays linear in the number of files (issue 13, docs/performance.md).

For each size, writes that many migration files (tables, indexes, columns, functions, each with
its rollback) to a temporary folder, records all but the last 10 as applied in a fresh
database's history (rows copied in, nothing run), then times, in process, the median of
three: reading the folder, `runner.status`, `runner.verify` and `planner.plan` (the 10
pending); and, end to end, `socialdb migrate status` against `socialdb --version` (the CLI's
start-up) and `python -c pass` (the interpreter's).

    uv run python -m tools.probes.probe_folder [--database-url URL] [SIZES ...]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

from socialdb import embedded, planner
from socialdb.db import create_database, drop_database, with_database
from socialdb.migrate import runner
from socialdb.scripts import history
from socialdb.scripts.files import load_migrations
from socialdb.settings import embedded_dir

PENDING = 10
_TEMPLATES = [
    "CREATE TABLE t{n} (id bigint PRIMARY KEY, note text NOT NULL DEFAULT '');\n-- ROLLBACK\nDROP TABLE t{n};\n",
    "CREATE INDEX i{n} ON t{m} (note);\n-- ROLLBACK\nDROP INDEX i{n};\n",
    "ALTER TABLE t{m} ADD COLUMN c{n} integer;\n-- ROLLBACK\nALTER TABLE t{m} DROP COLUMN c{n};\n",
    "CREATE FUNCTION f{n}() RETURNS integer LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN {n};\nEND;\n$$;\n"
    "-- ROLLBACK\nDROP FUNCTION f{n}();\n",
]


def write_folder(folder: Path, count: int) -> None:
    for n in range(1, count + 1):
        text = _TEMPLATES[n % len(_TEMPLATES)].format(n=n, m=max(n - n % len(_TEMPLATES), 4))
        (folder / f"{n:05d}-step-{n}.sql").write_text(f"-- migration {n}\n{text}", encoding="utf-8")


def record_applied(url: str, folder: Path) -> None:
    """History rows for every file but the last PENDING, as if `up` had run them."""
    migrations = load_migrations(folder)[:-PENDING]
    with psycopg.connect(url, autocommit=True) as conn:
        history.ensure_table(conn)
        with (
            conn.cursor() as cur,
            cur.copy("COPY migrations (version, name, file, checksum, execution_ms) FROM STDIN") as copy,
        ):
            for m in migrations:
                copy.write_row((m.version, m.name, m.filename, m.checksum, 1))


def median_s(action: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def process_s(*args: str) -> float:
    def run() -> None:
        subprocess.run([sys.executable, *args], check=True, capture_output=True, timeout=300)

    return median_s(run)


def measure(server_url: str, count: int) -> dict[str, float]:
    name = f"socialdb_probe_folder_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            write_folder(folder, count)
            record_applied(url, folder)
            return {
                "load": median_s(lambda: load_migrations(folder)),
                "status": median_s(lambda: runner.status(url, folder)),
                "verify": median_s(lambda: runner.verify(url, folder)),
                "plan": median_s(lambda: planner.plan(url, folder)),
                "cli status": process_s(
                    "-m", "socialdb", "migrate", "status", "--dir", str(folder), "--database-url", url
                ),
                "cli --version": process_s("-m", "socialdb", "--version"),
                "python": process_s("-c", "pass"),
            }
    finally:
        drop_database(server_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 2500, 5000, 10000])
    parser.add_argument("--database-url", help="a server's maintenance database (default: the embedded server)")
    args = parser.parse_args()
    server_url = args.database_url or with_database(embedded.start(embedded_dir()), "postgres")
    print("| files | load | status | verify | plan (10 pending) | `migrate status` | `--version` | `python -c pass` |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for count in args.sizes:
        t = measure(server_url, count)
        cells = [t[k] for k in ("load", "status", "verify", "plan", "cli status", "cli --version", "python")]
        print(f"| {count:,} | " + " | ".join(f"{v:.3f} s" for v in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
