"""The lock plan (issue 13): what each statement locks, checked against PostgreSQL itself.

The reality checks run every statement of every project migration, up and then down, and a
corpus of hand-written statements (tests/lock_corpus.py) on the test server, and compare what
pg_locks, pg_class.relfilenode and pg_stat_xact_user_tables show with the plan (tests/reality.py
says how). They pass on PostgreSQL 18 (embedded) and 15 (SOCIALDB_TEST_DATABASE_URL).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pglast import ast
from psycopg import sql
from typer.testing import CliRunner

from socialdb import planner
from socialdb.cli import app
from socialdb.migrate import runner
from socialdb.planner import alter, analysis, live, lock_plan, render
from socialdb.planner.facts import Facts, Kind, Relation
from socialdb.planner.lock_modes import ALTER_TABLE_LEVEL, Blocks, LockLevel, Server, When, blocks
from socialdb.planner.queries import parsed
from socialdb.scripts import history
from socialdb.scripts.files import Migration, default_directory, load_migrations, parse_migration
from socialdb.scripts.options import Direction
from socialdb.scripts.splitting import Statement, split
from tests import lock_corpus, reality
from tests.catalog import snapshot
from tests.conftest import Databases
from tests.helpers import loaded_after

L = LockLevel
ROOT = Path(__file__).resolve().parent.parent
PLAN_DOC = ROOT / "docs" / "plan.md"  # generated: `socialdb migrate plan --offline --format markdown`
PURE = [
    "lock_modes",
    "facts",
    "queries",
    "pruning",
    "analysis",
    "alter",
    "simulate",
    "lock_plan",
    "render",
    "gates",
    "union",
]
# The project statements the plan cannot classify, and why: dynamic SQL and extension scripts.
UNKNOWN = {
    "018-roles-and-grants.sql:6": "dynamic SQL",
    "018-roles-and-grants.sql:27": "dynamic SQL",
    "020-product-search-config.sql:5": "extension",
    "020-product-search-config.sql:6": "extension",
    "027-no-way-around-rls.sql:36": "dynamic SQL",
    "032-event-partition-bound.sql:12": "dynamic SQL",  # the bound, computed when it runs
    "034-partition-events.sql:97": "dynamic SQL",  # the attach and the first months, from 032's bound
    "036-ingest-counts-itself.sql:25": "dynamic SQL",  # the role socialdb_ingest, created where missing
    "047-events-not-far-ahead.sql:61": "dynamic SQL",  # a row trigger, cloned onto partitions 034's DO made
}


def analyse(text: str, facts: Facts | None = None) -> lock_plan.StatementPlan:
    statement = split(text, "test.sql", 1)[0]
    plan, _ = lock_plan.plan_statement(statement, facts or Facts.empty(), (), planner.Thresholds(), False)
    return plan


# -- the lock table, without a database --------------------------------------------------------


def test_the_conflict_table_is_the_documentations() -> None:
    for a in LockLevel:
        for b in LockLevel:
            assert a.conflicts_with(b) == b.conflicts_with(a), (a, b)
    assert not L.SHARE.conflicts_with(L.SHARE) and L.SHARE_UPDATE_EXCLUSIVE.conflicts_with(L.SHARE_UPDATE_EXCLUSIVE)
    assert [lv for lv in LockLevel if not lv.conflicts_with(L.ROW_EXCLUSIVE)] == [
        L.ACCESS_SHARE,
        L.ROW_SHARE,
        L.ROW_EXCLUSIVE,
        L.SHARE_UPDATE_EXCLUSIVE,
    ]
    assert L.from_pg("ShareUpdateExclusiveLock") is L.SHARE_UPDATE_EXCLUSIVE


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ([L.ACCESS_EXCLUSIVE], Blocks.READS_AND_WRITES),
        ([L.EXCLUSIVE], Blocks.WRITES),
        ([L.SHARE], Blocks.WRITES),
        ([L.SHARE_ROW_EXCLUSIVE, L.ACCESS_SHARE], Blocks.WRITES),
        ([L.SHARE_UPDATE_EXCLUSIVE], Blocks.NOTHING),
        ([L.ROW_EXCLUSIVE], Blocks.NOTHING),
    ],
)
def test_what_a_lock_blocks(levels: list[LockLevel], expected: Blocks) -> None:
    assert blocks(levels) is expected


@pytest.mark.parametrize("module", PURE)
def test_the_lock_planner_never_talks_to_a_database(module: str) -> None:
    loaded = loaded_after(f"import socialdb.planner.{module}")
    assert not {m for m in loaded if m == "psycopg" or m.startswith(("psycopg.", "socialdb.db"))}


def test_what_it_cannot_classify_is_unknown_and_assumed_access_exclusive() -> None:
    for text in [
        "DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$",
        "CREATE EXTENSION postgis",
        "ALTER TABLE t SET SCHEMA s",
    ]:
        plan = analyse(text)
        assert plan.unknown and plan.blocks is Blocks.READS_AND_WRITES, text
    rendered = render.statement_rows(analyse("CREATE EXTENSION postgis"), database=False)
    assert rendered[0][3] == "unknown — assume ACCESS EXCLUSIVE"


def test_rules_that_changed_between_15_and_18_take_the_servers_version() -> None:
    grant = "GRANT SELECT ON users TO someone"
    assert analyse(grant, Facts.empty(Server(150012))).relations == ()
    on_18 = analyse(grant, Facts.empty(Server(180001))).relations
    assert [(r.name, r.levels) for r in on_18] == [("public.users", (L.ACCESS_SHARE,))]
    between = analyse(grant, Facts.empty(Server(170004))).relations  # not verified: "sometimes"
    assert [(r.levels, r.maybe) for r in between] == [((), (L.ACCESS_SHARE,))]


def test_rewrites_scans_and_what_they_block() -> None:
    facts = Facts.empty().with_relation(
        Relation("public.t", Kind.TABLE, rows=5_000_000, bytes=10**9, columns={"a": "character varying(20)"})
    )
    cases = {
        "ALTER TABLE t ADD COLUMN b integer DEFAULT 0": ("none", Blocks.READS_AND_WRITES),
        "ALTER TABLE t ADD COLUMN b uuid DEFAULT gen_random_uuid()": ("rewrite", Blocks.READS_AND_WRITES),
        "ALTER TABLE t ALTER COLUMN a TYPE varchar(40)": ("none", Blocks.READS_AND_WRITES),
        "ALTER TABLE t ALTER COLUMN a TYPE integer USING a::integer": ("rewrite", Blocks.READS_AND_WRITES),
        "ALTER TABLE t ALTER COLUMN a SET NOT NULL": ("scan", Blocks.READS_AND_WRITES),
        "ALTER TABLE t ADD CONSTRAINT c CHECK (a <> '') NOT VALID": ("none", Blocks.READS_AND_WRITES),
        "ALTER TABLE t VALIDATE CONSTRAINT c": ("scan", Blocks.NOTHING),
        "CREATE INDEX i ON t (a)": ("scan", Blocks.WRITES),
        "CREATE INDEX CONCURRENTLY i ON t (a)": ("scan", Blocks.NOTHING),
    }
    for text, (effect, blocked) in cases.items():
        relation = analyse(text, facts).relations[0]
        assert (relation.effect.value, relation.blocks, relation.risk) == (effect, blocked, blocked != Blocks.NOTHING)


def test_fail_on_gates() -> None:
    facts = Facts.empty().with_relation(Relation("public.t", Kind.TABLE, rows=5_000_000, bytes=10**9))
    migration = _migration("ALTER TABLE t ADD COLUMN b uuid DEFAULT gen_random_uuid();\nCREATE EXTENSION x;\n")
    plan = lock_plan.build([migration], facts)
    refused = planner.violations(plan, list(planner.FailOn))
    assert sorted(refused) == [
        "900-x.sql:1: ACCESS EXCLUSIVE on public.t",
        "900-x.sql:1: blocks public.t (reads and writes)",
        "900-x.sql:1: rewrites public.t",
        "900-x.sql:2: unknown (CREATE EXTENSION runs the extension's own script)",
        "900-x.sql:2: unknown: assume ACCESS EXCLUSIVE on public.t",
        "900-x.sql:2: unknown: may block a large table",
    ]
    small = lock_plan.build([migration], facts, thresholds=planner.Thresholds(large_rows=10**7, large_bytes=10**10))
    assert planner.violations(small, [planner.FailOn.ACCESS_EXCLUSIVE_ON_LARGE]) == []


def _migration(text: str) -> Migration:
    return parse_migration("900-x.sql", text)


def test_only_dynamic_sql_and_extensions_are_unknown_in_the_projects_migrations() -> None:
    plan = planner.plan(None)
    unknown = {f"{m.filename}:{s.line}" for m in plan.migrations for s in m.statements if s.unknown}
    assert unknown == set(UNKNOWN)


def _coverage_key(node: Any) -> list[str]:
    name = type(node).__name__
    if isinstance(node, ast.AlterTableStmt):
        return [name] + [f"{name}:{cmd.subtype.name}" for cmd in node.cmds or ()]
    if isinstance(node, ast.DropStmt):
        return [name, f"{name}:{node.removeType.name}"]
    return [name]


def _declared() -> set[str]:
    """Every rule of the lock table that classifies (what is not here is unknown)."""
    refused = {"CreateExtensionStmt", "AlterExtensionStmt"}
    keys = {t.__name__ for t in analysis._RULES} - refused
    subtypes = set(ALTER_TABLE_LEVEL) | set(alter._SPECIAL)
    keys |= {f"AlterTableStmt:{s.name}" for s in subtypes}
    kinds = {**analysis._DROP_RELATION, **analysis._DROP_ON_TABLE, **analysis._DROP_NOTHING}
    keys |= {f"DropStmt:{k.name}" for k in kinds}
    return keys


def _exercised() -> set[str]:
    texts = [
        s.sql
        for m in load_migrations(default_directory())
        for part in (m.up_statements, m.down_statements or ())
        for s in part
    ]
    texts += lock_corpus.CORPUS + lock_corpus.OUTSIDE
    return {key for text in texts for node in parsed(text) for key in _coverage_key(node)}


def test_every_rule_is_exercised_by_the_reality_checks() -> None:
    """A rule that no statement of the migrations or the corpus exercises is not verified."""
    assert sorted(_declared() - _exercised()) == []


def test_the_generated_plan_in_the_docs_is_the_plan_of_the_migrations() -> None:
    text = PLAN_DOC.read_text(encoding="utf-8")
    expected = render.plan_markdown(planner.plan(None)).rstrip("\n") + "\n"
    assert text == expected, "regenerate it: uv run socialdb migrate plan --offline --format markdown > docs/plan.md"


# -- against the server ------------------------------------------------------------------------


def _facts(conn: psycopg.Connection[Any]) -> Facts:
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        return live.facts(conn)


def _run(
    url: str, conn: psycopg.Connection[Any], statement: Statement, plan: lock_plan.StatementPlan
) -> reality.Observation:
    if statement.needs_no_transaction:
        return reality.outside_transaction(
            url, statement.sql, reality.blocker_for(plan.analysis, reality.relations(conn))
        )
    return reality.in_transaction(conn, statement.sql, keep=True)


def _check(
    url: str, conn: psycopg.Connection[Any], migrations: list[Migration], plan: planner.Plan, part: Direction
) -> list[str]:
    problems: list[str] = []
    for migration, planned in zip(migrations, plan.migrations, strict=True):
        statements = migration.up_statements if part == Direction.UP else migration.down_statements or ()
        for statement, statement_plan in zip(statements, planned.statements, strict=True):
            observed = _run(url, conn, statement, statement_plan)
            where = f"{migration.filename}:{statement.line} ({part})"
            if statement_plan.unknown:
                assert part == Direction.DOWN or f"{migration.filename}:{statement.line}" in UNKNOWN, where
                continue
            problems += [f"{where}: {p}" for p in reality.compare(statement_plan.analysis, observed)]
    return problems


def test_every_project_statement_locks_what_the_plan_says(databases: Databases) -> None:
    """Up from an empty database, then down to it, each planned before the first statement runs."""
    url = databases.create()
    migrations = load_migrations(default_directory())
    with psycopg.connect(url, autocommit=True) as conn:
        history.ensure_table(conn)  # as `up` does first; 018 revokes on it
        upward = lock_plan.build(migrations, _facts(conn))
        offline = planner.plan(None, server=Server(upward.server_version))
        assert _analyses(upward) == _analyses(offline)  # what docs/plan.md shows is what is checked
        problems = _check(url, conn, migrations, upward, Direction.UP)
        reversible = [m for m in reversed(migrations) if m.down_statements]
        downward = lock_plan.build(reversible, _facts(conn), part=Direction.DOWN)
        problems += _check(url, conn, reversible, downward, Direction.DOWN)
    assert problems == []


def _analyses(plan: planner.Plan) -> list[tuple[object, ...]]:
    return [
        (s.line, sorted(set(s.analysis.takes), key=repr), sorted(set(s.analysis.effects), key=repr), s.unknown)
        for m in plan.migrations
        for s in m.statements
    ]


def _corpus_database(databases: Databases) -> str:
    url = databases.create()
    with psycopg.connect(url, autocommit=True) as conn:
        for step in lock_corpus.SETUP:
            conn.execute(step)  # type: ignore[arg-type]
    return url


def test_hand_written_statements_lock_what_the_plan_says(databases: Databases) -> None:
    url = _corpus_database(databases)
    problems: list[str] = []
    unknown: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        facts = _facts(conn)
        for text in lock_corpus.CORPUS:
            plan = analyse(text, facts)
            observed = reality.in_transaction(conn, text, keep=False)
            if plan.unknown:
                unknown.append(text)
            problems += [f"{text}: {p}" for p in reality.compare(plan.analysis, observed)] if not plan.unknown else []
    assert problems == []
    assert unknown == [
        "ALTER TABLE child SET SCHEMA public",
        "CREATE EXTENSION IF NOT EXISTS btree_gin",
        "DO $$ BEGIN EXECUTE 'SELECT 1'; END $$",
    ]


def test_statements_outside_a_transaction_lock_what_the_plan_says(databases: Databases) -> None:
    """Each on a fresh copy: held at its first wait by a blocking session, and logged when it ends."""
    template = _corpus_database(databases)
    name = psycopg.conninfo.conninfo_to_dict(template)["dbname"]
    problems: list[str] = []
    for text in lock_corpus.OUTSIDE:
        url = databases.create(template=str(name))
        with psycopg.connect(url, autocommit=True) as conn:
            plan = analyse(text, _facts(conn))
            before = reality.relations(conn)
        observed = reality.outside_transaction(url, text, reality.blocker_for(plan.analysis, before))
        problems += [f"{text}: {p}" for p in reality.compare(plan.analysis, observed)]
        databases.drop(url)
    assert problems == []


# -- the plan changes nothing ------------------------------------------------------------------

READER = "socialdb_plan_reader"


@pytest.fixture
def reader(server_url: str) -> Any:
    """A login role that may read everything and write nothing (default_transaction_read_only)."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(READER)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE pg_read_all_data").format(sql.Identifier(READER)))
        conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(sql.Identifier(READER)))
    yield lambda url: psycopg.conninfo.make_conninfo(url, user=READER, password="")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(READER)))


@pytest.mark.parametrize("applied", [None, 17])
def test_the_plan_changes_nothing_and_needs_only_read_access(
    databases: Databases, reader: Any, applied: int | None
) -> None:
    url = databases.create()
    if applied is not None:
        runner.up(url, to=applied)
    before = snapshot(url)
    plan = planner.plan(reader(url))
    assert plan.migrations[0].version == (applied or 0) + 1
    result = CliRunner().invoke(app, ["migrate", "plan", "--database-url", reader(url), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["database"] is True
    assert snapshot(url) == before
    with psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass('migrations') IS NOT NULL").fetchone()
    assert exists == ((applied is not None),)
    databases.drop(url)


def test_a_session_holding_a_conflicting_lock_is_named(databases: Databases) -> None:
    url = databases.create()
    runner.up(url, to=13)
    with psycopg.connect(url, autocommit=True, application_name="long reader") as holder:
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM conversations")
        plan = planner.plan(url, to=14)
        holder.execute("ROLLBACK")
    add_column = next(s for s in plan.migrations[0].statements if s.sql.startswith("ALTER TABLE conversations ADD"))
    held = add_column.relations[0].holders
    assert [(h.application_name, h.level, h.state) for h in held] == [
        ("long reader", L.ACCESS_SHARE, "idle in transaction")
    ]
    update = next(s for s in plan.migrations[0].statements if s.sql.startswith("UPDATE conversations"))
    assert all(not r.holders for r in update.relations)  # ROW EXCLUSIVE does not wait for a reader
    databases.drop(url)


def test_dry_run_is_the_plan(databases: Databases) -> None:
    url = databases.create()
    runner.up(url, to=5)
    cli = CliRunner()
    planned = cli.invoke(app, ["migrate", "plan", "--database-url", url, "--format", "json", "--to", "20"])
    dry = cli.invoke(app, ["migrate", "up", "--dry-run", "--database-url", url, "--format", "json", "--to", "20"])
    assert (planned.exit_code, dry.exit_code) == (0, 0)
    assert json.loads(planned.stdout) == json.loads(dry.stdout)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT max(version) FROM migrations").fetchone() == (5,)
    databases.drop(url)


def test_fail_on_refuses_a_blocking_lock_on_a_large_table(databases: Databases) -> None:
    url = databases.create()
    runner.up(url, to=13)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")  # sizes known: 0 rows each
    cli = CliRunner()
    args = ["migrate", "plan", "--database-url", url, "--to", "14", "--format", "json"]
    assert cli.invoke(app, [*args, "--fail-on", "access-exclusive-on-large"]).exit_code == 0
    refused = cli.invoke(app, [*args, "--fail-on", "access-exclusive-on-large", "--large-rows", "0"])
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: plan refused by --fail-on access-exclusive-on-large: ")
    assert "014-tenant-key-columns.sql:" in refused.stderr and len(refused.stderr.splitlines()) == 1
    databases.drop(url)


def test_when_is_always_for_ddl() -> None:
    plan = analyse("ALTER TABLE t ADD COLUMN b integer")
    assert {t.when for t in plan.analysis.takes} == {When.ALWAYS}


def test_without_a_catalog_what_depends_on_it_is_unknown() -> None:
    """Facts.offline(): a database that may hold anything. What the plan would need the catalog
    for (is this constraint a foreign key? what points at this table?) is said to be unknown."""
    offline = Facts.offline()
    dropped = analyse("ALTER TABLE t DROP CONSTRAINT c", offline)
    assert dropped.unknown == ("whether c is a foreign key is not known",)
    assert analyse("DROP TABLE t", offline).unknown == ("what depends on public.t is not known (no database)",)
    assert analyse("ALTER TABLE t DROP CONSTRAINT c").unknown == ()  # an empty database: c is no foreign key


def test_a_type_change_that_keeps_the_rows_still_rebuilds_expression_and_partial_indexes() -> None:
    """Found in review: text to varchar on products.name rebuilt idx_products_search (an expression
    index) under the ACCESS EXCLUSIVE lock; the plan said no data effect. A plain index on the
    column may be kept (SHARE maybe); one using it in an expression or predicate never is."""
    table = Relation("public.t", Kind.TABLE, rows=5_000_000, bytes=10**9, columns={"a": "text", "b": "text"})
    plain = Relation("public.t_a", Kind.INDEX, table="public.t")
    expression = Relation("public.t_lower_b", Kind.INDEX, table="public.t", expression_columns=frozenset({"b"}))
    facts = Facts.empty().with_relation(table).with_relation(plain).with_relation(expression)
    kept = analyse("ALTER TABLE t ALTER COLUMN a TYPE varchar", facts).relations[0]
    assert (kept.effect.value, kept.levels, kept.maybe) == ("none", (L.ACCESS_EXCLUSIVE,), (L.SHARE,))
    rebuilt = analyse("ALTER TABLE t ALTER COLUMN b TYPE varchar", facts).relations[0]
    assert (rebuilt.effect.value, L.SHARE in rebuilt.levels, rebuilt.maybe) == ("scan", True, ())
