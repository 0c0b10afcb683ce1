"""Rounds, medians, pgbench's script and output, growth with the data: the benchmark's pure parts (issues 15, 16)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialdb.app import operations as ops
from socialdb.bench import growth, pgbench, results, rounds, run, workload
from socialdb.bench.generate import Timing
from socialdb.bench.report import render
from socialdb.bench.results import Figure, Result, compare
from socialdb.bench.run import Generated, Options, Run
from socialdb.bench.workload import Measure
from socialdb.cli import app
from socialdb.errors import SocialdbError

# --- rounds ---------------------------------------------------------------------------------------


def test_rounds_alternate_which_schema_goes_first_and_run_every_operation_on_both() -> None:
    plan = rounds.schedule(["inbox page", "refresh"], 3)
    assert plan == [
        (1, "inbox page", "spec"), (1, "inbox page", "socialdb"), (1, "refresh", "spec"), (1, "refresh", "socialdb"),
        (2, "inbox page", "socialdb"), (2, "inbox page", "spec"), (2, "refresh", "socialdb"), (2, "refresh", "spec"),
        (3, "inbox page", "spec"), (3, "inbox page", "socialdb"), (3, "refresh", "spec"), (3, "refresh", "socialdb"),
    ]  # fmt: skip


def test_events_come_before_the_refresh_that_sums_them_and_pgbench_follows_the_python_client() -> None:
    names = [op.name for op in rounds.operations(5000)]
    assert names.index("record events (COPY), 5,000 per batch") < names.index(workload.REFRESH)
    assert names.index(workload.REFRESH) < names.index(workload.REBUILD)
    for n in ("1 connection", "8 connections"):
        assert names.index(f"webhook ingest, {n} (pgbench)") == names.index(f"webhook ingest, {n}") + 1
    assert [op.name for op in rounds.operations(5000) if op.needs_pgbench] == [
        "webhook ingest, 1 connection (pgbench)",
        "webhook ingest, 8 connections (pgbench)",
    ]


def test_each_share_of_first_contacts_adds_the_webhook_s_four_cells_and_only_narrows_the_run() -> None:
    names = [op.name for op in rounds.operations(5000, (1.0, 0.05))]
    first = [name for name in names if "first contact" in name]
    assert first == [
        "webhook ingest, 1 connection, 100% first contact", "webhook ingest, 1 connection, 100% first contact (pgbench)",
        "webhook ingest, 8 connections, 100% first contact", "webhook ingest, 8 connections, 100% first contact (pgbench)",
        "webhook ingest, 1 connection, 5% first contact", "webhook ingest, 1 connection, 5% first contact (pgbench)",
        "webhook ingest, 8 connections, 5% first contact", "webhook ingest, 8 connections, 5% first contact (pgbench)",
    ]  # fmt: skip
    assert names.index(first[0]) == names.index("webhook ingest, 8 connections (pgbench)") + 1
    assert [n for n in names if "first contact" not in n] == [op.name for op in rounds.operations(5000)]
    context = rounds.Context({}, workload.Sample([], []), 1.0, 0, 50, None, 0, (0.5,), "first contact")
    assert [op.name for op in rounds.chosen(context)] == [
        "webhook ingest, 1 connection, 50% first contact", "webhook ingest, 8 connections, 50% first contact",
    ]  # fmt: skip
    assert len(rounds.chosen(replace(context, only=None, pgbench=Path("pgbench")))) == len(
        rounds.operations(50, (0.5,))
    )


def test_first_contacts_run_from_scale_0_05_unless_asked_so_the_smoke_run_stays_short() -> None:
    assert run.default_shares(0.01) == () and run.default_shares(0.05) == run.default_shares(1) == (1.0, 0.5, 0.05)
    assert run.shares([100, 50, 5, 50, 0]) == (1.0, 0.5, 0.05) and run.shares([0]) == ()
    assert rounds.expected_seconds(1, 10, 3, True, 5, 3) > rounds.expected_seconds(1, 10, 3, True, 5)


def test_the_forecast_grows_with_rounds_seconds_and_scale() -> None:
    base = rounds.expected_seconds(1, 10, 3, True, 5)
    assert 20 * 60 < base < 40 * 60  # docs/performance.md: a round was about 6 min at scale 1 with 10 s
    assert rounds.expected_seconds(1, 10, 1, True, 5) < base < rounds.expected_seconds(5, 10, 3, True, 5)
    assert rounds.expected_seconds(1, 10, 3, False, 5) < base


# --- medians and the report ----------------------------------------------------------------------


def figure(operation: str, schema: str, round_number: int, rate: float, p50: float = 1.0) -> Figure:
    return Figure(operation, schema, round_number, int(rate), int(rate), 1.0, rate, p50, p50 * 2, p50 * 3)


def test_each_round_has_its_ratio_and_the_median_is_of_the_ratios_not_of_the_rates() -> None:
    figures = [
        figure("inbox page", "spec", 1, 100, 1.0), figure("inbox page", "socialdb", 1, 200, 0.5),
        figure("inbox page", "socialdb", 2, 90, 0.6), figure("inbox page", "spec", 2, 100, 1.1),
        figure("inbox page", "spec", 3, 50, 2.0), figure("inbox page", "socialdb", 3, 45, 0.4),
        figure("only ours", "socialdb", 1, 10),
    ]  # fmt: skip
    [c] = compare(figures)  # an operation measured on one schema only is no comparison
    assert c.ratios == (2.0, 0.9, 0.9) and c.rounds == (1, 2, 3)
    assert c.median_ratio == 0.9
    assert c.medians["spec"].rate == 100 and c.medians["socialdb"].rate == 90
    assert c.medians["socialdb"].p50_ms == 0.5 and c.medians["spec"].p95_ms == 2.2


def test_a_round_missing_one_schema_gives_no_ratio() -> None:
    figures = [figure("x", "spec", 1, 10), figure("x", "socialdb", 1, 20), figure("x", "spec", 2, 10)]
    [c] = compare(figures)
    assert c.ratios == (2.0,) and c.rounds == (1,)


def a_run(measures: list[Measure], rounds_: int) -> Run:
    generated = Generated(1.0, (Timing("messages", 2_000_000, 40.0),), {})
    return Run(1.0, "PostgreSQL 99", Options(10.0, rounds_), generated, tuple(measures), {}, 600.0)


def test_the_report_tables_the_first_contact_cells_by_share_client_and_connections() -> None:
    names = [(workload.webhook_name(c, share) + suffix, share, suffix, c)
             for share in (0.0, 1.0) for suffix in ("", rounds.PGBENCH) for c in (1, 8)]  # fmt: skip
    measures = [
        Measure(name, schema, n, n, 10.0, [1.0] * 10, round=r)
        for name, *_ in names
        for r in (1, 2, 3)
        for schema, n in (("spec", 1000), ("socialdb", 900 + 100 * r))
    ]
    generated = Generated(1.0, (Timing("load", 1, 1.0),), {})
    run_ = Run(1.0, "PostgreSQL 99", Options(10.0, 3, shares=(1.0,)), generated, tuple(measures), {}, 600.0)
    text = render(run_, "cmd", "performance.png")
    assert "| first contact | client | connections | spec | socialdb | ratio by round | median ratio |" in text
    assert "| 100% | pgbench | 8 | 100 | 110 | 1.00x, 1.10x, 1.20x | **1.10x** |" in text
    assert "| 0% | Python | 1 | 100 | 110 | 1.00x, 1.10x, 1.20x | **1.10x** |" in text
    assert "First contact" not in render(a_run(measures, 3), "cmd", "performance.png")  # no shares, no table


def test_the_report_shows_each_round_s_ratio_with_its_order_and_the_median() -> None:
    measures = [
        Measure("webhook ingest, 1 connection", schema, n, n, 10.0, [1.0] * 10, round=r)
        for r, spec, ours in ((1, 1000, 900), (2, 1000, 1100), (3, 1000, 1050))
        for schema, n in (("spec", spec), ("socialdb", ours))
    ]
    measures += [Measure(workload.REFRESH, s, 1, 1, t, [t * 1000], round=r)
                 for r in (1, 2, 3) for s, t in (("spec", 40.0), ("socialdb", 0.05))]  # fmt: skip
    text = render(a_run(measures, 3), "cmd", "performance.png")
    assert "| webhook ingest, 1 connection | 100.0 | 105.0 | messages/s | 0.90x, 1.10x, 1.05x | **1.05x** |" in text
    assert "ratio by round: 0.90x (spec first), 1.10x (ours first), 1.05x (spec first); median 1.05x" in text
    assert "| socialdb | 1,050 | 105.0 | 1.00 | 1.00 | 1.00 | 1.05x |" in text  # medians of the rounds
    # A refresh is one call a round: the summary gives its time, not 0.0 calls/s.
    assert f"| {workload.REFRESH} | 40.0 | 0.1 | s (the one call's time) | 800.00x, 800.00x, 800.00x |" in text
    assert "- time: generation 40.0 s, measuring 10.0 min (3 rounds of 10 s" in text


# --- pgbench ----------------------------------------------------------------------------------------

PG18_OUTPUT = """pgbench (18.6)
transaction type: /tmp/ingest-socialdb.sql
scaling factor: 1
query mode: prepared
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 33051
number of failed transactions: 2 (0.006%)
latency average = 2.420 ms
initial connection time = 17.173 ms
tps = 3305.409592 (without initial connection time)
"""
PG13_OUTPUT = """number of transactions actually processed: 1200
latency average = 0.832 ms
tps = 1190.000000 (including connections establishing)
tps = 1201.500000 (excluding connections establishing)
"""


def test_pgbench_s_summary_is_read_from_its_output_old_and_new() -> None:
    assert pgbench.parse_summary(PG18_OUTPUT) == pgbench.Summary(33051, 2, 2.42, 3305.409592)
    assert pgbench.parse_summary(PG13_OUTPUT) == pgbench.Summary(1200, 0, 0.832, 1201.5)


def test_pgbench_output_without_its_figures_is_an_error_naming_them() -> None:
    with pytest.raises(SocialdbError, match="pgbench's output has no tps line"):
        pgbench.parse_summary("number of transactions actually processed: 5\n")
    with pytest.raises(SocialdbError, match="no transactions or tps line"):
        pgbench.parse_summary("pgbench: error: connection to server failed")


def test_pgbench_s_log_gives_latencies_in_ms_and_leaves_failures_out() -> None:
    log = ["0 1 482 0 1795757905 957329", "0 2 1530 0 1795757905 958859", "1 3 failed 0 1795757905 960000",
           "1 4 serialization 0 1795757906 1000", ""]  # fmt: skip
    assert pgbench.parse_log(log) == [0.482, 1.53]


@pytest.mark.parametrize(("schema", "statement"), [("socialdb", ops.INGEST_STATEMENT), ("spec", workload.SPEC_INGEST)])
def test_pgbench_sends_the_python_workload_s_statement_with_each_parameter_an_expression(
    schema: str, statement: str
) -> None:
    text = pgbench.script(schema)
    sql = text.splitlines()[-1]
    assert "%(" not in sql and sql.endswith(";")
    # Every parameter replaced where it stood, nothing else changed.
    expected = " ".join(statement.split())
    for name, expression in pgbench.PARAMETERS.items():
        expected = expected.replace(f"%({name})s", expression)
    assert sql == expected + ";"
    assert text.splitlines()[0] == "\\set n 1 + :client_id + :clients * random(0, :per - 1)"
    if schema == "socialdb":
        assert sql.startswith("SELECT seller_ingest_message((SELECT seller FROM bench.ingest_targets WHERE n = :n),")


@pytest.mark.parametrize("schema", ["socialdb", "spec"])
def test_pgbench_draws_a_share_of_first_contacts_as_a_conversation_id_never_seen(schema: str) -> None:
    text = pgbench.script(schema, 0.05)
    lines = text.splitlines()
    assert lines[:3] == [*pgbench.script(schema).splitlines()[:2],
                         "\\set first CASE WHEN random(1, 10000) <= 500 THEN 1 ELSE 0 END"]  # fmt: skip
    lookup = pgbench.PARAMETERS["conversation"]
    conversation = f"CASE WHEN :first = 1 THEN 'fc-' || CAST(:m AS text) ELSE {lookup} END"
    assert lines[-1] == pgbench.script(schema).splitlines()[-1].replace(lookup, conversation, 1)
    assert "\\set first" in pgbench.script(schema, 1.0) and "<= 10000 " in pgbench.script(schema, 1.0)


def test_each_pgbench_client_draws_only_its_own_conversations() -> None:
    # \set n 1 + :client_id + :clients * random(0, :per - 1), for every client and draw:
    clients, targets = 8, 2001
    per = targets // clients
    drawn = {c: {1 + c + clients * k for k in range(per)} for c in range(clients)}
    assert all(1 <= n <= targets for ns in drawn.values() for n in ns)
    assert sum(len(ns) for ns in drawn.values()) == len(set().union(*drawn.values()))  # disjoint
    job = pgbench.Job(Path("/x/pgbench"), "postgresql:///db", "spec", clients, 10, targets, 7)
    command = job.command(Path("s.sql"), Path("log"), "dbname=db")
    assert command[command.index("-D") + 1 :: 2][:2] == ["clients=8", f"per={per}"]
    assert {"-n", "-l", "--random-seed=7", "prepared"} <= set(command) and command[-1] == "dbname=db"


def test_pgbench_is_found_or_none(tmp_path: Path) -> None:
    given = tmp_path / "pgbench"
    assert pgbench.find(given) == given
    found = pgbench.find()
    assert found is None or (found.name == "pgbench" and found.is_file())


# --- growth -----------------------------------------------------------------------------------------


def test_the_exponent_is_the_slope_in_log_log() -> None:
    assert growth.exponent([(1, 2.0), (5, 2.0)]) == 0.0
    assert math.isclose(growth.exponent([(1, 2.0), (5, 10.0)]) or 0, 1.0)
    assert math.isclose(growth.exponent([(1, 1.0), (4, 2.0), (16, 4.0)]) or 0, 0.5)  # least squares, 3 scales
    assert growth.exponent([(1, 1.0)]) is None
    assert growth.growth([(1, 2.0), (5, 3.0)]) == 1.5 and growth.growth([(1, 2.0)]) is None


def a_result(scale: float, dashboard_rate: float, refresh_s: float) -> Result:
    figures = [
        Figure("dashboard, 90 days", s, r, 100, 100, 1.0, dashboard_rate * k, 1.0, 2.0, 3.0)
        for r in (1, 2, 3) for s, k in (("spec", 1.0), ("socialdb", 8.0))
    ] + [
        Figure(workload.REBUILD, s, r, 1, 1, refresh_s, 1 / refresh_s, refresh_s * 1000, refresh_s * 1000, refresh_s * 1000)
        for r in (1, 2, 3) for s in ("spec", "socialdb")
    ]  # fmt: skip
    return Result(
        scale=scale, date="2026-11-27T10:00:00Z", command="socialdb bench run", machine="AMD EPYC, 2 cores",
        server="PostgreSQL 18.6", rounds=3, seconds=10.0, sizes={"messages": int(2e6 * scale), "events": int(5e6 * scale)},
        generation=(Timing("messages", int(2e6 * scale), 40.0 * scale),), generation_seconds=300.0 * scale,
        measure_seconds=1200.0 * scale, total_seconds=1500.0 * scale, figures=tuple(figures), notes={},
    )  # fmt: skip


def test_a_result_survives_its_json_and_anything_else_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "performance.json"
    path.write_text(results.dump(a_result(1, 100, 40)))
    assert results.load(path) == a_result(1, 100, 40)
    for text, message in [
        ("{", "not JSON"),
        ('{"scale": 1}', "not a socialdb bench result"),
        (json.dumps({"format": results.FORMAT, "scale": 1}), "a bench result with a missing or malformed field"),
    ]:
        path.write_text(text)
        with pytest.raises(SocialdbError, match=f"^{re.escape(str(path))}: {message}"):
            results.load(path)


def test_growth_table_gives_each_scale_the_cost_ratio_and_the_exponent() -> None:
    table = growth.table([a_result(1, 200, 40.0), a_result(5, 40, 200.0)])
    assert table[0] == "| operation | schema | scale 1 | scale 5 | cost x | exponent |"
    assert (
        "| dashboard, 90 days | spec | 200/s; p50 1.00, p95 2.00 ms | 40/s; p50 1.00, p95 2.00 ms | 5.00x | 1.00 |"
        in table
    )
    assert (
        "| dashboard, 90 days | socialdb | 1,600/s; p50 1.00, p95 2.00 ms | 320/s; p50 1.00, p95 2.00 ms | 5.00x | 1.00 |"
        in table
    )
    assert f"| {workload.REBUILD} | socialdb | 40 s | 200 s | 5.00x | 1.00 |" in table


def write_results(tmp_path: Path, *found: Result) -> list[str]:
    paths = []
    for n, r in enumerate(found):
        path = tmp_path / f"scale{n}.json"
        path.write_text(results.dump(r))
        paths.append(str(path))
    return paths


def test_bench_growth_rewrites_only_its_block_and_draws_the_chart(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    before = f"# Performance\n\nmine\n\n{growth.BEGIN}\nold table\n{growth.END}\n\n## Analysis\nothers' text\n"
    doc.write_text(before)
    files = write_results(tmp_path, a_result(5, 40, 200.0), a_result(1, 200, 40.0))  # any order
    done = CliRunner().invoke(app, ["bench", "growth", *files, "--output", str(doc)])
    assert done.exit_code == 0, done.output
    text = doc.read_text()
    assert "old table" not in text and "| dashboard, 90 days | spec |" in text
    head, rest = text.split(growth.BEGIN)
    assert head == before.split(growth.BEGIN)[0] and rest.split(growth.END)[1] == before.split(growth.END)[1]
    assert text.index("| 1 | 2026") < text.index("| 5 | 2026")  # scales in order
    assert (tmp_path / "performance-growth.png").read_bytes().startswith(b"\x89PNG")


def test_bench_growth_appends_its_block_to_a_report_without_one(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nno block here\n")
    files = write_results(tmp_path, a_result(1, 200, 40.0), a_result(5, 40, 200.0))
    assert CliRunner().invoke(app, ["bench", "growth", *files, "--output", str(doc)]).exit_code == 0
    text = doc.read_text()
    assert text.startswith("# Performance\n\nno block here\n\n" + growth.HEADING + "\n\n" + growth.BEGIN)


@pytest.mark.parametrize("problem", ["one scale twice", "not a result", "one file"])
def test_bench_growth_refuses_in_one_line_naming_the_file(tmp_path: Path, problem: str) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("untouched\n")
    files = write_results(tmp_path, a_result(1, 200, 40.0), a_result(1, 100, 40.0))
    if problem == "not a result":
        Path(files[1]).write_text(json.dumps({"scale": 5}))
    if problem == "one file":
        files = files[:1]
    done = CliRunner().invoke(app, ["bench", "growth", *files, "--output", str(doc)])
    assert done.exit_code == 1
    message = done.output.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert message.startswith("error: ")
    assert (files[0] if problem != "not a result" else files[1]) in message
    assert doc.read_text() == "untouched\n"


def test_figures_keep_what_growth_needs() -> None:
    m = Measure("inbox page", "spec", 4, 4, 2.0, [1.0, 2.0, 3.0, 4.0], round=2)
    f = Figure.of(m)
    assert asdict(f) == asdict(replace(f)) and (f.round, f.rate, f.p50_ms) == (2, 2.0, 2.5)
