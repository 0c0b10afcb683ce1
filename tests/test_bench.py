"""The benchmark's pure parts: deterministic data with realistic shapes, and the report."""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialdb.bench import generate, migrate_up, report, results
from socialdb.bench import run as bench
from socialdb.bench.generate import Timing
from socialdb.bench.migrate_up import DBMATE, FLOOR, PROCESS, WHOLE
from socialdb.bench.report import BEGIN, COMMITTED, DOCUMENTED_SCALE, END, default_output, render, write
from socialdb.bench.run import Generated, Options, Run
from socialdb.bench.workload import Measure
from socialdb.cli import app
from socialdb.scripts.files import default_directory, load_migrations
from socialdb.scripts.history import ddl as history_ddl


def world_rows(seed: int, scale: float) -> dict[str, list[tuple[object, ...]]]:
    rng = random.Random(seed)
    world = generate.World([], [], [])
    counts = generate.sizes(scale)
    return {
        table: list(generate.rows(table, rng, counts[generate.TABLE_SIZES[table]], world)) for table in generate.COLUMNS
    }


def test_sizes_follow_the_scale() -> None:
    assert generate.sizes(1) == {"users": 1000, "accounts": 2000, "products": 100_000, "conversations": 200_000,
                                 "messages": 2_000_000, "events": 5_000_000}  # fmt: skip
    assert generate.sizes(0.01)["messages"] == 20_000


def test_data_is_deterministic() -> None:
    assert world_rows(1, 0.002) == world_rows(1, 0.002)
    assert world_rows(1, 0.002) != world_rows(2, 0.002)


def test_rows_match_their_columns_and_are_consistent() -> None:
    data = world_rows(3, 0.005)
    for table, rows in data.items():
        assert all(len(row) == len(generate.COLUMNS[table]) for row in rows), table
    owners = {row[0]: row[1] for row in data["client_accounts"]}
    conversation_owner = {row[0]: row[2] for row in data["conversations"]}
    assert all(owners[row[1]] == row[2] for row in data["conversations"])  # seller of the account
    assert all(conversation_owner[row[1]] == row[2] for row in data["messages"])  # seller of the conversation


def test_activity_is_skewed_and_text_is_portuguese() -> None:
    data = world_rows(4, 0.01)
    per_seller = Counter(row[2] for row in data["messages"])
    top = sum(n for _, n in per_seller.most_common(max(1, len(per_seller) // 10)))
    assert top > 0.3 * len(data["messages"])  # the top tenth of sellers has far more than a tenth
    assert any("ção" in str(row[2]) or "ã" in str(row[3]) for row in data["products"])
    dates = sorted(row[-1] for row in data["analytics_events"])
    assert (dates[-1] - dates[0]).days > 300  # a year of timestamps


def a_run(measures: list[Measure], rounds: int = 1, scale: float = 0.5) -> Run:
    generated = Generated(scale, (Timing("messages", 1000, 2.0), Timing("daily summary, spec", 0, 1.0)), {})
    return Run(scale, "PostgreSQL 99", Options(seconds=2.0, rounds=rounds), generated, tuple(measures), {}, 30.0)


def test_report_has_both_schemas_ratios_and_keeps_the_analysis(tmp_path: Path) -> None:
    run = a_run([
        Measure("inbox page", "spec", 100, 100, 2.0, [1.0] * 100, round=1),
        Measure("inbox page", "socialdb", 200, 200, 2.0, [0.5] * 200, round=1),
    ])  # fmt: skip
    text = render(run, "socialdb bench run --scale 0.5", "performance.png")
    assert "| spec | 100 | 50.0 | 1.00 | 1.00 | 1.00 | 1.00x |" in text
    assert "| socialdb | 200 | 100.0 | 0.50 | 0.50 | 0.50 | 2.00x |" in text
    assert "- load (COPY into both databases at once), rows/s: messages 500" in text
    assert "Median of the rounds" not in text and "ratio by round" not in text  # one round: one ratio
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nintro\n\n{BEGIN}\nold numbers\n{END}\n\n## Analysis\nkept\n")
    data = write(run, "cmd", doc, tmp_path / "performance.png")
    result = doc.read_text()
    assert "old numbers" not in result and "## Analysis\nkept" in result and "intro" in result
    assert (tmp_path / "performance.png").read_bytes().startswith(b"\x89PNG")
    assert data == tmp_path / "performance.json"
    saved = results.load(data)
    assert (saved.scale, saved.command, saved.rounds, saved.generation_seconds) == (0.5, "cmd", 1, 3.0)
    assert [(f.schema, f.round, f.rate, f.p50_ms) for f in saved.figures] == [
        ("spec", 1, 50.0, 1.0),
        ("socialdb", 1, 100.0, 0.5),
    ]


# --- where the report goes (issue 15) -----------------------------------------------------------


def test_only_a_run_at_the_documented_scale_writes_the_committed_report() -> None:
    assert default_output(DOCUMENTED_SCALE) == COMMITTED == Path("docs/performance.md")
    for scale in (0.01, 0.5, 2):
        path = default_output(scale)
        assert COMMITTED.resolve() != path.resolve()
        assert path.is_relative_to(tempfile.gettempdir()) and path.name == "performance.md"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--scale", "0.01"], default_output(0.01)),
        (["--scale", "1"], Path("docs/performance.md")),
        (["--scale", "0.01", "--out", "elsewhere/report.md"], Path("elsewhere/report.md")),
        (["--scale", "1", "--output", "elsewhere/report.md"], Path("elsewhere/report.md")),
    ],
    ids=["smoke-run", "documented-scale", "out", "output"],
)
def test_bench_run_writes_where_the_rule_says(monkeypatch: pytest.MonkeyPatch, args: list[str], expected: Path) -> None:
    written: list[tuple[Path, Path]] = []
    monkeypatch.setattr(bench, "generate_data", lambda admin, scale, say, progress: a_run([], scale=scale).generated)
    monkeypatch.setattr(bench, "measure", lambda admin, generated, options, say: a_run([]))
    monkeypatch.setattr(report, "write", lambda run, command, doc, chart: written.append((doc, chart)) or doc)
    url = "postgresql://nobody@localhost:1/none"  # never connected to: the work above is replaced
    result = CliRunner().invoke(app, ["bench", "run", *args, "--database-url", url], env={"DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    assert written == [(expected, expected.with_name("performance.png"))]


def test_migrate_table_gives_medians_ratios_and_every_run() -> None:
    measures = [
        Measure(WHOLE, FLOOR, 3, 3, 0.3, [100.0, 110.0, 90.0]),
        Measure(WHOLE, DBMATE, 3, 3, 0.6, [200.0, 190.0, 210.0]),
        Measure(WHOLE, PROCESS, 3, 3, 1.2, [400.0, 420.0, 380.0]),
    ]
    lines = report.migrate_table(WHOLE, measures)
    assert lines[2:] == [
        "| command | median ms | x floor | x dbmate | each run, ms |",
        "|---|---:|---:|---:|---|",
        "| psql -1 -f (floor) | 100 | 1.00x | 0.50x | 100, 110, 90 |",
        "| dbmate | 200 | 2.00x | 1.00x | 200, 190, 210 |",
        "| socialdb migrate up | 400 | 4.00x | 2.00x | 400, 420, 380 |",
        "",
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://postgres@/db1?host=/tmp/pg&port=5463",
            "postgres://postgres@/db1?socket=/tmp/pg&port=5463&sslmode=disable",
        ),
        (
            "host=db.example port=6432 user=me password=p@ss dbname=x",
            "postgres://me:p%40ss@db.example:6432/x?sslmode=disable",
        ),
        ("postgresql://me@localhost/x?sslmode=require", "postgres://me@localhost:5432/x?sslmode=require"),
    ],
)
def test_dbmate_gets_the_same_database(url: str, expected: str) -> None:
    assert migrate_up.dbmate_url(url) == expected


def test_npm_s_node_wrapper_is_traded_for_dbmate_s_binary(tmp_path: Path) -> None:
    modules = tmp_path / "node_modules"
    (modules / "dbmate" / "dist").mkdir(parents=True)
    (modules / "dbmate" / "dist" / "cli.js").write_text("#!/usr/bin/env node\n")
    (modules / "@dbmate" / "linux-x64" / "bin").mkdir(parents=True)
    binary = modules / "@dbmate" / "linux-x64" / "bin" / "dbmate"
    binary.write_text("")
    (modules / ".bin").mkdir()
    (modules / ".bin" / "dbmate").symlink_to("../dbmate/dist/cli.js")
    assert migrate_up.find_dbmate(modules / ".bin" / "dbmate") == binary
    assert migrate_up.find_dbmate(binary) == binary


def test_dbmate_gets_the_same_sql_one_statement_a_file_where_there_is_no_transaction(tmp_path: Path) -> None:
    migrations = load_migrations(default_directory())
    folder = migrate_up.dbmate_files(migrations, tmp_path / "dbmate")
    files = sorted(folder.iterdir())
    off = [m for m in migrations if not m.directives.transaction]
    assert len(files) == len(migrations) - len(off) + sum(len(m.up_statements) for m in off)
    assert files[0].read_text().startswith("-- migrate:up\n" + history_ddl())
    for m in off:
        mine = [f for f in files if f.name.endswith(f"_{m.name}.sql")]
        assert [f.read_text().splitlines()[0] for f in mine] == ["-- migrate:up transaction:false"] * len(mine)
        texts = [f.read_text() for f in mine]
        assert [t.split("\n", 1)[1].split(";\n-- migrate:down")[0] for t in texts] == [s.sql for s in m.up_statements]


@pytest.mark.processes
def test_migrate_up_is_timed_against_the_floor_as_a_process_and_in_process(server_url: str) -> None:
    measures = migrate_up.time_migrate(server_url, 1, lambda _: None)
    assert [(m.operation, m.schema, len(m.latencies_ms)) for m in measures] == [
        (migrate_up.IN_PROCESS, FLOOR, 1),
        (migrate_up.IN_PROCESS, migrate_up.LIBRARY, 1),
        (WHOLE, FLOOR, 1),
        (WHOLE, PROCESS, 1),
    ]
