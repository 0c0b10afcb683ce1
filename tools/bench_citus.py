"""Throwaway servers for `socialdb bench citus` (issue 26, item 5): one PostgreSQL 15 server, and a
Citus coordinator with two workers, all on this machine; runs the command against them, then
stops and removes them.

    uv run python -m tools.bench_citus --scale 1 --output docs/performance.md

Every server is the machine's PostgreSQL 15 with the same settings (SETTINGS), listening on
127.0.0.1 at a free port, `trust` authentication (throwaway, local only); the Citus nodes add
`shared_preload_libraries = 'citus'` and prepared transactions. One initdb: the other data
folders are copies made before any server starts. As root, every PostgreSQL program runs as
the `postgres` OS user (it refuses root), in a folder that user owns. The package never starts
a server: `socialdb bench citus` takes the two URLs.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

PG15 = Path("/usr/lib/postgresql/15/bin")
HOST = "127.0.0.1"
DATABASE = "socialdb_bench"
NODES = ("single", "coordinator", "worker1", "worker2")
# Every server alike (the Citus nodes add CITUS): durable commits, as in production.
SETTINGS = ("-c max_connections=200", "-c shared_buffers=512MB", "-c max_wal_size=4GB")
CITUS = ("-c shared_preload_libraries=citus", "-c max_prepared_transactions=100")


def _prefix() -> list[str]:
    """runuser -u postgres -- as root (PostgreSQL refuses to run as root), else nothing."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise SystemExit("running as root without runuser: cannot start PostgreSQL as the postgres user")
    return [runuser, "-u", "postgres", "--"]


def _run(*args: str, timeout: float = 120) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    done = subprocess.run([*_prefix(), *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def url(port: int, database: str = "postgres") -> str:
    return f"postgresql://postgres@{HOST}:{port}/{database}?connect_timeout=10"


@contextmanager
def servers(root: Path) -> Iterator[dict[str, int]]:
    """The four servers started in `root` (each node's data folder by its name); their ports; stopped after."""
    if os.geteuid() == 0:
        os.chown(root, pwd.getpwnam("postgres").pw_uid, -1)
    ports = {node: _free_port() for node in NODES}
    first = root / NODES[0]
    _run(str(PG15 / "initdb"), "-D", str(first), "-A", "trust", "-U", "postgres", "--no-locale", "-E", "UTF8")
    for node in NODES[1:]:
        _run("cp", "-a", str(first), str(root / node))
    started: list[str] = []
    try:
        for node in NODES:
            settings = [*SETTINGS, *(CITUS if node != "single" else ())]
            options = " ".join([f"-c listen_addresses='{HOST}' -k {root} -p {ports[node]}", *settings])
            _run(str(PG15 / "pg_ctl"), "-D", str(root / node), "-l", str(root / f"{node}.log"), "-w", "-t", "60",
                 "-o", options, "start")  # fmt: skip
            started.append(node)
        yield ports
    finally:
        for node in started:
            _run(str(PG15 / "pg_ctl"), "-D", str(root / node), "-m", "fast", "stop")


def create_databases(ports: dict[str, int]) -> tuple[str, str]:
    """DATABASE on every server; on the Citus nodes with the extension, the coordinator's host set and
    the workers added. The superuser's URLs of the single server's and of the coordinator's."""
    for node, port in ports.items():
        with psycopg.connect(url(port), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        if node != "single":
            with psycopg.connect(url(port, DATABASE), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION citus")
    with psycopg.connect(url(ports["coordinator"], DATABASE), autocommit=True) as conn:
        conn.execute("SELECT citus_set_coordinator_host(%s, %s)", (HOST, ports["coordinator"]))
        for worker in ("worker1", "worker2"):
            conn.execute("SELECT citus_add_node(%s, %s)", (HOST, ports[worker]))
    return url(ports["single"], DATABASE), url(ports["coordinator"], DATABASE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="Leave the servers' folder (stopped) for a look after.")
    args, rest = parser.parse_known_args(argv)
    root = Path(tempfile.mkdtemp(prefix="socialdb-bench-citus-", dir="/tmp"))  # short: socket paths are limited
    started = time.perf_counter()
    try:
        with servers(root) as ports:
            single, coordinator = create_databases(ports)
            up = time.perf_counter() - started
            print(f"servers up in {up:.0f} s, ports: " + ", ".join(f"{n} {p}" for n, p in ports.items()), flush=True)
            command = [sys.executable, "-m", "socialdb", "bench", "citus", "--single-url", single,
                       "--coordinator-url", coordinator, *rest]  # fmt: skip
            code = subprocess.run(command, check=False).returncode
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"whole run: {(time.perf_counter() - started) / 60:.1f} min (servers started, loaded, measured, stopped)")
    return code


if __name__ == "__main__":
    sys.exit(main())
