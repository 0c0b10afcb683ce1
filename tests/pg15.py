"""Servers of the machine's PostgreSQL 15 that a test module starts for itself: a primary and its
standby (tests/test_replica.py), a Citus coordinator and its workers (tests/citus.py).

PostgreSQL refuses to run as root: as root, every program runs as the `postgres` OS user
(runuser), and the folders it writes must be that user's. Every wait is bounded.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

PG15 = Path("/usr/lib/postgresql/15/bin")
START_S = 20.0  # how long `pg_ctl start -w` waits for a server to accept connections


def unavailable(*programs: str) -> str | None:
    """Why PostgreSQL 15 servers cannot be started here (the reason of a skip), or None."""
    missing = [p for p in programs if not (PG15 / p).is_file()]
    if missing:
        return f"PostgreSQL 15 binaries not found in {PG15} ({', '.join(missing)})"
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "running as root and there is no postgres user: PostgreSQL refuses to run as root"
    if shutil.which("runuser") is None:
        return "running as root without runuser: cannot start PostgreSQL as the postgres user"
    return None


def as_postgres() -> list[str]:
    """The command prefix that runs a PostgreSQL program: none unless we are root (see unavailable())."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    assert runuser is not None, unavailable()
    return [runuser, "-u", "postgres", "--"]


def give_to_postgres(folder: Path) -> None:
    """As root, `folder` (a new temporary one) becomes the postgres user's, for initdb to write in."""
    if os.geteuid() == 0:
        os.chown(folder, pwd.getpwnam("postgres").pw_uid, -1)


def free_port() -> int:
    """A port no local TCP listener uses now (the servers listen on it, or name their socket by it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(prefix: list[str], *args: str, timeout_s: float = 60) -> None:
    """One PostgreSQL program, bounded; a failure raises with what it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}  # no PGHOST/PGPORT of the caller's
    done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=timeout_s, env=env, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")


def initdb(prefix: list[str], data: Path) -> None:
    """A new cluster in `data`: superuser `postgres`, trust authentication, UTF8, no fsync of its files."""
    run(
        prefix,
        str(PG15 / "initdb"),
        "-D",
        str(data),
        "-A",
        "trust",
        "-U",
        "postgres",
        *("--no-locale", "-E", "UTF8", "-N"),
    )


def start(prefix: list[str], data: Path, root: Path, port: int, *settings: str, listen: str = "") -> None:
    """Start the server of `data` on `port`, its socket in `root`, TCP on `listen` only ('' for none);
    its log is `root/<data's name>.log`, whose end a failure to start shows."""
    options = " ".join([f"-c listen_addresses='{listen}' -k {root} -p {port}", "-c fsync=off", *settings])
    log = root / f"{data.name}.log"
    try:
        run(
            prefix,
            *(str(PG15 / "pg_ctl"), "-D", str(data), "-l", str(log)),
            *("-w", "-t", str(int(START_S)), "-o", options, "start"),
            timeout_s=START_S + 10,
        )
    except AssertionError as exc:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise AssertionError(f"{exc}\n{data.name} log:\n{tail}") from None


def stop(prefix: list[str], data: Path) -> None:
    """Stop the server of `data` at once (`-m immediate`), if it runs."""
    if (data / "postmaster.pid").exists():
        subprocess.run(
            [*prefix, str(PG15 / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
