"""Two versions' hot paths in CPU per call, in interleaved rounds (issues 22 and 26).

    uv run python -m tools.probes.probe_hot_ab OLD_CHECKOUT OLD_ADMIN_URL NEW_ADMIN_URL ROUNDS SECONDS [OPERATION ...]

Each round runs tools/probes/probe_hot_cpu.py once for each version, in turn (the order
alternating by round): the old one with OLD_CHECKOUT's own interpreter against OLD_ADMIN_URL,
the new one with this checkout's against NEW_ADMIN_URL (each server loaded by its own
version's `socialdb bench generate`). Autovacuum is off on both servers for the whole run, so
that neither vacuums while the other is measured, and on again at the end. It prints one
Markdown row per operation: the medians of server and client CPU per call, the median of the
rounds' ratios, and the total ratio (server plus client) of each round. With OPERATIONs (the
names probe_hot_cpu prints), only those.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.probes.probe_hot_cpu import autovacuum

PROBE = Path(__file__).with_name("probe_hot_cpu.py")
Sample = dict[str, tuple[int, float, float]]  # operation -> (calls, server us, client us)


def measure(checkout: Path, probe: Path, admin_url: str, seconds: str, operations: list[str]) -> Sample:
    argv = [str(checkout / ".venv" / "bin" / "python"), str(probe), admin_url, seconds, *operations]
    env = os.environ | {"SOCIALDB_PROBE_KEEP_AUTOVACUUM": "1"}
    out = subprocess.run(argv, cwd=checkout, env=env, capture_output=True, text=True, timeout=1800, check=True)
    found: Sample = {}
    for line in out.stdout.splitlines():
        operation, calls, server, client = line.split("\t")
        found[operation] = (int(calls), float(server), float(client))
    return found


def table(old: list[Sample], new: list[Sample]) -> list[str]:
    lines = [
        "| operation | server CPU per call, old → new (µs) | ratio | client CPU per call, old → new (µs) | ratio"
        " | total ratio | the rounds' total ratios |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for operation in old[0]:
        o, n = [s[operation] for s in old], [s[operation] for s in new]
        server = statistics.median(b[1] / a[1] for a, b in zip(o, n, strict=True))
        client = statistics.median(b[2] / a[2] for a, b in zip(o, n, strict=True))
        totals = [(b[1] + b[2]) / (a[1] + a[2]) for a, b in zip(o, n, strict=True)]
        lines.append(
            f"| {operation} | {statistics.median(a[1] for a in o):,.0f} → {statistics.median(b[1] for b in n):,.0f}"
            f" | {server:.2f} | {statistics.median(a[2] for a in o):,.0f} → {statistics.median(b[2] for b in n):,.0f}"
            f" | {client:.2f} | **{statistics.median(totals):.2f}** | {', '.join(f'{t:.2f}' for t in sorted(totals))} |"
        )
    return lines


def main() -> None:
    old_checkout, old_url, new_url, rounds, seconds = sys.argv[1:6]
    operations = sys.argv[6:]
    new_checkout = Path.cwd()
    with tempfile.TemporaryDirectory() as scratch:
        probe = Path(shutil.copy(PROBE, scratch))  # an old checkout may not have it
        sides = {"old": (Path(old_checkout), old_url), "new": (new_checkout, new_url)}
        found: dict[str, list[Sample]] = {"old": [], "new": []}
        for url in (old_url, new_url):
            autovacuum(url, False)
        try:
            for index in range(int(rounds)):
                for side in ("old", "new") if index % 2 == 0 else ("new", "old"):
                    checkout, url = sides[side]
                    found[side].append(measure(checkout, probe, url, seconds, operations))
                print(f"round {index + 1} of {rounds}", file=sys.stderr, flush=True)
        finally:
            for url in (old_url, new_url):
                autovacuum(url, True)
    print("\n".join(table(found["old"], found["new"])))


if __name__ == "__main__":
    main()
