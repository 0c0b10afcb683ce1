"""`migrate up` on an empty database, timed against what a team would compare it with (issue 15).

Contenders, on the same SQL, each on a database created for it (not timed):
- `psql -1 -f` of every up part in one file (CONCURRENTLY removed: psql's single transaction
  cannot run it, and on an empty database it changes nothing): the floor;
- dbmate (the Go binary of npm's `dbmate`), when given or on PATH: one file per migration, the
  history table's DDL in the first (018 revokes on it); a `transaction=off` file becomes one
  `transaction:false` file per statement, since dbmate sends a file as one query string, in
  which CREATE INDEX CONCURRENTLY cannot run;
- `socialdb migrate up` as a process: interpreter start and imports included, what a deploy pays;
- `runner.up` in this process: the library's own cost.
They take turns, in an order that rotates from run to run, so that the machine's noise
falls on all of them alike; the report gives each run and the medians.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict

from socialdb.bench import Say
from socialdb.bench.workload import Measure
from socialdb.db import create_database, drop_database
from socialdb.embedded import psql_path
from socialdb.errors import SocialdbError
from socialdb.migrate import runner
from socialdb.scripts.files import Migration, default_directory, load_migrations
from socialdb.scripts.history import ddl as history_ddl

IN_PROCESS = "migrate up, empty database, in process"
WHOLE = "migrate up, empty database, as a whole process"
FLOOR = "psql -1 -f (floor)"
DBMATE = "dbmate"
PROCESS = "socialdb migrate up"
LIBRARY = "socialdb (runner.up)"
TARGET = "socialdb_bench_migrate"
PROCESS_TIMEOUT_S = 300


@dataclass(frozen=True)
class Contender:
    name: str
    run: Callable[[str], None]  # migrates the empty database at this URL


def time_migrate(admin_url: str, runs: int, report: Say, dbmate: Path | None = None) -> list[Measure]:
    """Each contender `runs` times, interleaved; measures for the two tables of the report."""
    migrations = load_migrations(default_directory())
    report(f"timing migrate up, {runs} runs: " + ", ".join([FLOOR, *([DBMATE] if dbmate else []), PROCESS, LIBRARY]))
    with tempfile.TemporaryDirectory(prefix="socialdb-bench-migrate-") as work:
        times = interleaved(admin_url, _contenders(migrations, Path(work), dbmate), runs)
    return [
        *(_measure(IN_PROCESS, name, times[name]) for name in (FLOOR, LIBRARY)),
        *(_measure(WHOLE, name, times[name]) for name in (FLOOR, DBMATE, PROCESS) if name in times),
    ]


def interleaved(admin_url: str, contenders: list[Contender], runs: int) -> dict[str, list[float]]:
    """Each contender `runs` times on a new empty database, in an order that rotates from run
    to run; milliseconds by contender."""
    times: dict[str, list[float]] = {c.name: [] for c in contenders}
    for n in range(runs):
        for contender in contenders[n % len(contenders) :] + contenders[: n % len(contenders)]:
            drop_database(admin_url, TARGET)
            url = create_database(admin_url, TARGET)
            started = time.perf_counter()
            contender.run(url)
            times[contender.name].append((time.perf_counter() - started) * 1000)
    drop_database(admin_url, TARGET)
    return times


def find_dbmate(given: Path | None) -> Path | None:
    """dbmate's binary: `given`, else the one on PATH; npm's node wrapper is traded for the Go binary it starts."""
    found = shutil.which("dbmate")
    candidate = given or (Path(found) if found else None)
    if candidate is None:
        return None
    real = candidate.resolve()
    if real.suffix == ".js":  # node_modules/dbmate/dist/cli.js: starting node is no part of dbmate's cost
        binaries = sorted(real.parents[2].glob("@dbmate/*/bin/dbmate"))
        return binaries[0] if binaries else candidate
    return candidate


def _measure(operation: str, name: str, ms: list[float]) -> Measure:
    return Measure(operation, name, len(ms), len(ms), sum(ms) / 1000, ms)


def _contenders(migrations: list[Migration], work: Path, dbmate: Path | None) -> list[Contender]:
    floor_sql = work / "floor.sql"
    ups = [re.sub(r"\bCONCURRENTLY\b", "", m.up) for m in migrations]
    floor_sql.write_text("\n".join([history_ddl(), *ups]), encoding="utf-8")
    psql = [
        psql_path() or shutil.which("psql") or "psql",
        "-X",
        "-q",
        "-1",
        "-v",
        "ON_ERROR_STOP=1",
        "-f",
        str(floor_sql),
    ]
    found = [Contender(FLOOR, lambda url: _process(FLOOR, [*psql, url]))]
    if dbmate is not None:
        command = [str(dbmate), "--migrations-dir", str(dbmate_files(migrations, work / "dbmate")), "--no-dump-schema"]
        found.append(Contender(DBMATE, lambda url: _process(DBMATE, [*command, "--url", dbmate_url(url), "migrate"])))
    socialdb = [*_socialdb(), "migrate", "up", "--database-url"]
    found.append(Contender(PROCESS, lambda url: _process(PROCESS, [*socialdb, url])))
    found.append(Contender(LIBRARY, _library))
    return found


def _library(url: str) -> None:
    runner.up(url)


def _socialdb() -> list[str]:
    """The `socialdb` command beside this interpreter (what a deploy runs), else `python -m socialdb`."""
    script = Path(sys.executable).with_name("socialdb")
    return [str(script)] if script.exists() else [sys.executable, "-m", "socialdb"]


def _process(name: str, command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # the URL is on the command line
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=PROCESS_TIMEOUT_S, check=False)
    if done.returncode:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
        raise SocialdbError(f"{name} failed (exit {done.returncode}): {' / '.join(last)}")


def dbmate_files(migrations: list[Migration], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for m in migrations:
        if m.directives.transaction:
            head = history_ddl() + "\n" if m is migrations[0] else ""
            text = f"-- migrate:up\n{head}{m.up}\n-- migrate:down\n{m.down or 'SELECT 1;'}\n"
            (folder / f"{m.version:019d}000_{m.name}.sql").write_text(text, encoding="utf-8")
            continue
        for k, statement in enumerate(m.up_statements, 1):
            text = f"-- migrate:up transaction:false\n{statement.sql};\n-- migrate:down transaction:false\nSELECT 1;\n"
            (folder / f"{m.version:019d}{k:03d}_{m.name}.sql").write_text(text, encoding="utf-8")
    return folder


def dbmate_url(url: str) -> str:
    """A libpq URL as dbmate (Go's lib/pq) takes it: a Unix socket folder goes in `socket`."""
    params = {k: str(v) for k, v in conninfo_to_dict(url).items()}
    user = quote(params.get("user", ""), safe="")
    password = f":{quote(params['password'], safe='')}" if params.get("password") else ""
    host, port, dbname = params.get("host", ""), params.get("port", "5432"), quote(params.get("dbname", ""), safe="")
    sslmode = params.get("sslmode", "disable")
    if not host or host.startswith("/"):
        socket = quote(host or "/var/run/postgresql", safe="/")
        return f"postgres://{user}{password}@/{dbname}?socket={socket}&port={port}&sslmode={sslmode}"
    return f"postgres://{user}{password}@{host}:{port}/{dbname}?sslmode={sslmode}"
