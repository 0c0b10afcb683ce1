"""The plan of a run: exactly what `up` will run, in which transactions, and for each statement the
relations it locks, in which modes, what it does to their data and what it makes the application
wait for; with a database, each relation's size, a risk mark where a blocking lock meets a large
table, and the sessions that hold a conflicting lock right now. Pure: the facts and the sessions
are read by live.py; `--fail-on` gates are `violations`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from socialdb.planner import simulate
from socialdb.planner.analysis import UNKNOWN_LEVEL, analyze
from socialdb.planner.facts import Facts, Kind
from socialdb.planner.gates import FailOn, Thresholds
from socialdb.planner.lock_modes import Analysis, Blocks, DataEffect, LockLevel, When, blocks, worst
from socialdb.planner.queries import Scope, parsed
from socialdb.scripts.files import Migration, lock_timeout_of
from socialdb.scripts.options import Direction, RunOptions
from socialdb.scripts.splitting import Statement

_SEVERITY = [
    DataEffect.NONE,
    DataEffect.READS,
    DataEffect.WRITES_ROWS,
    DataEffect.SCAN,
    DataEffect.EMPTIES,
    DataEffect.REWRITE,
]


@dataclass(frozen=True)
class Holder:
    """A session holding a lock on a relation right now (from pg_locks and pg_stat_activity)."""

    relation: str
    level: LockLevel
    pid: int
    application_name: str | None
    state: str | None
    xact_age_s: float | None


@dataclass(frozen=True)
class RelationPlan:
    name: str
    kind: str
    levels: tuple[LockLevel, ...]  # taken every time
    maybe: tuple[LockLevel, ...]  # taken per row, or on some paths of a function body
    effect: DataEffect
    blocks: Blocks
    table: str | None = None  # an index's table: what the index lock blocks is its table's
    new: bool = False  # created earlier in this plan: nobody else uses it yet
    rows: int | None = None
    bytes: int | None = None
    large: bool = False
    risk: bool = False
    holders: tuple[Holder, ...] = ()
    traced: bool = False  # the trace (`--trace`) added it, a stronger mode or a rewrite


@dataclass(frozen=True)
class StatementTrace:
    """What a statement did on a scratch copy (`migrate plan --trace`); union.py merges it into the plan."""

    traced: bool  # False: it could not run in a transaction there (`reason` says why)
    reason: str = ""
    locks: tuple[tuple[str, tuple[LockLevel, ...]], ...] = ()  # each relation it locked, strongest mode first
    rewritten: tuple[str, ...] = ()  # relations whose relfilenode changed
    added: tuple[str, ...] = ()  # what the trace added to the static plan, one phrase each


@dataclass(frozen=True)
class StatementPlan:
    line: int
    sql: str
    command: str
    relations: tuple[RelationPlan, ...]
    blocks: Blocks
    risk: bool
    unknown: tuple[str, ...] = ()  # not classified: assume ACCESS EXCLUSIVE
    analysis: Analysis = field(default_factory=Analysis)
    traced: StatementTrace | None = None  # with --trace only: what it did on a scratch copy


@dataclass(frozen=True)
class MigrationPlan:
    version: int
    filename: str
    transaction: bool  # one transaction with its history row; False: statement by statement
    lock_timeout_ms: int
    statement_timeout_ms: int
    irreversible: bool
    statements: tuple[StatementPlan, ...]


@dataclass(frozen=True)
class Plan:
    server_version: int
    database: bool  # sizes and sessions read from a database
    migrations: tuple[MigrationPlan, ...]
    thresholds: Thresholds
    large_relations: tuple[str, ...]  # every large relation of the database (what an unknown statement may block)
    traced: bool = False  # joined with a trace on a scratch copy (union.py)


def build(
    migrations: Sequence[Migration],
    facts: Facts,
    holders: Iterable[Holder] = (),
    options: RunOptions | None = None,
    thresholds: Thresholds | None = None,
    part: Direction = Direction.UP,
) -> Plan:
    """The plan of `migrations` (their up parts, or down parts, in the order given) on a database
    described by `facts`."""
    limits = thresholds or Thresholds()
    held = tuple(holders)
    large = tuple(
        sorted(r.name for r in facts.relations.values() if r.kind.holds_rows and _large(r.rows, r.bytes, limits))
    )
    planned = []
    for migration in migrations:
        facts = committed(facts)
        statements = []
        chosen = migration.up_statements if part == Direction.UP else migration.down_statements or ()
        for statement in chosen:
            plan, facts = plan_statement(statement, facts, held, limits, bool(large))
            statements.append(plan)
        planned.append(_migration_plan(migration, tuple(statements), options or RunOptions()))
    return Plan(facts.server.version_num, facts.live, tuple(planned), limits, large)


def committed(facts: Facts) -> Facts:
    """What earlier migrations created is committed: only this migration's creations are new."""
    if not any(r.new for r in facts.relations.values()):
        return facts
    return dataclasses.replace(
        facts, relations={k: dataclasses.replace(r, new=False) for k, r in facts.relations.items()}
    )


def _migration_plan(migration: Migration, statements: tuple[StatementPlan, ...], opts: RunOptions) -> MigrationPlan:
    timeout = migration.directives.statement_timeout_ms
    return MigrationPlan(
        version=migration.version,
        filename=migration.filename,
        transaction=migration.directives.transaction,
        lock_timeout_ms=lock_timeout_of(migration, opts),
        statement_timeout_ms=opts.statement_timeout_ms if timeout is None else timeout,
        irreversible=migration.directives.irreversible,
        statements=statements,
    )


def plan_statement(
    statement: Statement, facts: Facts, holders: tuple[Holder, ...], limits: Thresholds, any_large: bool
) -> tuple[StatementPlan, Facts]:
    """One statement's plan, and the facts after it ran."""
    node = parsed(statement.sql)[0]
    analysis = analyze(node, Scope(facts))
    relations = tuple(_relation_plans(analysis, facts, holders, limits))
    unknown = analysis.unknown
    risk = any(r.risk for r in relations) or (bool(unknown) and any_large)
    spent = worst([*(r.blocks for r in relations), *([Blocks.READS_AND_WRITES] if unknown else [])])
    summary = " ".join(statement.sql.split())
    plan = StatementPlan(statement.line, summary, analysis.command, relations, spent, risk, unknown, analysis)
    return plan, simulate.apply(node, statement.sql, facts)


def _relation_plans(
    analysis: Analysis, facts: Facts, holders: tuple[Holder, ...], limits: Thresholds
) -> list[RelationPlan]:
    created = set(analysis.creates)
    names = [t.relation for t in analysis.takes if t.relation not in created]
    return [_relation_plan(name, analysis, facts, holders, limits) for name in dict.fromkeys(names)]


def _relation_plan(
    name: str, analysis: Analysis, facts: Facts, holders: tuple[Holder, ...], limits: Thresholds
) -> RelationPlan:
    takes = [t for t in analysis.takes if t.relation == name]
    levels = _sorted(t.level for t in takes if t.when == When.ALWAYS)
    maybe = _sorted(t.level for t in takes if t.when != When.ALWAYS and t.level not in levels)
    relation = facts.relation(name)
    kind = relation.kind if relation else Kind.TABLE
    table = relation.table if relation and kind == Kind.INDEX else None
    sized = facts.relation(table) if table else relation
    rows, size = (sized.rows, sized.bytes) if sized else (None, None)
    new = bool(relation and relation.new)
    spent = blocks((*levels, *maybe))
    is_large = not new and _large(rows, size, limits)
    held = tuple(
        h for h in holders if h.relation == name and any(lv.conflicts_with(h.level) for lv in (*levels, *maybe))
    )
    effect = max(
        (e.effect for e in analysis.effects if e.relation == name), key=_SEVERITY.index, default=DataEffect.NONE
    )
    risk = is_large and spent != Blocks.NOTHING
    return RelationPlan(name, kind.value, levels, maybe, effect, spent, table, new, rows, size, is_large, risk, held)


def _sorted(levels: Iterable[LockLevel]) -> tuple[LockLevel, ...]:
    return tuple(sorted(set(levels), key=lambda level: level.rank, reverse=True))


def _large(rows: int | None, size: int | None, limits: Thresholds) -> bool:
    if rows is not None:
        return rows >= limits.large_rows
    return size is not None and size >= limits.large_bytes


def violations(plan: Plan, gates: Iterable[FailOn]) -> list[str]:
    """One phrase per statement that a gate refuses: `file:line: why`."""
    found: list[str] = []
    for migration in plan.migrations:
        for statement in migration.statements:
            where = f"{migration.filename}:{statement.line}"
            found += [f"{where}: {why}" for gate in gates if (why := _refused(gate, statement, plan))]
    return found


def _refused(gate: FailOn, statement: StatementPlan, plan: Plan) -> str | None:
    relations = statement.relations
    if gate == FailOn.UNKNOWN and statement.unknown:
        return f"unknown ({statement.unknown[0]})"
    if gate == FailOn.REWRITE:
        rewritten = [r.name for r in relations if r.effect == DataEffect.REWRITE and not r.new]
        return f"rewrites {', '.join(rewritten)}" if rewritten else None
    if gate == FailOn.BLOCKING_ON_LARGE:
        risky = [f"{r.name} ({r.blocks})" for r in relations if r.risk]
        unknown = statement.unknown and plan.large_relations
        return f"blocks {', '.join(risky)}" if risky else ("unknown: may block a large table" if unknown else None)
    if gate == FailOn.ACCESS_EXCLUSIVE_ON_LARGE:
        hit = [r.name for r in relations if r.large and UNKNOWN_LEVEL in (*r.levels, *r.maybe)]
        if statement.unknown and plan.large_relations:
            return "unknown: assume ACCESS EXCLUSIVE on " + ", ".join(plan.large_relations)
        return f"ACCESS EXCLUSIVE on {', '.join(hit)}" if hit else None
    return None
