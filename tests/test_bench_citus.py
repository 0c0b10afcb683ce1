"""`socialdb bench citus` (issue 26, item 5): the hot paths on one server and on Citus, side by side.

The pure parts without a server: the medians and ratios, the report, where it is written, the
command line. Then one run of the command as a process at a tiny scale, for a fraction of a
second per path, against an empty database of the suite's server and one of the Citus cluster
(tests/citus.py): the report has every path, with figures for both topologies. No timing is
asserted: the figures of a run this small on a shared machine say nothing.
"""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from socialdb.bench import citus as bench
from socialdb.bench.citus import CITUS, SINGLE, Failure, Options, Prepared, Run
from socialdb.bench.generate import Timing
from socialdb.bench.results import Figure
from socialdb.bench.workload import READS, Measure
from socialdb.cli import app
from socialdb.errors import SocialdbError
from tests.citus import Cluster, rows
from tests.helpers import finish, socialdb

PATHS = [p.name for p in bench.paths(Options(scale=0.01, batch=50))]


def _figure(path: str, topology: str, round_number: int, rate: float, p50: float = 1.0) -> Figure:
    return Figure(path, topology, round_number, int(rate), int(rate), 1.0, rate, p50, 2 * p50, 3 * p50)


def _measure(path: str, topology: str, round_number: int, calls: int) -> Measure:
    return Measure(path, topology, calls, calls, 1.0, [1.0 + i % 3 for i in range(calls)], round_number)


def _run(measures: list[Measure], failures: tuple[Failure, ...] = ()) -> Run:
    prepared = Prepared(
        (Timing("migrate up, one server", 0, 1.5), Timing("messages", 1000, 2.0)),
        {SINGLE: "PostgreSQL 15.18", CITUS: "PostgreSQL 15.18, Citus 13.2.2: a coordinator and 2 worker(s), 4 shards"},
    )
    return Run(Options(0.01, 0.5, 2, 4, 50), prepared, tuple(measures), tuple(failures), 12.0, (1.5, 1.0, 0.5),
               (1.7, 1.1, 0.6), datetime(2026, 12, 7, 18, 0, tzinfo=UTC))  # fmt: skip


def test_the_paths_are_the_hot_paths_that_run_on_citus() -> None:
    writes = ["webhook ingest, 1 connection", "webhook ingest, 8 connections", "batched ingest, 50 per batch",
              "record events, 50 per batch"]  # fmt: skip
    assert [p.name for p in bench.paths(Options(scale=0.01, batch=50))] == [*READS, *writes]
    assert Options().batch == 5000  # bench run's; Citus failed there until 060 (decisions 268, 273)


def test_the_topologies_alternate_which_goes_first() -> None:
    assert [bench.order(n)[0] for n in (1, 2, 3)] == [SINGLE, CITUS, SINGLE]


def test_rows_are_medians_over_the_rounds_and_the_ratio_is_the_median_of_the_rounds_ratios() -> None:
    figures = [
        _figure("inbox page", SINGLE, 1, 1000, p50=0.2), _figure("inbox page", CITUS, 1, 250, p50=1.0),
        _figure("inbox page", SINGLE, 2, 800, p50=0.4), _figure("inbox page", CITUS, 2, 400, p50=2.0),
        _figure("inbox page", SINGLE, 3, 900, p50=0.3), _figure("inbox page", CITUS, 3, 300, p50=1.5),
    ]  # fmt: skip
    [row] = bench.rows(figures)
    assert row.path == "inbox page"
    assert row.medians[SINGLE].rate == 900 and row.medians[CITUS].rate == 300
    assert row.medians[SINGLE].p50_ms == 0.3 and row.medians[CITUS].p95_ms == 3.0
    assert row.ratios == (0.25, 0.5, 1 / 3)
    assert row.ratio == pytest.approx(1 / 3)


def test_a_path_that_failed_on_a_topology_says_so_and_has_no_ratio() -> None:
    [row] = bench.rows([_figure("inbox page", SINGLE, 1, 1000)])
    assert set(row.medians) == {SINGLE} and row.ratio is None
    measures = [_measure(p, t, 1, 10) for p in PATHS for t in (SINGLE, CITUS) if (p, t) != (PATHS[-1], CITUS)]
    failure = Failure(PATHS[-1], CITUS, 1, "out of memory DETAIL: Cannot enlarge string buffer")
    text = bench.render(_run(measures, (failure,)), "socialdb bench citus")
    [line] = [x for x in text.splitlines() if x.startswith(f"| {PATHS[-1]} |")]
    assert [c.strip() for c in line.strip("|").split("|")][2:] == ["10.0", "failed", "-", "2.00 / 3.00", "-", "-"]
    assert f"- {PATHS[-1]}, Citus, round 1: out of memory DETAIL: Cannot enlarge string buffer" in text


def test_the_report_has_every_path_for_both_topologies_the_load_and_what_it_cannot_show() -> None:
    measures = [_measure(p, t, r, 10 if t == SINGLE else 5) for r in (1, 2) for p in PATHS for t in (SINGLE, CITUS)]
    text = bench.render(_run(measures), "socialdb bench citus --scale 0.01")
    assert text.startswith(bench.BEGIN) and text.endswith(bench.END)
    assert "`socialdb bench citus --scale 0.01`" in text
    assert "load average (1, 5, 15 min): 1.50, 1.00, 0.50 before; 1.70, 1.10, 0.60 after" in text
    assert "Citus 13.2.2: a coordinator and 2 worker(s), 4 shards" in text
    assert "Emulated:" in text and "What this cannot show" in text
    assert "not measured: sign-up, connecting an account, creating a link" in text
    for path in PATHS:
        [line] = [x for x in text.splitlines() if x.startswith(f"| {path} |")]
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[2:5] == ["10.0", "5.0", "**0.50x**"], line
        assert cells[7] == "0.50x, 0.50x", line


def test_write_replaces_its_block_and_keeps_the_rest(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    bench.write(doc, f"{bench.BEGIN}\nfirst\n{bench.END}")
    assert doc.read_text() == f"# Performance\n\n{bench.BEGIN}\nfirst\n{bench.END}\n"
    doc.write_text(f"# P\n\nabove\n\n{bench.BEGIN}\nfirst\n{bench.END}\n\nbelow\n")
    bench.write(doc, f"{bench.BEGIN}\nsecond\n{bench.END}")
    assert doc.read_text() == f"# P\n\nabove\n\n{bench.BEGIN}\nsecond\n{bench.END}\n\nbelow\n"


def test_the_command_line_both_urls_required_and_the_options_echoed() -> None:
    result = CliRunner().invoke(app, ["bench", "citus", "--single-url", "postgresql://x/y"])
    assert result.exit_code == 2
    assert "--coordinator-url" in result.output
    assert (
        Options(0.05, 2, 3, 8).command()
        == "socialdb bench citus --scale 0.05 --seconds 2 --rounds 3 --shard-count 8 --batch 5000"
    )


def test_the_tool_that_starts_the_servers_imports_and_says_how_to_run_it() -> None:
    tool = importlib.import_module("tools.bench_citus")
    assert tool.__doc__ and "uv run python -m tools.bench_citus" in tool.__doc__
    assert tool.NODES == ("single", "coordinator", "worker1", "worker2")


def test_a_coordinator_without_citus_is_refused_before_any_change(db_url: str, empty_db_url: str) -> None:
    with pytest.raises(SocialdbError, match="--coordinator-url: no citus extension"):
        bench.check(empty_db_url, db_url)


def test_the_command_on_a_server_and_the_cluster_reports_every_path_for_both(
    citus_cluster: Cluster, empty_db_url: str, tmp_path: Path
) -> None:
    coordinator = citus_cluster.create_database("bench_citus")
    out = tmp_path / "report.md"
    proc = socialdb("bench", "citus", "--single-url", empty_db_url, "--coordinator-url", coordinator,
                    "--scale", "0.002", "--seconds", "0.1", "--rounds", "1", "--shard-count", "4", "--batch", "50", "--output", str(out))  # fmt: skip
    try:
        _, err = finish(proc, 120)
        assert proc.returncode == 0, err
        text = out.read_text()
        for path in PATHS:
            [line] = [x for x in text.splitlines() if x.startswith(f"| {path} |")]
            cells = [c.strip() for c in line.strip("|").split("|")]
            assert all(re.fullmatch(r"[\d,.]+", c) for c in cells[2:4]), text  # both topologies' throughput
            assert all(re.fullmatch(r"[\d.]+ / [\d.]+", c) for c in cells[5:7]), line  # both p50 / p95
        distributed = {r[0] for r in rows(coordinator, "SELECT logicalrelid::text FROM pg_dist_partition")}
        assert {"users", "messages", "conversations"} <= distributed
    finally:  # the cluster is shared by every Citus test: its roles as the next test expects them
        with psycopg.connect(empty_db_url, autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {bench.ROLE}")
        with psycopg.connect(coordinator, autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {bench.ROLE}")
            conn.execute("ALTER ROLE socialdb_owner NOLOGIN")
