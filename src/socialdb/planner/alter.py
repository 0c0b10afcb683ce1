"""ALTER TABLE: each subcommand's lock (locks.ALTER_TABLE_LEVEL), the other tables it reaches
(foreign keys) and what it does to the data (rewrite, scan, neither). Pure, no database.

The statement takes the strongest lock of its subcommands on the table. A subcommand the
table does not list makes the statement unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pglast import ast
from pglast.ast import AlterTableCmd, ColumnDef, Constraint, FuncCall, Node, TypeName
from pglast.enums import AlterTableType as At
from pglast.enums import ConstrType, DropBehavior
from pglast.enums import ObjectType as Obj
from pglast.parser import ParseError

from socialdb.planner.facts import Facts, ForeignKey, Kind
from socialdb.planner.lock_modes import (
    ALTER_TABLE_LEVEL,
    Analysis,
    DataEffect,
    Effect,
    LockLevel,
    Take,
    When,
    reloptions_level,
    strongest,
)
from socialdb.planner.queries import (
    Analyze,
    Scope,
    ddl_target,
    expression_analysis,
    items,
    name_of,
    named_sequences,
    parsed,
    slots,
    sval,
)

_L = LockLevel
_EFFECT_ORDER = [DataEffect.NONE, DataEffect.SCAN, DataEffect.REWRITE]
# ALTER INDEX, ALTER SEQUENCE ... OWNER and ALTER FOREIGN TABLE are not in the lock table (unknown).
_OBJECTS = {
    Obj.OBJECT_TABLE: "ALTER TABLE",
    Obj.OBJECT_VIEW: "ALTER VIEW",
    Obj.OBJECT_MATVIEW: "ALTER MATERIALIZED VIEW",
}
_SERIAL = {"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"}


def alter_table(node: ast.AlterTableStmt, scope: Scope, analyze: Analyze) -> Analysis:
    if node.objtype == Obj.OBJECT_INDEX and node.relation is not None and _index_statistics(node):
        index = ddl_target(node.relation, scope, bool(node.missing_ok))
        takes = (Take(index, _L.SHARE_UPDATE_EXCLUSIVE, scope.when),) if index else ()
        return Analysis("ALTER INDEX ALTER COLUMN SET STATISTICS", takes=takes)
    verb = _OBJECTS.get(node.objtype) if node.objtype is not None else None
    if verb is None or node.relation is None:
        kind = node.objtype.name.removeprefix("OBJECT_") if node.objtype is not None else "?"
        return Analysis("ALTER", unknown=(f"ALTER {kind} is not in the lock table",))
    cmds = [cmd for cmd in items(node.cmds) if isinstance(cmd, AlterTableCmd)]
    command = f"{verb} " + ", ".join(_subcommand_name(cmd) for cmd in cmds)
    table = ddl_target(node.relation, scope, bool(node.missing_ok))
    if table is None:
        return Analysis(f"{command} (IF EXISTS: no such relation)")
    parts = [_subcommand(cmd, table, scope) for cmd in cmds]
    missing = [
        f"{verb} {_subcommand_name(c)} is not in the lock table" for c, p in zip(cmds, parts, strict=True) if p is None
    ]
    found = [p for p in parts if p is not None]
    level = strongest(lv for lv, _ in found) or _L.ACCESS_EXCLUSIVE
    main = Analysis(command, takes=(Take(table, level, scope.when),), unknown=tuple(missing))
    effect = max((_main_effect(a, table) for _, a in found), key=_EFFECT_ORDER.index, default=DataEffect.NONE)
    effects = tuple(Effect(t, effect) for t in _holding(table, node, scope)) if effect != DataEffect.NONE else ()
    parts_found = [_placed(a, table, node, scope) for _, a in found]
    calls = [_default_calls(cmd, table, scope, analyze) for cmd in cmds]
    return main.plus(*parts_found, Analysis(effects=effects), _children(table, level, node, scope), *calls)


def _index_statistics(node: ast.AlterTableStmt) -> bool:
    """ALTER INDEX ... ALTER COLUMN n SET STATISTICS: SHARE UPDATE EXCLUSIVE on the index alone."""
    cmds = [cmd for cmd in items(node.cmds) if isinstance(cmd, AlterTableCmd)]
    return bool(cmds) and node.relation is not None and all(c.subtype == At.AT_SetStatistics for c in cmds)


def _holding(table: str, node: ast.AlterTableStmt, scope: Scope) -> list[str]:
    """Where a rewrite or a scan of `table` happens: itself, or a partitioned table's leaf partitions."""
    relation = scope.facts.relation(table)
    if relation is None or relation.kind != Kind.PARTITIONED:
        return [table]
    return scope.facts.leaves(table) if node.relation is not None and node.relation.inh else []


def _placed(analysis: Analysis, table: str, node: ast.AlterTableStmt, scope: Scope) -> Analysis:
    """A subcommand's rewrite or scan of a partitioned table, moved to its leaf partitions."""
    holding = _holding(table, node, scope)
    if holding == [table]:
        return analysis
    effects = [e for e in analysis.effects if e.relation != table]
    moved = [Effect(t, e.effect) for e in analysis.effects if e.relation == table for t in holding]
    takes = [t for t in analysis.takes if not (t.relation == table and t.level == _L.SHARE)]
    takes += [
        Take(h, t.level, t.when) for t in analysis.takes if t.relation == table and t.level == _L.SHARE for h in holding
    ]
    return Analysis(analysis.command, tuple(takes), (*effects, *moved), analysis.creates, analysis.unknown)


def _default_calls(cmd: AlterTableCmd, table: str, scope: Scope, analyze: Analyze) -> Analysis:
    """A new column's default that is evaluated for each row (a rewrite), or a CHECK validated
    against every row: what it calls, per row."""
    check = cmd.def_
    if cmd.subtype == At.AT_AddConstraint and isinstance(check, Constraint):
        validated = check.contype == ConstrType.CONSTR_CHECK and not check.skip_validation
        return expression_analysis(check.raw_expr, scope, analyze, When.PER_ROW) if validated else Analysis()
    column = cmd.def_
    if cmd.subtype != At.AT_AddColumn or not isinstance(column, ColumnDef):
        return Analysis()
    default = column.raw_default or next(
        (c.raw_expr for c in items(column.constraints) if getattr(c, "contype", None) == ConstrType.CONSTR_DEFAULT),
        None,
    )
    if default is None or not volatile(default, scope.facts):
        return Analysis()
    return expression_analysis(default, scope, analyze, When.PER_ROW)


def _main_effect(analysis: Analysis, table: str) -> DataEffect:
    own = [e.effect for e in analysis.effects if e.relation == table and e.effect in _EFFECT_ORDER]
    return max(own, key=_EFFECT_ORDER.index, default=DataEffect.NONE)


# Subcommands that PostgreSQL applies to every partition and child, always (without ONLY).
_ALWAYS_RECURSE = frozenset({At.AT_ColumnDefault})
# ... and those applied to every partition of a partitioned table.
_PARTITIONS_ALWAYS = frozenset({At.AT_AddColumn, At.AT_SetStatistics, At.AT_SetNotNull, At.AT_AlterColumnType})
# Subcommands that act on the named partition, not on every one.
_NEVER_RECURSE = frozenset({At.AT_AttachPartition, At.AT_DetachPartition})


def _children(table: str, level: LockLevel, node: ast.AlterTableStmt, scope: Scope) -> Analysis:
    """Partitions and inheritance children: most subcommands recurse to them (not all: `SOME_PATHS`)."""
    relation = scope.facts.relation(table)
    subtypes = {cmd.subtype for cmd in items(node.cmds) if isinstance(cmd, AlterTableCmd)}
    if relation is None or node.relation is None or not node.relation.inh or subtypes <= _NEVER_RECURSE:
        return Analysis()
    always = subtypes <= _ALWAYS_RECURSE or (relation.kind == Kind.PARTITIONED and subtypes <= _PARTITIONS_ALWAYS)
    when = scope.when if always else When.SOME_PATHS.within(scope.when)
    return Analysis(takes=tuple(Take(c, level, when) for c in scope.facts.descendants(table)))


_NAMES = {
    At.AT_ColumnDefault: "ALTER COLUMN SET/DROP DEFAULT",
    At.AT_SetNotNull: "ALTER COLUMN SET NOT NULL",
    At.AT_DropNotNull: "ALTER COLUMN DROP NOT NULL",
    At.AT_AlterColumnType: "ALTER COLUMN TYPE",
    At.AT_SetStatistics: "ALTER COLUMN SET STATISTICS",
    At.AT_SetStorage: "ALTER COLUMN SET STORAGE",
    At.AT_SetCompression: "ALTER COLUMN SET COMPRESSION",
    At.AT_SetOptions: "ALTER COLUMN SET (...)",
    At.AT_ResetOptions: "ALTER COLUMN RESET (...)",
    At.AT_AddIdentity: "ALTER COLUMN ADD GENERATED",
    At.AT_SetIdentity: "ALTER COLUMN SET GENERATED",
    At.AT_DropIdentity: "ALTER COLUMN DROP IDENTITY",
    At.AT_SetExpression: "ALTER COLUMN SET EXPRESSION",
    At.AT_DropExpression: "ALTER COLUMN DROP EXPRESSION",
    At.AT_ChangeOwner: "OWNER TO",
    At.AT_SetRelOptions: "SET (...)",
    At.AT_ResetRelOptions: "RESET (...)",
    At.AT_EnableRowSecurity: "ENABLE ROW LEVEL SECURITY",
    At.AT_DisableRowSecurity: "DISABLE ROW LEVEL SECURITY",
    At.AT_ForceRowSecurity: "FORCE ROW LEVEL SECURITY",
    At.AT_NoForceRowSecurity: "NO FORCE ROW LEVEL SECURITY",
    At.AT_SetUnLogged: "SET UNLOGGED",
    At.AT_ClusterOn: "CLUSTER ON",
    At.AT_DropCluster: "SET WITHOUT CLUSTER",
    At.AT_SetTableSpace: "SET TABLESPACE",
    At.AT_AddInherit: "INHERIT",
    At.AT_DropInherit: "NO INHERIT",
}


def _subcommand_name(cmd: Any) -> str:
    """The subcommand as SQL says it: `ADD COLUMN`, `ALTER COLUMN TYPE`, `ENABLE TRIGGER`."""
    if not isinstance(cmd, AlterTableCmd) or cmd.subtype is None:
        return "?"
    if cmd.subtype in _NAMES:
        return _NAMES[cmd.subtype]
    name = cmd.subtype.name.removeprefix("AT_")
    words = "".join(f" {c}" if c.isupper() else c for c in name).strip().upper()
    return words.replace("TRIG ", "TRIGGER ").removesuffix(" TRIG") + (" TRIGGER" if name.endswith("Trig") else "")


_Part = tuple[LockLevel, Analysis]


def _subcommand(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part | None:
    if cmd.subtype is None:
        return None
    special = _SPECIAL.get(cmd.subtype)
    if special is not None:
        return special(cmd, table, scope)
    level = ALTER_TABLE_LEVEL.get(cmd.subtype)
    if level is None:
        return None
    return level, Analysis(effects=(Effect(table, DataEffect.NONE),))


def _rewrite(table: str, scope: Scope, effect: DataEffect = DataEffect.REWRITE) -> Analysis:
    """A rewrite rebuilds the table's indexes, and an index build takes SHARE on its table."""
    return Analysis(takes=(Take(table, _L.SHARE, scope.when),), effects=(Effect(table, effect),))


def _add_constraint(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part:
    constraint = cmd.def_
    assert isinstance(constraint, Constraint)
    if is_foreign_key(constraint):
        takes = foreign_key_takes([constraint], table, scope, checks_rows=not constraint.skip_validation)
        scan = DataEffect.NONE if constraint.skip_validation else DataEffect.SCAN
        return _L.SHARE_ROW_EXCLUSIVE, Analysis(takes=tuple(takes), effects=(Effect(table, scan),))
    effect = _constraint_effect(constraint)
    if _builds_index(constraint):
        return _L.ACCESS_EXCLUSIVE, _rewrite(table, scope, effect)
    return _L.ACCESS_EXCLUSIVE, Analysis(effects=(Effect(table, effect),))


def _builds_index(constraint: Constraint) -> bool:
    kinds = (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_EXCLUSION)
    return constraint.contype in kinds and not constraint.indexname


def _constraint_effect(constraint: Constraint) -> DataEffect:
    if constraint.contype in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE):
        return DataEffect.NONE if constraint.indexname else DataEffect.SCAN  # USING INDEX: already built
    if constraint.contype in (ConstrType.CONSTR_CHECK, ConstrType.CONSTR_NOTNULL):
        return DataEffect.NONE if constraint.skip_validation else DataEffect.SCAN
    return DataEffect.SCAN  # EXCLUDE builds an index


def is_foreign_key(constraint: Any) -> bool:
    return isinstance(constraint, Constraint) and constraint.contype == ConstrType.CONSTR_FOREIGN


def foreign_key_takes(
    constraints: Iterable[Constraint], table: str, scope: Scope, checks_rows: bool = False
) -> list[Take]:
    """Adding a foreign key: SHARE ROW EXCLUSIVE on both tables (each gets triggers), ACCESS SHARE on
    both (the key's definition); checking the existing rows (ADD CONSTRAINT without NOT VALID) takes
    ROW SHARE on the referenced table (its rows are locked FOR KEY SHARE). A new column's key has no
    rows to check unless it has a default."""
    takes: list[Take] = []
    for constraint in constraints:
        referenced = name_of(constraint.pktable)
        levels = [_L.SHARE_ROW_EXCLUSIVE, _L.ACCESS_SHARE] + ([_L.ROW_SHARE] if checks_rows else [])
        takes += [Take(referenced, level, scope.when) for level in levels]
        takes += [Take(table, level, scope.when) for level in (_L.SHARE_ROW_EXCLUSIVE, _L.ACCESS_SHARE)]
        # a key referencing a partitioned table gets its action triggers on every partition (and its
        # check reads them)
        partition_levels = (_L.SHARE_ROW_EXCLUSIVE, _L.ACCESS_SHARE) if checks_rows else (_L.SHARE_ROW_EXCLUSIVE,)
        takes += [Take(p, lv, scope.when) for p in scope.facts.descendants(referenced) for lv in partition_levels]
    return takes


def _add_column(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part:
    column = cmd.def_
    assert isinstance(column, ColumnDef)
    default = column.raw_default or next(
        (c.raw_expr for c in column.constraints or () if getattr(c, "contype", None) == ConstrType.CONSTR_DEFAULT), None
    )
    keys = [c for c in column.constraints or () if is_foreign_key(c)]
    takes = foreign_key_takes(keys, table, scope, checks_rows=default is not None)  # all nulls: nothing to check
    effect = added_column_effect(column, scope)
    builds = any(_builds_index(c) for c in column.constraints or () if isinstance(c, Constraint))
    if _owns_sequence(column):  # the new sequence is OWNED BY the column
        takes.append(Take(table, _L.ACCESS_SHARE, scope.when))
    takes += _dependency_locks(default, scope)
    extra = _rewrite(table, scope, effect) if effect == DataEffect.REWRITE or builds else Analysis()
    return _L.ACCESS_EXCLUSIVE, Analysis(takes=tuple(takes), effects=(Effect(table, effect),)).plus(extra)


def _owns_sequence(column: ColumnDef) -> bool:
    identity = any(getattr(c, "contype", None) == ConstrType.CONSTR_IDENTITY for c in column.constraints or ())
    return identity or type_name(column.typeName) in _SERIAL


def added_column_effect(column: ColumnDef, scope: Scope) -> DataEffect:
    """A volatile default, an identity, a stored generated column or a serial rewrites the table;
    a new constraint (or NOT NULL without a default) is checked by a scan; otherwise nothing."""
    constraints = [c for c in column.constraints or () if isinstance(c, Constraint)]
    kinds = {c.contype for c in constraints}
    default = column.raw_default or next(
        (c.raw_expr for c in constraints if c.contype == ConstrType.CONSTR_DEFAULT), None
    )
    stored = any(c.contype == ConstrType.CONSTR_GENERATED and c.generated_kind == "s" for c in constraints)
    if _owns_sequence(column) or stored or (default is not None and volatile(default, scope.facts)):
        return DataEffect.REWRITE
    if type_name(column.typeName) in scope.facts.constrained_domains:  # each row's value is checked
        return DataEffect.REWRITE
    checked = {ConstrType.CONSTR_CHECK, ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY}
    # A new column's foreign key is valid without a check while the column is all nulls, that is
    # without a default (transformFKConstraints in parse_utilcmd.c skips the validation).
    if default is not None:
        checked.add(ConstrType.CONSTR_FOREIGN)
    if (
        kinds & checked
        or (ConstrType.CONSTR_NOTNULL in kinds and default is None)
        or (column.is_not_null and default is None)
    ):
        return DataEffect.SCAN
    return DataEffect.NONE


def volatile(expr: Any, facts: Facts) -> bool:
    """Whether an expression calls a volatile function (evaluated for each row, so the table is rewritten)."""
    if isinstance(expr, tuple | list):
        return any(volatile(item, facts) for item in expr)
    if not isinstance(expr, Node):
        return False
    if isinstance(expr, FuncCall):
        name = sval(items(expr.funcname)[-1]) if items(expr.funcname) else ""
        own = facts.function(name)
        if any(f.volatility == "v" for f in own) or (not own and name in facts.volatile_functions):
            return True
    if isinstance(expr, ast.SubLink):
        return True
    return any(volatile(getattr(expr, slot, None), facts) for slot in slots(expr))


def _alter_type(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part:
    column = cmd.def_
    assert isinstance(column, ColumnDef)
    relation = scope.facts.relation(table)
    old = relation.columns.get(cmd.name or "") if relation else None
    new = type_name(column.typeName)
    plain = column.raw_default is None or _plain_using(column.raw_default, cmd.name, new)
    same = old is not None and plain and no_rewrite(old, new)
    takes = [t for key in _keys_using(table, cmd.name, scope.facts) for t in _rebuilt_key(key, scope)]
    rebuilt = same and bool(scope.facts.rebuilt_by_type_change(table, cmd.name))
    if rebuilt:  # an index using the column in an expression is always built again: SHARE, a scan
        takes.append(Take(table, _L.SHARE, scope.when))
    elif same:  # a plain index on it is rebuilt only if its operator class changes: SHARE, maybe
        takes.append(Take(table, _L.SHARE, When.SOME_PATHS.within(scope.when)))
    data = DataEffect.SCAN if rebuilt else DataEffect.NONE
    default = relation.defaults.get(cmd.name or "") if relation else None
    takes += _dependency_locks(_parsed_expression(default), scope)  # the default is stored again
    changed = Analysis(takes=tuple(takes), effects=(Effect(table, data),))
    return _L.ACCESS_EXCLUSIVE, changed if same else changed.plus(_rewrite(table, scope))


def _parsed_expression(text: str | None) -> Any:
    if text is None:
        return None
    try:
        node = parsed(f"SELECT {text}")[0]
    except (ParseError, IndexError):
        return None
    return (
        getattr(items(getattr(node, "targetList", None))[0], "val", None) if isinstance(node, ast.SelectStmt) else None
    )


def _dependency_locks(expr: Any, scope: Scope) -> list[Take]:
    """From PostgreSQL 18 recording a dependency locks what it depends on: ACCESS SHARE on each
    relation a stored expression (a default) names as a constant, a sequence of `nextval('s')`."""
    when = scope.facts.server.when_since(18, scope.when)
    return [Take(name, _L.ACCESS_SHARE, when) for name in named_sequences(expr)] if when else []


def _column_default(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part:
    return _L.ACCESS_EXCLUSIVE, Analysis(takes=tuple(_dependency_locks(cmd.def_, scope)))


def _plain_using(expr: Any, column: str | None, new: str) -> bool:
    """USING that is the column itself, or the column cast to the new type: no different from none."""
    if isinstance(expr, ast.TypeCast):
        if type_name(expr.typeName) != new:
            return False
        expr = expr.arg
    fields = items(getattr(expr, "fields", None)) if isinstance(expr, ast.ColumnRef) else ()
    return len(fields) == 1 and sval(fields[0]) == column


def _keys_using(table: str, column: str | None, facts: Facts) -> list[ForeignKey]:
    out = [k for k in facts.keys_from(table) if column in k.columns]
    return out + [k for k in facts.keys_to(table) if column in k.ref_columns]


def _rebuilt_key(key: ForeignKey, scope: Scope) -> list[Take]:
    """A foreign key on a column whose type changes is dropped (ACCESS EXCLUSIVE on both tables) and
    added again, checking every row."""
    levels = {
        key.references: (_L.ACCESS_EXCLUSIVE, _L.SHARE_ROW_EXCLUSIVE, _L.ACCESS_SHARE, _L.ROW_SHARE),
        key.table: (_L.ACCESS_EXCLUSIVE, _L.SHARE_ROW_EXCLUSIVE, _L.ACCESS_SHARE),
    }
    return [Take(name, level, scope.when) for name, wanted in levels.items() for level in wanted]


def _drop_column(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part:
    others = _key_partners(table, cmd.name, scope.facts) + _cascaded(cmd, f"col:{table}.{cmd.name}", scope)
    takes = [Take(other, _L.ACCESS_EXCLUSIVE, scope.when) for other in others]
    return _L.ACCESS_EXCLUSIVE, Analysis(takes=tuple(takes), unknown=_cascade_unknown(cmd, scope))


def _cascaded(cmd: AlterTableCmd, key: str, scope: Scope) -> list[str]:
    """With CASCADE, the relations of what depends on the column or constraint (pg_depend)."""
    return scope.facts.cascade(key) if cmd.behavior == DropBehavior.DROP_CASCADE else []


def _cascade_unknown(cmd: AlterTableCmd, scope: Scope) -> tuple[str, ...]:
    if cmd.behavior != DropBehavior.DROP_CASCADE or scope.facts.live:
        return ()
    return (f"what depends on {cmd.name} (CASCADE) is not known without a database",)


def _key_partners(table: str, column: str | None, facts: Facts) -> list[str]:
    """The other tables of the foreign keys that use `column`: their constraint is dropped (and re-added)."""
    out = [k.references for k in facts.keys_from(table) if column in k.columns]
    return out + [k.table for k in facts.keys_to(table) if column in k.ref_columns]


def _set_not_null(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part:
    relation = scope.facts.relation(table)
    proven = relation is not None and (cmd.name or "") in relation.not_null_checks
    return _L.ACCESS_EXCLUSIVE, Analysis(effects=(Effect(table, DataEffect.NONE if proven else DataEffect.SCAN),))


def _constraint_named(table: str, name: str | None, scope: Scope) -> tuple[ForeignKey | None, bool]:
    """The foreign key of that name, and whether the answer is sure (the table's keys are all known)."""
    key = next((k for k in scope.facts.keys_from(table) if k.name == name), None)
    relation = scope.facts.relation(table)
    return key, key is not None or scope.facts.complete or (relation is not None and relation.new)


def _validate(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part:
    key, sure = _constraint_named(table, cmd.name, scope)
    analysis = Analysis(effects=(Effect(table, DataEffect.SCAN),))
    if key is not None:
        reads = [(table, _L.ACCESS_SHARE), (key.references, _L.ROW_SHARE), (key.references, _L.ACCESS_SHARE)]
        analysis = analysis.plus(Analysis(takes=tuple(Take(n, lv, scope.when) for n, lv in reads)))
    elif not sure:
        analysis = analysis.plus(Analysis(unknown=(f"whether {cmd.name} is a foreign key is not known",)))
    return _L.SHARE_UPDATE_EXCLUSIVE, analysis


def _drop_constraint(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part:
    key, sure = _constraint_named(table, cmd.name, scope)
    cascaded = tuple(Take(t, _L.ACCESS_EXCLUSIVE, scope.when) for t in _cascaded(cmd, f"con:{table}.{cmd.name}", scope))
    if key is not None:
        return _L.ACCESS_EXCLUSIVE, Analysis(takes=(Take(key.references, _L.ACCESS_EXCLUSIVE, scope.when), *cascaded))
    missing = () if sure else (f"whether {cmd.name} is a foreign key is not known",)
    return _L.ACCESS_EXCLUSIVE, Analysis(takes=cascaded, unknown=(*missing, *_cascade_unknown(cmd, scope)))


def _reloptions(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part:
    names = [str(d.defname) for d in items(cmd.def_) if isinstance(d, ast.DefElem)]
    relation = scope.facts.relation(table)
    view = relation is not None and relation.kind == Kind.VIEW
    return (_L.ACCESS_EXCLUSIVE if view else reloptions_level(names)), Analysis()


def _owner(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part:
    """The owner of a table is the owner of its sequences too (when the owner really changes)."""
    sequences = [s.name for s in scope.facts.sequences_of(table)]
    when = When.SOME_PATHS.within(scope.when)
    return _L.ACCESS_EXCLUSIVE, Analysis(takes=tuple(Take(s, _L.ACCESS_EXCLUSIVE, when) for s in sequences))


def _identity(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part:
    """ADD GENERATED creates a sequence OWNED BY the column; SET GENERATED alters it; DROP IDENTITY drops it."""
    if cmd.subtype == At.AT_AddIdentity:
        return _L.ACCESS_EXCLUSIVE, Analysis(takes=(Take(table, _L.ACCESS_SHARE, scope.when),))
    sequences = [s.name for s in scope.facts.sequences_of(table, cmd.name)]
    dropped = cmd.subtype == At.AT_DropIdentity
    levels = [_L.ACCESS_EXCLUSIVE] if dropped else [_L.SHARE_ROW_EXCLUSIVE, _L.ROW_EXCLUSIVE]
    missing = () if sequences or scope.facts.complete else (f"the sequence of {table}.{cmd.name} is not known",)
    takes = tuple(Take(s, level, scope.when) for s in sequences for level in levels)
    return _L.ACCESS_EXCLUSIVE, Analysis(takes=takes, unknown=missing)


def _persistence(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part:
    """SET LOGGED / UNLOGGED copies the table, unless it already is so."""
    relation = scope.facts.relation(table)
    wanted = "p" if cmd.subtype == At.AT_SetLogged else "u"
    if relation is not None and relation.persistence == wanted:
        return _L.ACCESS_EXCLUSIVE, Analysis()
    return _L.ACCESS_EXCLUSIVE, _rewrite(table, scope)


def _attach(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part:
    """The partition: ACCESS EXCLUSIVE, scanned; the default partition: ACCESS EXCLUSIVE, scanned for
    rows that now belong to the new one; the parent's foreign keys are copied and checked, and the
    keys that reference the parent get triggers on the new partition."""
    partition = name_of(getattr(cmd.def_, "name", None))
    takes = [Take(partition, _L.ACCESS_EXCLUSIVE, scope.when), *partition_takes(table, scope)]
    takes += [Take(r, _L.ROW_SHARE, scope.when) for r in {k.references for k in scope.facts.keys_from(table)}]
    effects = (Effect(partition, DataEffect.SCAN),)
    return _L.SHARE_UPDATE_EXCLUSIVE, Analysis(takes=(*takes, *inherited_key_takes(table, scope)), effects=effects)


def partition_takes(parent: str, scope: Scope) -> list[Take]:
    """A new partition of `parent`: its default partition (ACCESS EXCLUSIVE) and the tables whose
    foreign keys reference the parent (SHARE ROW EXCLUSIVE and ACCESS SHARE: new triggers)."""
    relation = scope.facts.relation(parent)
    default = relation.default_partition if relation else None
    takes = [Take(default, _L.ACCESS_EXCLUSIVE, scope.when)] if default else []
    referencing = dict.fromkeys(k.table for k in scope.facts.keys_to(parent))
    return takes + [Take(t, lv, scope.when) for t in referencing for lv in (_L.SHARE_ROW_EXCLUSIVE, _L.ACCESS_SHARE)]


def _detach(cmd: AlterTableCmd, table: str, scope: Scope) -> _Part | None:
    if getattr(cmd.def_, "concurrent", False):
        return None  # runs outside a transaction, in two: not in the lock table
    partition = name_of(getattr(cmd.def_, "name", None))
    # The partition's copies of the parent's foreign keys become its own, with their own triggers
    # (their definitions read from the partition: ACCESS SHARE).
    keyed = bool(scope.facts.keys_from(table))
    levels = (_L.ACCESS_EXCLUSIVE, _L.ACCESS_SHARE) if keyed else (_L.ACCESS_EXCLUSIVE,)
    takes = [Take(partition, level, scope.when) for level in levels]
    # keys referencing the parent lose their triggers on the partition, once no row of theirs needs it;
    # the default partition is locked (its constraint changes)
    relation = scope.facts.relation(table)
    if relation is not None and relation.default_partition not in (None, partition):
        takes.append(Take(str(relation.default_partition), _L.ACCESS_EXCLUSIVE, scope.when))
    referencing = dict.fromkeys(k.table for k in scope.facts.keys_to(table))
    takes += [Take(t, lv, scope.when) for t in referencing for lv in (_L.ACCESS_EXCLUSIVE, _L.ACCESS_SHARE, _L.SHARE)]
    return _L.ACCESS_EXCLUSIVE, Analysis(takes=(*takes, *inherited_key_takes(table, scope, detached=True)))


def inherited_key_takes(parent: str, scope: Scope, detached: bool = False) -> list[Take]:
    """A partition's copy of each foreign key of its parent: made, SHARE ROW EXCLUSIVE (triggers) and
    ACCESS SHARE (the definition) on each referenced table; detached, SHARE ROW EXCLUSIVE only."""
    levels = (_L.SHARE_ROW_EXCLUSIVE,) if detached else (_L.SHARE_ROW_EXCLUSIVE, _L.ACCESS_SHARE)
    referenced = dict.fromkeys(k.references for k in scope.facts.keys_from(parent))
    return [Take(r, level, scope.when) for r in referenced for level in levels]


_SPECIAL: dict[At, Callable[[AlterTableCmd, str, Scope], _Part | None]] = {
    At.AT_ColumnDefault: _column_default,
    At.AT_AddConstraint: _add_constraint,
    At.AT_AddColumn: _add_column,
    At.AT_AlterColumnType: _alter_type,
    At.AT_DropColumn: _drop_column,
    At.AT_SetNotNull: _set_not_null,
    At.AT_ValidateConstraint: _validate,
    At.AT_DropConstraint: _drop_constraint,
    At.AT_SetRelOptions: _reloptions,
    At.AT_ResetRelOptions: _reloptions,
    At.AT_ChangeOwner: _owner,
    At.AT_AttachPartition: _attach,
    At.AT_SetLogged: _persistence,
    At.AT_SetUnLogged: _persistence,
    At.AT_AddIdentity: _identity,
    At.AT_SetIdentity: _identity,
    At.AT_DropIdentity: _identity,
    At.AT_DetachPartition: _detach,
}


# -- types ---------------------------------------------------------------------------------

_DISPLAY = {
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "bool": "boolean",
    "varchar": "character varying",
    "bpchar": "character",
    "varbit": "bit varying",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "timetz": "time with time zone",
    "time": "time without time zone",
    "interval": "interval",
}
# (old base, new base) pairs that are binary coercible: no rewrite when the new length allows every old value.
_BINARY = {("character varying", "text"), ("text", "character varying"), ("character varying", "character varying")}
_GROWABLE = {"character varying", "bit varying", "numeric"}


def type_name(node: TypeName | None) -> str:
    """A type as format_type() prints it (`character varying(50)`, `numeric(10,2)`, `text[]`)."""
    if node is None:
        return ""
    names = [sval(n) for n in items(node.names)]
    base = names[-1] if names else ""
    text = _DISPLAY.get(base, base)
    values = [getattr(m.val, "ival", None) for m in items(node.typmods) if isinstance(m, ast.A_Const)]
    mods = [str(v) for v in values if v is not None]
    if mods:
        text += f"({','.join(mods)})"
    return text + "[]" * len(node.arrayBounds or ())


def no_rewrite(old: str, new: str) -> bool:
    """Whether changing a column from type `old` to `new` keeps its stored values (ALTER TABLE docs)."""
    if old == new:
        return True
    old_base, old_mods = _split(old)
    new_base, new_mods = _split(new)
    if (old_base, new_base) not in _BINARY and not (old_base == new_base and old_base in _GROWABLE):
        return False
    if new_base == "text" or not new_mods:
        return True
    if not old_mods:
        return False
    if old_base == "numeric":  # more digits, same scale
        old_scale = old_mods[1] if len(old_mods) > 1 else 0
        new_scale = new_mods[1] if len(new_mods) > 1 else 0
        return new_mods[0] >= old_mods[0] and new_scale == old_scale
    return new_mods[0] >= old_mods[0]


def _split(text: str) -> tuple[str, list[int]]:
    base, _, rest = text.partition("(")
    mods = [int(m) for m in rest.rstrip(")").split(",") if m.strip().isdigit()] if rest else []
    return base.strip(), mods
