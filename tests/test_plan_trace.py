"""`migrate plan --trace` (issue 23): the plan joined with what the pending statements really lock
on a scratch copy, built from the same migrations (socialdb.schema.trace, socialdb.planner.union)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from socialdb import planner
from socialdb.cli import app
from socialdb.migrate import runner
from socialdb.planner import lock_plan, union
from socialdb.planner.lock_modes import Blocks, DataEffect, LockLevel
from socialdb.schema import trace

L = LockLevel
APPLIED = {
    "001-base.sql": """-- socialdb: rollback=none
CREATE TABLE measures (at date NOT NULL, v integer) PARTITION BY RANGE (at);
CREATE TABLE measures_2024 PARTITION OF measures FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE measures_2025 PARTITION OF measures FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE items (id bigint PRIMARY KEY, name text);
""",
}
PENDING = {
    "002-index-and-default.sql": """-- socialdb: rollback=none
CREATE INDEX measures_v_idx ON measures (v);
ALTER TABLE items ADD COLUMN seen timestamptz DEFAULT clock_timestamp();
ALTER TABLE items ADD COLUMN note text;
""",
    "003-concurrently.sql": "-- socialdb: transaction=off rollback=none\nCREATE INDEX CONCURRENTLY items_name_idx ON items (name);\n",
}


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _scratches(server_url: str) -> set[str]:
    with psycopg.connect(server_url, autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'socialdb\\_scratch%'").fetchall()
    return {str(r[0]) for r in rows}


@pytest.fixture
def target(empty_db_url: str, tmp_path: Path) -> tuple[str, Path]:
    folder = _folder(tmp_path, APPLIED)
    runner.up(empty_db_url, folder)
    _folder(tmp_path, PENDING)
    return empty_db_url, folder


def _strongest(levels: tuple[LockLevel, ...]) -> int:
    return max((lv.rank for lv in levels), default=0)


def test_the_trace_never_lowers_the_plan_and_adds_what_it_saw(target: tuple[str, Path], server_url: str) -> None:
    url, folder = target
    before = _scratches(server_url)
    static = planner.plan(url, folder)
    joined = trace.trace(static, url, directory=folder)
    assert _scratches(server_url) == before  # the scratch copy is dropped
    assert joined.traced and not static.traced
    for old, new in zip(static.migrations, joined.migrations, strict=True):
        for s_old, s_new in zip(old.statements, new.statements, strict=True):
            assert s_new.blocks.rank >= s_old.blocks.rank
            by_name = {r.name: r for r in s_new.relations}
            for rel in s_old.relations:  # never lowered
                assert set(rel.levels) <= set(by_name[rel.name].levels)
                assert by_name[rel.name].blocks.rank >= rel.blocks.rank
            assert s_new.traced is not None
            for name, levels in s_new.traced.locks:  # what the trace saw is shown, or covered by its table
                if name in by_name:
                    assert _strongest(by_name[name].levels + by_name[name].maybe) >= _strongest(levels), name
    index, default, _note = joined.migrations[0].statements
    assert index.traced and index.traced.traced
    seen = dict(index.traced.locks)
    assert L.SHARE in seen["public.measures_2024"] and L.SHARE in seen["public.measures_2025"]  # it recurses
    assert default.traced and "public.items" in default.traced.rewritten  # a volatile default rewrites
    assert {r.name: r.effect for r in default.relations}["public.items"] == DataEffect.REWRITE
    (concurrently,) = joined.migrations[1].statements
    assert concurrently.traced and not concurrently.traced.traced
    assert concurrently.traced.reason == "CONCURRENTLY cannot run in a transaction"


def _relation(name: str, *levels: LockLevel, effect: DataEffect = DataEffect.NONE) -> lock_plan.RelationPlan:
    return lock_plan.RelationPlan(name, "table", levels, (), effect, planner_blocks(levels))


def planner_blocks(levels: tuple[LockLevel, ...]) -> Blocks:
    from socialdb.planner.lock_modes import blocks

    return blocks(levels)


def _plan(*relations: lock_plan.RelationPlan) -> lock_plan.Plan:
    statement = lock_plan.StatementPlan(1, "ALTER ...", "ALTER TABLE", relations, Blocks.NOTHING, False)
    migration = lock_plan.MigrationPlan(2, "002-x.sql", True, 0, 0, False, (statement,))
    return lock_plan.Plan(180000, True, (migration,), planner.Thresholds(), ())


def test_the_union_raises_adds_and_marks_but_never_lowers() -> None:
    plan = _plan(_relation("public.a", L.SHARE_UPDATE_EXCLUSIVE), _relation("public.b", L.ACCESS_EXCLUSIVE))
    seen = union.Observed(
        {
            "public.a": frozenset({L.ACCESS_EXCLUSIVE}),  # raised
            "public.b": frozenset({L.ACCESS_SHARE}),  # weaker: the prediction stays
            "public.c": frozenset({L.ROW_EXCLUSIVE}),  # only the trace saw it
            "public.c_pkey": frozenset({L.ROW_EXCLUSIVE}),  # an index no stronger than its table: left out
            "public.d_idx": frozenset({L.ACCESS_EXCLUSIVE}),  # an index stronger than its table: added
        },
        frozenset({"public.b"}),
        {"public.c_pkey": "i", "public.d_idx": "i", "public.c": "r"},
        {"public.c_pkey": "public.c", "public.d_idx": "public.d"},
    )
    joined = union.with_trace(plan, {(2, 1): seen}, {})
    (statement,) = joined.migrations[0].statements
    rels = {r.name: r for r in statement.relations}
    assert rels["public.a"].levels == (L.ACCESS_EXCLUSIVE, L.SHARE_UPDATE_EXCLUSIVE) and rels["public.a"].traced
    assert rels["public.a"].blocks == Blocks.READS_AND_WRITES and statement.blocks == Blocks.READS_AND_WRITES
    assert rels["public.b"].levels == (L.ACCESS_EXCLUSIVE,) and rels["public.b"].effect == DataEffect.REWRITE
    assert rels["public.c"].traced and rels["public.c"].levels == (L.ROW_EXCLUSIVE,)
    assert "public.c_pkey" not in rels and rels["public.d_idx"].kind == "index"
    assert statement.traced is not None
    assert statement.traced.added == (
        "ACCESS EXCLUSIVE on public.a (predicted SHARE UPDATE EXCLUSIVE)",
        "rewrite of public.b (predicted none)",
        "ROW EXCLUSIVE on public.c",
        "ACCESS EXCLUSIVE on public.d_idx",
    )
    text = planner.plan_markdown(joined)
    assert "trace added: ACCESS EXCLUSIVE on public.a" in text and "c (traced)" in text
    assert "the trace added to the static plan at 1 statement(s)" in text
    assert planner.violations(joined, [planner.FailOn.REWRITE]) == ["002-x.sql:1: rewrites public.b"]


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_plan_trace_and_up_dry_run_trace_print_the_same(target: tuple[str, Path], server_url: str) -> None:
    url, folder = target
    common = ["--database-url", url, "--dir", str(folder), "--format", "json"]
    planned = _cli("migrate", "plan", "--trace", *common)
    assert planned.exit_code == 0, planned.output
    dry = _cli("migrate", "up", "--dry-run", "--trace", *common)
    assert dry.exit_code == 0, dry.output
    value = json.loads(planned.output)
    assert value == json.loads(dry.output) and value["traced"]
    statement = value["migrations"][0]["statements"][1]
    assert statement["traced"]["traced"] and statement["traced"]["rewritten"] == ["public.items"]
    text = _cli("migrate", "plan", "--trace", "--scratch-url", server_url, "--database-url", url, "--dir", str(folder))
    assert text.exit_code == 0, text.output
    assert "not traced: CONCURRENTLY cannot run in a transaction" in text.output
    assert "trace: 3 statement(s) traced on a scratch copy, 1 not traced" in text.output
    with psycopg.connect(url) as conn:  # the target is unchanged
        assert conn.execute("SELECT to_regclass('measures_v_idx')").fetchone() == (None,)


def test_a_bad_pending_statement_is_one_line_and_the_scratch_is_dropped(
    target: tuple[str, Path], server_url: str
) -> None:
    url, folder = target
    (folder / "004-bad.sql").write_text("SELECT 1;\n\nALTER TABLE nowhere ADD COLUMN x int;\n")
    before = _scratches(server_url)
    result = _cli("migrate", "plan", "--trace", "--database-url", url, "--dir", str(folder))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert "004-bad.sql:3:" in lines[-1] and 'relation "nowhere" does not exist' in lines[-1]
    assert "Traceback" not in result.output
    assert _scratches(server_url) == before


def test_offline_traces_on_the_scratch_server_only(tmp_path: Path, server_url: str) -> None:
    folder = _folder(tmp_path, {**APPLIED, **PENDING})
    refused = _cli("migrate", "plan", "--offline", "--trace", "--dir", str(folder))
    assert refused.exit_code == 1 and "--trace needs a server for its scratch copy" in refused.output
    assert "Traceback" not in refused.output
    with psycopg.connect(server_url) as conn:
        major = conn.info.server_version // 10000
    args = ["migrate", "plan", "--offline", "--server-version", str(major), "--dir", str(folder), "--format", "json"]
    done = _cli(*args, "--trace", "--scratch-url", server_url)
    assert done.exit_code == 0, done.output
    statements = [s for m in json.loads(done.output)["migrations"] for s in m["statements"]]
    assert [s["traced"]["traced"] for s in statements] == [True] * 7 + [False]
    other = _cli(*args[:-2], "--server-version", str(major - 1), "--trace", "--scratch-url", server_url)
    assert other.exit_code == 1 and "locks differ across versions" in other.output


def test_up_takes_trace_only_with_dry_run(target: tuple[str, Path]) -> None:
    url, folder = target
    result = _cli("migrate", "up", "--trace", "--database-url", url, "--dir", str(folder))
    assert result.exit_code == 2 and "--trace goes with --dry-run" in result.output


def test_a_function_whose_body_is_not_read_is_unknown_unless_immutable(empty_db_url: str, tmp_path: Path) -> None:
    """Issue 23: a C (or internal) function's body is not read, so the plan says what it may
    touch is unknown; only IMMUTABLE, which by its contract reads and writes no table, plans as nothing."""
    applied = {
        "001-functions.sql": (
            "CREATE FUNCTION touchy(integer) RETURNS integer LANGUAGE internal VOLATILE AS 'int4abs';\n"
            "CREATE FUNCTION looky(integer) RETURNS integer LANGUAGE internal STABLE AS 'int4abs';\n"
            "CREATE FUNCTION pure(integer) RETURNS integer LANGUAGE internal IMMUTABLE AS 'int4abs';\n"
            "-- ROLLBACK\nDROP FUNCTION touchy(integer), looky(integer), pure(integer);\n"
        )
    }
    folder = _folder(tmp_path, applied)
    runner.up(empty_db_url, folder)
    calls = "SELECT touchy(1);\nSELECT looky(1);\nSELECT pure(1);\n-- ROLLBACK\nSELECT 1;\n"
    _folder(tmp_path, {"002-calls.sql": calls})
    [migration] = planner.plan(empty_db_url, folder).migrations
    touchy, looky, pure = migration.statements
    assert touchy.unknown == ("reads or writes what touchy() touches: unknown (internal)",)
    assert looky.unknown == ("reads what looky() touches: unknown (internal)",)
    assert pure.unknown == () and pure.relations == ()
    text = planner.plan_markdown(planner.plan(empty_db_url, folder))
    assert "reads or writes what touchy() touches: unknown (internal)" in text  # the table says why


def test_a_check_validated_on_every_row_locks_what_its_function_reads(empty_db_url: str, tmp_path: Path) -> None:
    """A CHECK added with validation runs its expression on every row: a function it calls that
    reads another table locks that table too (found by an adversarial review; the default of a
    new column was already followed)."""
    applied = {
        "001-tables.sql": (
            "CREATE TABLE wide (n integer);\nCREATE TABLE parent (n integer);\nINSERT INTO parent VALUES (1);\n"
            "CREATE FUNCTION wide_count() RETURNS bigint LANGUAGE plpgsql STABLE AS"
            " $$ BEGIN RETURN (SELECT count(*) FROM wide); END $$;\n"
            "-- ROLLBACK\nDROP TABLE wide, parent;\nDROP FUNCTION wide_count();\n"
        )
    }
    folder = _folder(tmp_path, applied)
    runner.up(empty_db_url, folder)
    _folder(
        tmp_path,
        {
            "002-check.sql": "ALTER TABLE parent ADD CONSTRAINT c_chk CHECK (wide_count() >= 0);\n-- ROLLBACK\nSELECT 1;\n"
        },
    )
    static = planner.plan(empty_db_url, folder)
    [statement] = static.migrations[0].statements
    assert "public.wide" in {r.name for r in statement.relations}
    joined = trace.trace(static, empty_db_url, directory=folder)
    [traced] = joined.migrations[0].statements
    assert traced.traced is not None and traced.traced.added == ()  # the trace saw nothing the plan missed
