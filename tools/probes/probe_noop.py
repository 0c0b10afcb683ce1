"""Whole-process timings of commands, in turn, N rounds (issue 24's no-op `migrate up`).

Prints each command's median wall time, its fastest, and its median CPU time (user + system
of the child, from getrusage), so a loaded machine's figures can be read beside an idle one's.

    uv run python -m tools.probes.probe_noop 15 '.venv/bin/socialdb migrate up --database-url URL' \
        'python -c pass'
"""

from __future__ import annotations

import os
import resource
import shlex
import statistics
import subprocess
import sys
import time


def _once(argv: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    rounds, commands = int(sys.argv[1]), [shlex.split(c) for c in sys.argv[2:]]
    for argv in commands:
        _once(argv)  # the first run writes .pyc files where Python may: not timed
    walls: list[list[float]] = [[] for _ in commands]
    cpus: list[list[float]] = [[] for _ in commands]
    for _ in range(rounds):
        for i, argv in enumerate(commands):
            wall, cpu = _once(argv)
            walls[i].append(wall)
            cpus[i].append(cpu)
    print(f"load average {os.getloadavg()[0]:.1f}, {rounds} rounds")
    print("| command | wall, median (min) | CPU, median |\n|---|---:|---:|")
    for argv, wall_s, cpu_s in zip(commands, walls, cpus, strict=True):
        median, fastest, cpu = (statistics.median(wall_s), min(wall_s), statistics.median(cpu_s))
        print(f"| `{shlex.join(argv)}` | {median * 1000:,.0f} ms ({fastest * 1000:,.0f} ms) | {cpu * 1000:,.0f} ms |")


if __name__ == "__main__":
    main()
