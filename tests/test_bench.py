"""The benchmark's pure parts: deterministic data with realistic shapes, and the report."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from socialdb.bench import generate
from socialdb.bench.report import BEGIN, END, render, write
from socialdb.bench.run import Run
from socialdb.bench.workload import Measure


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


def test_report_has_both_schemas_ratios_and_keeps_the_analysis(tmp_path: Path) -> None:
    run = Run(scale=0.5, server="PostgreSQL 99")
    run.measures = [
        Measure("inbox page", "spec", 100, 100, 2.0, [1.0] * 100),
        Measure("inbox page", "socialdb", 200, 200, 2.0, [0.5] * 200),
    ]
    text = render(run, "socialdb bench run --scale 0.5", "performance.png")
    assert "| spec | 100 | 50.0 | 1.00 | 1.00 | 1.00 | 1.00x |" in text
    assert "| socialdb | 200 | 100.0 | 0.50 | 0.50 | 0.50 | 2.00x |" in text
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nintro\n\n{BEGIN}\nold numbers\n{END}\n\n## Analysis\nkept\n")
    write(run, "cmd", doc, tmp_path / "performance.png")
    result = doc.read_text()
    assert "old numbers" not in result and "## Analysis\nkept" in result and "intro" in result
    assert (tmp_path / "performance.png").read_bytes().startswith(b"\x89PNG")
