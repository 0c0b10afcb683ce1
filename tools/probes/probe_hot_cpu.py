"""CPU per call of the hot paths, the server's and the client's, for one version of the code (issue 22).

Wall latencies on this machine's two shared cores move by up to 27% between runs of the same
code; CPU time per call moves far less, so two versions can be compared while other work runs.
Run it with each version's own interpreter against a server where that version's
`socialdb bench generate` loaded the data (its own server: the databases share names):

    uv run python -m tools.probes.probe_hot_cpu ADMIN_URL SECONDS [OPERATION ...]

(in an older checkout, which may not have this file: copy it out and run it there with
`uv run python /tmp/probe_hot_cpu.py ...`; it uses only what the benchmark had at cc11c24).

For each operation it runs the benchmark's own step (`socialdb.bench.workload`, the calls the
benchmark times) for SECONDS on a connection of its own, then prints one line: the operation,
the calls made, the server's CPU per call in microseconds (the backend's, read from the
postmaster's reaped children in /proc once the connection has closed: 10 ms ticks) and the
client's (this process's CPU). Autovacuum is turned off on the server for the probe (its
workers are reaped children too) and turned back on at the end, unless
SOCIALDB_PROBE_KEEP_AUTOVACUUM is set: tools/probes/probe_hot_ab.py turns it off on both
servers for the whole comparison, so that neither server vacuums while the other is measured.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psycopg

from socialdb.bench import workload
from socialdb.bench.run import OURS, url_for

TICK = os.sysconf("SC_CLK_TCK")
WRITES = ("webhook ingest", "batch ingest")


def reaped_cpu(postmaster: int) -> float:
    """Seconds of CPU of the postmaster's children that have ended (cutime + cstime)."""
    fields = Path(f"/proc/{postmaster}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[13]) + int(fields[14])) / TICK  # fields 16 and 17 of proc(5)


def postmaster_pid(admin_url: str) -> int:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None
    return int((Path(str(row[0])) / "postmaster.pid").read_text().split()[0])


def run(operation: str, url: str, s: workload.Sample, seconds: float, tag: str) -> int:
    """The benchmark's step for `operation`; returns how many calls it made."""
    if operation == "webhook ingest":
        return workload.webhook_ingest(url, "socialdb", s, seconds, 1, tag).calls
    if operation == "batch ingest":
        return workload.batch_ingest(url, "socialdb", s, 40, 100, tag).calls
    return workload.read(url, "socialdb", s, seconds, operation).calls


def autovacuum(admin_url: str, on: bool) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET autovacuum = {'on' if on else 'off'}")
        conn.execute("SELECT pg_reload_conf()")


def main() -> None:
    admin_url, seconds = sys.argv[1], float(sys.argv[2])
    operations = sys.argv[3:] or [*workload.READS, *WRITES]
    url = url_for(admin_url, OURS)
    postmaster = postmaster_pid(admin_url)
    s = workload.sample(url)
    toggle = not os.environ.get("SOCIALDB_PROBE_KEEP_AUTOVACUUM")
    if toggle:
        autovacuum(admin_url, False)
    try:
        for operation in operations:
            time.sleep(0.3)  # earlier connections reaped
            server, client = reaped_cpu(postmaster), time.process_time()
            calls = run(operation, url, s, seconds, f"cpu-{time.time_ns()}")
            client = time.process_time() - client
            time.sleep(0.3)  # the backend ended and was reaped
            server = reaped_cpu(postmaster) - server
            print(f"{operation}\t{calls}\t{server / calls * 1e6:.1f}\t{client / calls * 1e6:.1f}", flush=True)
    finally:
        if toggle:
            autovacuum(admin_url, True)


if __name__ == "__main__":
    main()
