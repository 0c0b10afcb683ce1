"""The generated corpus (issue 23, item 3): one-statement migrations drawn by Hypothesis from a
grammar over a generated schema (tests/plan_grammar.py), each planned statically from the
database's catalog and then run in a transaction that is rolled back, as `migrate plan --trace`
runs it (socialdb.schema.trace, the oracle). For each (statement, relation) pair:

- unsafe: a relation locked but not in the plan (an index counts as covered by its table's
  lock), a mode whose conflicts the predicted modes do not all share, or a rewrite not predicted;
- conservative: a predicted mode that conflicts with more than what was taken, a relation
  predicted but not locked, a rewrite predicted but not done, or a statement planned as unknown;
- exact otherwise.

The acceptance test: no unsafe pair, and at most 10% of statements (and of pairs) conservative,
on PostgreSQL 15 (SOCIALDB_TEST_DATABASE_URL) and 18 (embedded). The same statements are also
planned without a database (the facts simulated from the schema's statements): never unsafe
there either. Draws are derandomized and bounded: the same statements, in the same order, on
every run. Run with `-s` to see the figures per family and each non-exact pair.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from socialdb import planner
from socialdb.planner import live, lock_plan, simulate
from socialdb.planner.facts import Facts
from socialdb.planner.lock_modes import DataEffect, LockLevel, Server
from socialdb.planner.queries import parsed
from socialdb.scripts.splitting import split
from tests import plan_grammar, reality
from tests.conftest import Databases

EXAMPLES = 400
CONSERVATIVE_LIMIT = 0.10
OFFLINE_CONSERVATIVE_LIMIT = 0.15  # without pg_depend, CASCADE of a function, type or column is unknown
# Families whose every drawn statement must be covered by the plan (all of them: issue 23's
# acceptance). A family named in KNOWN_UNSAFE is reported, not asserted (none today).
KNOWN_UNSAFE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Verdict:
    family: str
    sql: str
    pairs: tuple[tuple[str, str, str], ...]  # (relation, exact | conservative | unsafe, why)
    unknown: bool

    @property
    def worst(self) -> str:
        kinds = {kind for _, kind, _ in self.pairs}
        for kind in ("invalid", "unsafe", "conservative"):
            if kind in kinds:
                return kind
        return "conservative" if self.unknown else "exact"


def _conflicts(levels: Iterable[LockLevel]) -> frozenset[LockLevel]:
    return frozenset(other for level in levels for other in LockLevel if level.conflicts_with(other))


def _names(level_sets: Iterable[Iterable[LockLevel]]) -> str:
    return " + ".join(sorted({lv.value for levels in level_sets for lv in levels}))


def classify(case: plan_grammar.Case, plan: lock_plan.StatementPlan, seen: reality.Observation) -> Verdict:
    rels = seen.by_name()
    predicted = {r.name: (*r.levels, *r.maybe) for r in plan.relations}
    effects = {r.name: r.effect for r in plan.relations}
    pairs: list[tuple[str, str, str]] = []
    if plan.unknown:  # assumed ACCESS EXCLUSIVE on everything, a rewrite included
        pairs = [(name, "conservative", "unknown") for name in sorted(seen.locks)]
        return Verdict(case.family, case.sql, tuple(pairs), True)
    for name in sorted(set(predicted) | set(seen.locks) | seen.rewritten):
        taken = frozenset(seen.locks.get(name, ()))
        rel = rels.get(name)
        index = name not in predicted and rel is not None and rel.table in predicted and name not in seen.rewritten
        if index and rel is not None and _conflicts(taken) <= _conflicts(predicted[str(rel.table)]):
            continue  # an index covered by its table's lock
        pairs.append((name, *_pair(predicted.get(name, ()), taken, effects.get(name), name in seen.rewritten)))
    return Verdict(case.family, case.sql, tuple(pairs), False)


def _pair(
    predicted: tuple[LockLevel, ...], taken: frozenset[LockLevel], effect: Any, rewritten: bool
) -> tuple[str, str]:
    wanted, got = _conflicts(predicted), _conflicts(taken)
    rewrite = effect in (DataEffect.REWRITE, DataEffect.EMPTIES)
    if taken and not predicted:
        return "unsafe", f"{_names([taken])} taken, not in the plan"
    if not got <= wanted:
        return "unsafe", f"{_names([taken])} taken, {_names([predicted]) or 'nothing'} predicted"
    if rewritten and not rewrite:
        return "unsafe", f"rewritten, {effect} predicted"
    if got < wanted or (rewrite and not rewritten):
        why = f"{_names([predicted])} predicted, {_names([taken]) or 'nothing'} taken" + (
            "; rewrite predicted, none done" if rewrite and not rewritten else ""
        )
        return "conservative", why
    return "exact", ""


def _setup(databases: Databases) -> tuple[str, Facts]:
    """The schema, and the facts a plan without a database has of it: those the planner simulates
    from the statements that made it (simulate.py)."""
    url = databases.create()
    with psycopg.connect(url, autocommit=True) as conn:
        server = Server(conn.info.server_version)
        offline = Facts.empty(server)
        for step in plan_grammar.SETUP:
            conn.execute(step)  # type: ignore[arg-type]
            offline = simulate.apply(parsed(step)[0], step, offline)
    return url, lock_plan.committed(offline)


def _facts(conn: psycopg.Connection[Any]) -> Facts:
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        return live.facts(conn)


def _plan(facts: Facts, case: plan_grammar.Case) -> lock_plan.StatementPlan:
    statement = split(case.sql, "generated.sql", 1)[0]
    return lock_plan.plan_statement(statement, facts, (), planner.Thresholds(), False)[0]


def _verdicts(conn: psycopg.Connection[Any], facts: tuple[Facts, Facts], case: plan_grammar.Case) -> list[Verdict]:
    """The verdicts of the plan with the database's facts and of the plan without a database."""
    plans = [_plan(f, case) for f in facts]
    try:
        seen = reality.in_transaction(conn, case.sql, keep=False)
    except psycopg.Error as exc:  # the grammar drew a statement the server refuses: a bug of the grammar
        return [Verdict(case.family, case.sql, (("", "invalid", str(exc).splitlines()[0]),), False)] * 2
    return [classify(case, plan, seen) for plan in plans]


@dataclass(frozen=True)
class Drawn:
    verdicts: list[Verdict]  # planned with the database's facts (live.py)
    offline: list[Verdict]  # planned without a database
    facts: Facts


def draw_verdicts(databases: Databases, examples: int = EXAMPLES) -> Drawn:
    """Every distinct drawn statement's verdicts, in the order drawn."""
    url, offline = _setup(databases)
    verdicts: dict[str, list[Verdict]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        facts = _facts(conn)

        @settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=plan_grammar.statements())
        def draw(case: plan_grammar.Case) -> None:
            if case.sql not in verdicts:
                verdicts[case.sql] = _verdicts(conn, (facts, offline), case)

        draw()
    databases.drop(url)
    return Drawn([v[0] for v in verdicts.values()], [v[1] for v in verdicts.values()], facts)


def summary(verdicts: list[Verdict]) -> dict[str, Counter[str]]:
    """Per family: statements exact / conservative / unsafe, and pairs likewise (`pairs ...`)."""
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for verdict in verdicts:
        for family in (verdict.family, "all"):
            table[family][verdict.worst] += 1
            table[family].update(f"pairs {kind}" for _, kind, _ in verdict.pairs)
    return dict(table)


def _report(verdicts: list[Verdict]) -> str:
    lines = [f"{family}: {dict(sorted(counts.items()))}" for family, counts in sorted(summary(verdicts).items())]
    for verdict in verdicts:
        bad = [p for p in verdict.pairs if p[1] != "exact"]
        if bad:
            lines.append(f"  [{verdict.family}] {verdict.sql}")
            lines += [f"      {kind}: {name}: {why}" for name, kind, why in bad]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def drawn(databases: Databases) -> Drawn:
    return draw_verdicts(databases)


def _unsafe(verdicts: list[Verdict]) -> list[str]:
    return [f"[{v.family}] {v.sql}: {p}" for v in verdicts for p in v.pairs if p[1] in ("unsafe", "invalid")]


def test_the_static_plan_covers_what_generated_statements_lock(drawn: Drawn) -> None:
    verdicts, facts = drawn.verdicts, drawn.facts
    print(_report(verdicts))
    counted = [v for v in verdicts if v.family not in KNOWN_UNSAFE]
    unsafe = _unsafe(counted)
    assert unsafe == [], "\n".join(unsafe)
    statements = len(counted)
    pairs = sum(len(v.pairs) for v in counted)
    assert statements >= 150 and {v.family for v in verdicts} == set(plan_grammar.FAMILIES)
    conservative = sum(1 for v in counted if v.worst == "conservative")
    conservative_pairs = sum(1 for v in counted for p in v.pairs if p[1] == "conservative")
    assert conservative <= CONSERVATIVE_LIMIT * statements, f"{conservative} of {statements} statements"
    assert conservative_pairs <= CONSERVATIVE_LIMIT * pairs, f"{conservative_pairs} of {pairs} pairs"
    assert all((r.bytes or 0) >= 0 and (r.rows or 0) >= 0 for r in facts.relations.values())


def test_without_a_database_the_plan_is_never_unsafe_either(drawn: Drawn) -> None:
    """Offline (`migrate plan --offline`): the facts are those simulated from the statements that
    made the schema. What needs pg_depend (a DROP FUNCTION, DROP TYPE or DROP COLUMN ... CASCADE)
    is unknown there: conservative, never unsafe."""
    print(_report(drawn.offline))
    assert _unsafe(drawn.offline) == []
    conservative = sum(1 for v in drawn.offline if v.worst == "conservative")
    assert conservative <= OFFLINE_CONSERVATIVE_LIMIT * len(drawn.offline), f"{conservative} of {len(drawn.offline)}"


@pytest.mark.parametrize("name", ["g_ev", "g_ev_v_idx", "g_ev_pkey"])
def test_partitioned_relations_have_no_negative_size(drawn: Drawn, name: str) -> None:
    relation = drawn.facts.relations[f"public.{name}"]
    assert relation.bytes is not None and relation.bytes > 0
    assert relation.rows is None or relation.rows >= 0


def _partitioned_facts() -> Facts:
    offline = Facts.empty()
    for step in [
        "CREATE TABLE m (at date NOT NULL, v integer) PARTITION BY RANGE (at)",
        "CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
        "CREATE TABLE m_rest PARTITION OF m DEFAULT",
        "CREATE TABLE o (at date)",
    ]:
        offline = simulate.apply(parsed(step)[0], step, offline)
    return lock_plan.committed(offline)


@pytest.mark.parametrize(
    ("sql", "opened"),
    [
        ("SELECT * FROM m WHERE at = '2024-05-01'", {"m_2024"}),
        ("SELECT * FROM m AS x WHERE x.at = '2030-01-01' AND v > 0", {"m_rest"}),
        ("SELECT * FROM m WHERE at = '2024-05-01'::timestamp", {"m_2024", "m_rest"}),  # a cast: maybe not pruned
        ("SELECT * FROM m WHERE at = '2024-05-01' OR v = 1", {"m_2024", "m_rest"}),
        ("SELECT * FROM m, o WHERE o.at = '2024-05-01'", {"m_2024", "m_rest"}),  # another table's column
        ("DELETE FROM m WHERE at = '2024-05-01'", {"m_2024"}),
        ("UPDATE m SET at = '2030-01-01' WHERE at = '2024-05-01'", {"m_2024", "m_rest"}),  # rows move
    ],
)
def test_pruning_only_where_the_server_surely_prunes(sql: str, opened: set[str]) -> None:
    plan = _plan(_partitioned_facts(), plan_grammar.Case("pruning", sql))
    names = {r.name.removeprefix("public.") for r in plan.relations}
    assert names & {"m_2024", "m_rest"} == opened
