"""How each operation's cost grows with the data (issue 16): `bench run` results at several scales.

An operation's cost is the time per unit of its work: per call, message or event, the inverse of
its median throughput over the rounds (for a refresh or rebuild, one call, its duration). Its
growth between two scales is the cost's ratio; its exponent, the slope of log(cost) against
log(scale) (least squares when more than two scales): 0 is flat, 1 grows as the data.

The table and a log-log chart go between `<!-- growth:begin -->` and `<!-- growth:end -->` of
the report; nothing else in the file changes (appended at its end when it has no such block).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from socialdb.bench.results import OURS, SPEC, Median, Result, compare
from socialdb.bench.workload import REBUILD, REFRESH
from socialdb.errors import SocialdbError

BEGIN, END = "<!-- growth:begin -->", "<!-- growth:end -->"
HEADING = "## Cost as the data grows (issue 16)"
SINGLE = (REFRESH, REBUILD)  # one call a round: its duration is the figure


@dataclass(frozen=True)
class Line:
    """One operation on one schema at each scale (None where a result lacks it)."""

    operation: str
    schema: str
    medians: tuple[Median | None, ...]

    def costs(self, scales: tuple[float, ...]) -> list[tuple[float, float]]:
        """(scale, seconds per unit of work) where measured."""
        return [(s, 1 / m.rate) for s, m in zip(scales, self.medians, strict=True) if m is not None and m.rate > 0]


def exponent(points: list[tuple[float, float]]) -> float | None:
    """Slope of log(cost) against log(scale), least squares; None with fewer than two scales."""
    if len({s for s, _ in points}) < 2:
        return None
    xs, ys = [math.log(s) for s, _ in points], [math.log(c) for _, c in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def growth(points: list[tuple[float, float]]) -> float | None:
    """The cost at the largest scale over the cost at the smallest."""
    return points[-1][1] / points[0][1] if len(points) >= 2 else None


def ordered(named: list[tuple[Path, Result]]) -> list[tuple[Path, Result]]:
    """Results by scale; a SocialdbError naming the files when fewer than two scales, or one scale twice."""
    by_scale: dict[float, Path] = {}
    for path, result in named:
        if result.scale in by_scale:
            raise SocialdbError(
                f"{by_scale[result.scale]} and {path} are both at scale {result.scale:g}: give one each"
            )
        by_scale[result.scale] = path
    if len(by_scale) < 2:
        raise SocialdbError(
            f"growth needs results at two scales at least; got {', '.join(map(str, by_scale.values()))}"
        )
    return sorted(named, key=lambda item: item[1].scale)


def lines(results: list[Result]) -> list[Line]:
    """Every operation and schema any result measured, in the order of the first result that has it."""
    comparisons = [{c.operation: c for c in compare(list(r.figures))} for r in results]
    operations = list(dict.fromkeys(op for found in comparisons for op in found))
    return [
        Line(op, schema, tuple(found[op].medians[schema] if op in found else None for found in comparisons))
        for op in operations
        for schema in (SPEC, OURS)
    ]


def _cell(operation: str, m: Median | None) -> str:
    if m is None or m.rate <= 0:
        return "—"
    if operation in SINGLE:
        return f"{1 / m.rate:.3g} s"
    return f"{m.rate:,.0f}/s; p50 {m.p50_ms:.2f}, p95 {m.p95_ms:.2f} ms"


def table(results: list[Result]) -> list[str]:
    scales = tuple(r.scale for r in results)
    head = " | ".join(f"scale {s:g}" for s in scales)
    out = [f"| operation | schema | {head} | cost x | exponent |", "|---|---|" + "---:|" * len(scales) + "---:|---:|"]
    for line in lines(results):
        points = line.costs(scales)
        g, e = growth(points), exponent(points)
        cells = [_cell(line.operation, m) for m in line.medians]
        ratio, slope = (f"{g:.2f}x" if g else "—"), (f"{e:.2f}" if e is not None else "—")
        out.append(f"| {line.operation} | {line.schema} | {' | '.join(cells)} | {ratio} | {slope} |")
    return out


def runs_table(named: list[tuple[Path, Result]]) -> list[str]:
    """Each result: when, what data, how long generation and measuring took, each load step."""
    out = ["| scale | run | messages | events | generation | measuring | total | load steps |",
           "|---:|---|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for path, r in named:
        steps = ", ".join(f"{t.step} {_duration(t.seconds)}" for t in r.generation)
        out.append(
            f"| {r.scale:g} | {r.date} (`{path.name}`, {r.rounds} rounds of {r.seconds:g} s) | {r.sizes['messages']:,}"
            f" | {r.sizes['events']:,} | {_duration(r.generation_seconds)} | {_duration(r.measure_seconds)}"
            f" | {_duration(r.total_seconds)} | {steps} |"
        )
    return out


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def render(named: list[tuple[Path, Result]], chart_name: str, command: str) -> str:
    results = [r for _, r in named]
    machines = sorted({r.machine for r in results})
    return "\n".join([
        BEGIN,
        f"Written by `{command}`. Machine: {'; '.join(machines)}. Cost: the time per call, message or event"
        " (the inverse of the median throughput over the rounds; a refresh or rebuild, its duration); cost x:"
        " the cost at the largest scale over the smallest; exponent: the slope of log(cost) against log(scale),"
        " 0 flat, 1 as the data.",
        "",
        *runs_table(named),
        "",
        *table(results),
        "",
        f"![cost against the data, log-log]({chart_name})",
        "",
        END,
    ])  # fmt: skip


def write(named: list[tuple[Path, Result]], doc: Path, chart: Path, command: str) -> None:
    """The block between the growth markers of `doc` (the rest of the file untouched) and its chart."""
    named = ordered(named)
    block = render(named, chart.name, command)
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    if BEGIN in text and END in text.split(BEGIN, 1)[1]:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n{block}\n"
    chart_lines(lines([r for _, r in named]), tuple(r.scale for _, r in named), chart)
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")


def chart_lines(found: list[Line], scales: tuple[float, ...], path: Path) -> None:
    """Each operation's cost relative to the smallest scale, log-log, one panel per schema, with guides."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, axes = plt.subplots(1, 2, figsize=(14, 6), sharey=True)
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    for axis, schema in zip(axes, (SPEC, OURS), strict=True):
        axis.set_prop_cycle(color=[plt.get_cmap("tab20")(i / 20) for i in range(20)])
        for line in (x for x in found if x.schema == schema):
            points = line.costs(scales)
            if len(points) >= 2:
                axis.plot(
                    [s for s, _ in points], [c / points[0][1] for _, c in points], marker="o", label=line.operation
                )
        for slope, style in ((0, ":"), (1, "--")):
            axis.plot(
                scales, [(s / scales[0]) ** slope for s in scales], style, color="grey", label=f"exponent {slope}"
            )
        axis.set_xscale("log")
        axis.set_yscale("log")
        for ticks in (axis.xaxis, axis.yaxis):
            ticks.set_major_formatter(plain)
            ticks.set_minor_formatter(plain)
        axis.set_title(f"{schema}: cost relative to scale {scales[0]:g}")
        axis.set_xlabel("scale (1 = 2M messages, 5M events)")
    axes[0].set_ylabel("time per call, message or event (relative)")
    axes[1].legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
