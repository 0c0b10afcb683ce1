"""Write a benchmark run into a report (between markers, keeping the analysis) and a chart.

Where: `--output`, else the committed docs/performance.md for a run at the documented
scale (1) only; a run at any other scale (the smoke run at 0.01 in CI and on a laptop)
writes to the system's temporary folder and leaves the committed report alone.
"""

from __future__ import annotations

import statistics
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from socialdb.bench.run import Run, machine
from socialdb.bench.workload import Measure

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
DOCUMENTED_SCALE = 1.0  # the scale of the committed report
COMMITTED = Path("docs/performance.md")
THROUGHPUT_UNITS = {"webhook": "messages/s", "batched": "messages/s", "record": "events/s"}


def default_output(scale: float) -> Path:
    """The report's file when `--output` is not given: the committed one only at the documented scale."""
    if scale == DOCUMENTED_SCALE:
        return COMMITTED
    return Path(tempfile.gettempdir()) / f"socialdb-bench-scale-{scale:g}" / "performance.md"


def _unit(operation: str) -> str:
    return next((unit for key, unit in THROUGHPUT_UNITS.items() if operation.startswith(key)), "calls/s")


def render(run: Run, command: str, chart_name: str) -> str:
    by_operation: dict[str, list[Measure]] = defaultdict(list)
    for m in run.measures:
        by_operation[m.operation].append(m)
    lines = [
        BEGIN,
        f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `{command}`",
        "",
        f"- machine: {machine()}",
        f"- server: {run.server}, on the same machine as the client",
        f"- scale: {run.scale:g} (see `socialdb.bench.generate.SIZES`);"
        f" spec extensions skipped: {run.notes.get('spec skipped', 'none')}",
        "- load (COPY into both databases at once), rows/s: "
        + ", ".join(f"{table} {rate:,.0f}" for table, rate in run.load_rates.items()),
        "",
    ]
    for operation, measures in by_operation.items():
        lines += migrate_table(operation, measures) if operation.startswith("migrate") else _table(operation, measures)
    for key, value in run.notes.items():
        if key != "spec skipped":
            lines.append(f"- {key}: {value}")
    lines += ["", f"![latency percentiles]({chart_name})", "", END]
    return "\n".join(lines)


def _table(operation: str, measures: list[Measure]) -> list[str]:
    lines = [f"**{operation}**", "", f"| schema | calls | {_unit(operation)} | p50 ms | p95 ms | p99 ms | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    base = measures[0]
    for m in measures:
        ratio = m.rate / base.rate if base.rate else 0.0
        lines.append(
            f"| {m.schema} | {m.calls:,} | {m.rate:,.1f} | {m.percentile(50):.2f} | {m.percentile(95):.2f}"
            f" | {m.percentile(99):.2f} | {ratio:.2f}x |"
        )
    return [*lines, ""]


def migrate_table(operation: str, measures: list[Measure]) -> list[str]:
    """Runs interleaved, a new database each: each one's median, over the floor's (the first row) and over
    dbmate's when it ran, and every run."""
    medians = {m.schema: statistics.median(m.latencies_ms) for m in measures}
    floor, dbmate = medians[measures[0].schema], medians.get("dbmate")
    versus = " x dbmate |" if dbmate else ""
    lines = [f"**{operation}** ({measures[0].calls} runs each, interleaved, a new database each)", "",
             f"| command | median ms | x floor |{versus} each run, ms |",
             "|---|---:|---:|" + ("---:|" if dbmate else "") + "---|"]  # fmt: skip
    for m in measures:
        median = medians[m.schema]
        cells = [m.schema, f"{median:.0f}", f"{median / floor:.2f}x"]
        cells += [f"{median / dbmate:.2f}x"] if dbmate else []
        lines.append("| " + " | ".join([*cells, ", ".join(f"{ms:.0f}" for ms in m.latencies_ms)]) + " |")
    return [*lines, ""]


def write(run: Run, command: str, doc: Path, chart: Path) -> None:
    block = render(run, command, chart.name)
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n\n" + BEGIN + "\n" + END + "\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text += "\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")
    _chart(run, chart)


def _chart(run: Run, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timed = [m for m in run.measures if len(m.latencies_ms) > 5 and not m.operation.startswith("migrate")]
    operations = list(dict.fromkeys(m.operation for m in timed))
    schemas = ["spec", "socialdb"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 0.6 * len(operations) + 2), sharey=True)
    for axis, p in zip(axes, (50, 95, 99), strict=True):
        for offset, schema in enumerate(schemas):
            values = [
                next((m.percentile(p) for m in timed if m.operation == op and m.schema == schema), 0.0)
                for op in operations
            ]
            axis.barh([i + offset * 0.4 for i in range(len(operations))], values, height=0.4, label=schema)
        axis.set_xscale("log")
        axis.set_title(f"p{p} latency (ms, log scale)")
    axes[0].set_yticks([i + 0.2 for i in range(len(operations))], operations)
    axes[0].invert_yaxis()
    axes[-1].legend()
    fig.suptitle(f"socialdb vs the spec's schema, scale {run.scale:g}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
