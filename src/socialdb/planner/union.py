"""A plan joined with a trace (`migrate plan --trace`): what each statement really locked on a scratch
copy of the database, added to what the static plan predicts. Pure: socialdb.schema.trace runs the
statements and reads pg_locks; this only merges.

The union never lowers a prediction: per statement and relation, the modes shown are the static
ones plus any traced mode stronger than the strongest predicted; a relation only the trace saw is
added, marked `traced`; a rewrite the trace saw (relfilenode changed) becomes the relation's effect.
An index the plan does not name is added only where its lock is stronger than its table's: the
planner opens every index of a table it reads, the executor every index of a table it writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from socialdb.planner.lock_modes import Blocks, DataEffect, LockLevel, blocks, strongest, worst
from socialdb.planner.lock_plan import MigrationPlan, Plan, RelationPlan, StatementPlan, StatementTrace


@dataclass(frozen=True)
class Observed:
    """What one statement did on the scratch copy: its relation locks, the relations it rewrote,
    and each locked relation's kind (pg_class.relkind) and, for an index, its table."""

    locks: Mapping[str, frozenset[LockLevel]]
    rewritten: frozenset[str] = frozenset()
    kinds: Mapping[str, str] = dataclasses.field(default_factory=dict)
    tables: Mapping[str, str] = dataclasses.field(default_factory=dict)


Key = tuple[int, int]  # (version, line)
_KINDS = {"r": "table", "p": "table", "i": "index", "I": "index", "v": "view", "m": "view", "S": "sequence"}


def with_trace(plan: Plan, observed: Mapping[Key, Observed], untraced: Mapping[Key, str]) -> Plan:
    """`plan` with each traced statement's locks added (`observed`), and the reason of each statement
    not traced (`untraced`): a CONCURRENTLY statement, a transaction=off file."""
    migrations = tuple(_migration(m, observed, untraced) for m in plan.migrations)
    return dataclasses.replace(plan, migrations=migrations, traced=True)


def _migration(
    migration: MigrationPlan, observed: Mapping[Key, Observed], untraced: Mapping[Key, str]
) -> MigrationPlan:
    statements = []
    for statement in migration.statements:
        key = (migration.version, statement.line)
        if key in observed:
            statements.append(_joined(statement, observed[key]))
        else:
            reason = untraced.get(key, "not run")
            statements.append(dataclasses.replace(statement, traced=StatementTrace(False, reason)))
    return dataclasses.replace(migration, statements=tuple(statements))


def _joined(statement: StatementPlan, seen: Observed) -> StatementPlan:
    locks = tuple((name, _desc(levels)) for name, levels in sorted(seen.locks.items()))
    rewritten = tuple(sorted(seen.rewritten))
    if statement.unknown:  # already assumed ACCESS EXCLUSIVE on everything: nothing to add
        return dataclasses.replace(statement, traced=StatementTrace(True, "", locks, rewritten))
    relations, added = _relations(statement, seen)
    spent = worst([*(r.blocks for r in relations)])
    risk = any(r.risk for r in relations)
    trace = StatementTrace(True, "", locks, rewritten, tuple(added))
    return dataclasses.replace(statement, relations=relations, blocks=spent, risk=risk or statement.risk, traced=trace)


def _relations(statement: StatementPlan, seen: Observed) -> tuple[tuple[RelationPlan, ...], list[str]]:
    added: list[str] = []
    known = {r.name for r in statement.relations}
    relations = [_raised(r, seen, added) for r in statement.relations]
    strength = {r.name: strongest((*r.levels, *r.maybe)) for r in relations}
    for name in sorted(set(seen.locks) - known):
        level = strongest(seen.locks[name])
        table = seen.tables.get(name)
        if level is None or (table is not None and _covered(level, strength.get(table, _top(seen, table)))):
            continue
        relations.append(_new(name, seen, table))
        added.append(f"{level} on {name}")
    for name in sorted(seen.rewritten - known - {r.name for r in relations}):
        relations.append(_new(name, seen, seen.tables.get(name)))
        added.append(f"rewrite of {name}")
    return tuple(relations), added


def _top(seen: Observed, name: str) -> LockLevel | None:
    return strongest(seen.locks.get(name, ()))


def _covered(level: LockLevel, table_level: LockLevel | None) -> bool:
    return table_level is not None and level.rank <= table_level.rank


def _raised(relation: RelationPlan, seen: Observed, added: list[str]) -> RelationPlan:
    """The relation with any stronger traced mode and a traced rewrite added."""
    predicted = strongest((*relation.levels, *relation.maybe))
    top = strongest(seen.locks.get(relation.name, ()))
    levels, effect = relation.levels, relation.effect
    if top is not None and (predicted is None or top.rank > predicted.rank):
        levels = _desc((*relation.levels, top))
        added.append(f"{top} on {relation.name} (predicted {predicted or 'none'})")
    if relation.name in seen.rewritten and effect not in (DataEffect.REWRITE, DataEffect.EMPTIES):
        effect = DataEffect.REWRITE
        added.append(f"rewrite of {relation.name} (predicted {relation.effect.value})")
    if (levels, effect) == (relation.levels, relation.effect):
        return relation
    spent = blocks((*levels, *relation.maybe))
    risk = relation.large and spent != Blocks.NOTHING
    return dataclasses.replace(relation, levels=levels, effect=effect, blocks=spent, risk=risk, traced=True)


def _new(name: str, seen: Observed, table: str | None) -> RelationPlan:
    levels = _desc(seen.locks.get(name, ()))
    effect = DataEffect.REWRITE if name in seen.rewritten else DataEffect.NONE
    kind = _KINDS.get(seen.kinds.get(name, "r"), "table")
    return RelationPlan(name, kind, levels, (), effect, blocks(levels), table, traced=True)


def _desc(levels: Iterable[LockLevel]) -> tuple[LockLevel, ...]:
    return tuple(sorted(set(levels), key=lambda level: level.rank, reverse=True))
