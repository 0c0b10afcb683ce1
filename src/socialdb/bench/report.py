"""Write a benchmark run into a report (between markers, keeping the analysis) and a chart.

Where: `--output`, else the committed docs/performance.md for a run at the documented
scale (1) only; a run at any other scale (the smoke run at 0.01 in CI and on a laptop)
writes to the system's temporary folder and leaves the committed report alone.
"""

from __future__ import annotations

import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from socialdb.bench import results
from socialdb.bench.results import OURS, SPEC, Comparison, Figure, compare
from socialdb.bench.rounds import PGBENCH, order
from socialdb.bench.run import Run, as_result, machine
from socialdb.bench.workload import REBUILD, REFRESH, Measure, webhook_name

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
DOCUMENTED_SCALE = 1.0  # the scale of the committed report
COMMITTED = Path("docs/performance.md")
SINGLE = (REFRESH, REBUILD)  # one call per schema and round
THROUGHPUT_UNITS = {"webhook": "messages/s", "batched": "messages/s", "record": "events/s"}


def default_output(scale: float) -> Path:
    """The report's file when `--output` is not given: the committed one only at the documented scale."""
    if scale == DOCUMENTED_SCALE:
        return COMMITTED
    return Path(tempfile.gettempdir()) / f"socialdb-bench-scale-{scale:g}" / "performance.md"


def _summary_unit(operation: str) -> str:
    return "s (the one call's time)" if operation in SINGLE else _unit(operation)


def _unit(operation: str) -> str:
    return next((unit for key, unit in THROUGHPUT_UNITS.items() if operation.startswith(key)), "calls/s")


def render(run: Run, command: str, chart_name: str, date: datetime | None = None) -> str:
    figures = [Figure.of(m) for m in run.measures if m.round]
    lines = [
        BEGIN,
        f"Run of {date or datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `{command}`",
        "",
        f"- machine: {machine()}",
        f"- server: {run.server}, on the same machine as the client",
        f"- scale: {run.scale:g} (see `socialdb.bench.generate.SIZES`);"
        f" spec extensions skipped: {run.notes.get('spec skipped', 'none')}",
        "- load (COPY into both databases at once), rows/s: "
        + ", ".join(f"{table} {rate:,.0f}" for table, rate in run.load_rates.items()),
        f"- time: generation {_minutes(run.generated.seconds)}, measuring {_minutes(run.measure_seconds)}"
        f" ({run.options.rounds} round{'s' if run.options.rounds > 1 else ''} of {run.options.seconds:g} s"
        " per timed operation and schema)",
        *([f"- {_ROUNDS_RULE}"] if run.options.rounds > 1 else []),
        "",
    ]
    comparisons = compare(figures)
    if run.options.rounds > 1:
        lines += summary_table(comparisons)
    lines += first_contact_table(comparisons, run.options.shares)
    for c in comparisons:
        lines += _table(c)
    for operation in dict.fromkeys(m.operation for m in run.measures if not m.round):
        lines += migrate_table(operation, [m for m in run.measures if m.operation == operation and not m.round])
    for key, value in run.notes.items():
        if key != "spec skipped":
            lines.append(f"- {key}: {value}")
    lines += ["", f"![latency percentiles]({chart_name})", "", END]
    return "\n".join(lines)


_ROUNDS_RULE = (
    "rounds: in each, every operation runs on both schemas back to back, the spec's first in odd rounds and"
    " ours first in even ones; each table gives the medians over the rounds, and ratio is socialdb's"
    " throughput over the spec's, round by round, then their median"
)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def _order(round_number: int) -> str:
    return "spec first" if order(round_number)[0] == "spec" else "ours first"


def summary_table(comparisons: list[Comparison]) -> list[str]:
    """One line per operation: both schemas' median throughput, each round's ratio, the median ratio."""
    lines = ["**Median of the rounds**", "", "| operation | spec | socialdb | unit | ratio by round | median ratio |",
             "|---|---:|---:|---|---|---:|"]  # fmt: skip
    for c in comparisons:
        each = ", ".join(f"{r:.2f}x" for r in c.ratios)
        spec, ours = c.medians[SPEC].rate, c.medians[OURS].rate
        if c.operation in SINGLE:  # one call a round: its time says more than 0.0 calls/s
            spec, ours = (1 / spec if spec else 0.0), (1 / ours if ours else 0.0)
        lines.append(f"| {c.operation} | {spec:,.1f} | {ours:,.1f} | {_summary_unit(c.operation)} | {each} | "
                     f"**{c.median_ratio:.2f}x** |")  # fmt: skip
    return [*lines, ""]


def first_contact_table(comparisons: list[Comparison], shares: tuple[float, ...]) -> list[str]:
    """The webhook's cells by share of first contacts (issue 22): 0% (the webhook lines above) and each share,
    Python client and pgbench, 1 and 8 connections; both schemas' median messages/s and the median ratio."""
    if not shares:
        return []
    by_name = {c.operation: c for c in comparisons}
    lines = ["**First contact** (share of messages that open a conversation)", "",
             "| first contact | client | connections | spec | socialdb | ratio by round | median ratio |",
             "|---:|---|---:|---:|---:|---|---:|"]  # fmt: skip
    for share in (0.0, *shares):
        for client, suffix in (("Python", ""), ("pgbench", PGBENCH)):
            for connections in (1, 8):
                c = by_name.get(webhook_name(connections, share) + suffix)
                if c is None:
                    continue
                each = ", ".join(f"{r:.2f}x" for r in c.ratios)
                lines.append(f"| {share:.0%} | {client} | {connections} | {c.medians[SPEC].rate:,.0f} |"
                             f" {c.medians[OURS].rate:,.0f} | {each} | **{c.median_ratio:.2f}x** |")  # fmt: skip
    return [*lines, ""]


def _table(c: Comparison) -> list[str]:
    lines = [f"**{c.operation}**", "", f"| schema | calls | {_unit(c.operation)} | p50 ms | p95 ms | p99 ms | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for schema, ratio in ((SPEC, 1.0), (OURS, c.median_ratio)):
        m = c.medians[schema]
        lines.append(
            f"| {schema} | {m.calls:,.0f} | {m.rate:,.1f} | {m.p50_ms:.2f} | {m.p95_ms:.2f} | {m.p99_ms:.2f}"
            f" | {ratio:.2f}x |"
        )
    if len(c.ratios) > 1:
        each = ", ".join(f"{r:.2f}x ({_order(n)})" for r, n in zip(c.ratios, c.rounds, strict=True))
        lines += ["", f"ratio by round: {each}; median {c.median_ratio:.2f}x"]
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


def write(run: Run, command: str, doc: Path, chart: Path) -> Path:
    """The report between its markers in `doc` (the rest of the file kept), its chart, and the run's figures as
    JSON beside the report (`doc` with `.json`); returns the JSON's path."""
    date = datetime.now(UTC)
    block = render(run, command, chart.name, date)
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n\n" + BEGIN + "\n" + END + "\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text += "\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")
    _chart(run, chart)
    data = doc.with_suffix(".json")
    data.write_text(results.dump(as_result(run, command, date)), encoding="utf-8")
    return data


def _chart(run: Run, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    comparisons = compare([Figure.of(m) for m in run.measures if m.round])
    operations = [c.operation for c in comparisons]
    fig, axes = plt.subplots(1, 3, figsize=(15, 0.6 * len(operations) + 2), sharey=True)
    for axis, p in zip(axes, ("p50_ms", "p95_ms", "p99_ms"), strict=True):
        for offset, schema in enumerate((SPEC, OURS)):
            values = [max(getattr(c.medians[schema], p), 1e-3) for c in comparisons]
            axis.barh([i + offset * 0.4 for i in range(len(operations))], values, height=0.4, label=schema)
        axis.set_xscale("log")
        axis.set_title(f"{p[:3]} latency (ms, log scale, median of the rounds)")
    axes[0].set_yticks([i + 0.2 for i in range(len(operations))], operations)
    axes[0].invert_yaxis()
    axes[-1].legend()
    fig.suptitle(f"socialdb vs the spec's schema, scale {run.scale:g}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
