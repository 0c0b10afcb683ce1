"""Write a benchmark run into docs/performance.md (between markers, keeping the analysis) and a chart."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from socialdb.bench.run import Run, machine
from socialdb.bench.workload import Measure

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
THROUGHPUT_UNITS = {"webhook": "messages/s", "batched": "messages/s", "record": "events/s"}


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
        lines += [f"**{operation}**", "", f"| schema | calls | {_unit(operation)} | p50 ms | p95 ms | p99 ms | ratio |",
                  "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        base = measures[0]
        for m in measures:
            if operation.startswith("migrate"):
                ratio = m.seconds / base.seconds if base.seconds else 0.0
                ratio_text = f"{ratio:.2f}x the time"
            else:
                ratio = m.rate / base.rate if base.rate else 0.0
                ratio_text = f"{ratio:.2f}x"
            lines.append(
                f"| {m.schema} | {m.calls:,} | {m.rate:,.1f} | {m.percentile(50):.2f} | {m.percentile(95):.2f}"
                f" | {m.percentile(99):.2f} | {ratio_text} |"
            )
        lines.append("")
    for key, value in run.notes.items():
        if key != "spec skipped":
            lines.append(f"- {key}: {value}")
    lines += ["", f"![latency percentiles]({chart_name})", "", END]
    return "\n".join(lines)


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

    timed = [m for m in run.measures if len(m.latencies_ms) > 5]
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
