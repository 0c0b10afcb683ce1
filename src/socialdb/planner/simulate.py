"""What a statement changes in the planner's Facts: the next statement of a plan sees the tables,
indexes, foreign keys, triggers and functions the earlier ones created, and not those they
dropped. Pure, no database. Default names follow PostgreSQL's (`t_pkey`, `t_col_fkey`,
`t_col_idx`, `t_col_seq`), which later statements of a migration often name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from pglast import ast, parser
from pglast.ast import ColumnDef, Constraint, Node, RangeVar, String
from pglast.enums import AlterTableType as At
from pglast.enums import ConstrType, NullTestType
from pglast.enums import ObjectType as Obj
from pglast.stream import RawStream

from socialdb.planner.alter import type_name
from socialdb.planner.analysis import named_relations
from socialdb.planner.facts import Facts, ForeignKey, Function, Kind, Relation, Trigger, qualified
from socialdb.planner.queries import Scope, items, name_of, slots, sval

NAMEDATALEN = 64
_SERIAL = {"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"}
_EVENTS = {4: "INSERT", 8: "DELETE", 16: "UPDATE", 32: "TRUNCATE"}  # TRIGGER_TYPE_* bits


def apply(node: Node, sql: str, facts: Facts) -> Facts:
    """Facts after `node` (whose text is `sql`) ran."""
    rule = _APPLY.get(type(node))
    return rule(node, sql, facts) if rule else facts


def object_name(name1: str, name2: str, label: str) -> str:
    """makeObjectName (indexcmds.c): `name1_name2_label`, the longer part trimmed to fit 63 bytes."""
    room = NAMEDATALEN - 1 - (len(label) + 1 if label else 0) - (1 if name2 else 0)
    first, second = len(name1), len(name2)
    while first + second > room:
        if first > second:
            first -= 1
        else:
            second -= 1
    parts = [name1[:first]] + ([name2[:second]] if name2 else []) + ([label] if label else [])
    return "_".join(parts)


def _columns_part(columns: Iterable[str]) -> str:
    """ChooseForeignKeyConstraintNameAddition / ChooseIndexNameAddition: names joined by `_`."""
    text = ""
    for column in columns:
        text = f"{text}_{column}" if text else column
        if len(text) >= NAMEDATALEN:
            break
    return text


def _new_relation(name: str, kind: Kind, **fields: Any) -> Relation:
    return Relation(name=name, kind=kind, rows=0, bytes=0, new=True, **fields)


# -- CREATE TABLE --------------------------------------------------------------------------


def _create_table(node: ast.CreateStmt, sql: str, facts: Facts) -> Facts:
    table = name_of(node.relation)
    if facts.exists(table):
        return facts
    elements = [e for e in items(node.tableElts) if isinstance(e, ColumnDef)]
    columns = {str(e.colname): type_name(e.typeName) for e in elements}
    defaults = {str(e.colname): text for e in elements if (text := _default_text(e)) is not None}
    kind = Kind.PARTITIONED if node.partspec is not None else Kind.TABLE
    persistence = str(getattr(node.relation, "relpersistence", None) or "p")
    shape = {"partition_key": _partition_key(node.partspec), "bound": _bound(node.partbound)}
    facts = facts.with_relation(
        _new_relation(table, kind, columns=columns, persistence=persistence, defaults=defaults, **shape)
    )
    for parent in node.inhRelations or ():
        facts = _add_child(facts, name_of(parent), table)
        if getattr(node.partbound, "is_default", False):
            facts = _relation_update(facts, name_of(parent), default_partition=table)
    for column, constraint in _table_constraints(node.tableElts):
        facts = _add_constraint(facts, table, constraint, column)
    for element in node.tableElts or ():
        if isinstance(element, ColumnDef) and _has_sequence(element):
            facts = _add_sequence(facts, table, str(element.colname))
    return facts


def _default_text(column: ColumnDef) -> str | None:
    """A column's default, as SQL text (Relation.defaults)."""
    constraints = [c for c in items(column.constraints) if isinstance(c, Constraint)]
    expr = column.raw_default or next((c.raw_expr for c in constraints if c.contype == ConstrType.CONSTR_DEFAULT), None)
    return RawStream()(expr) if expr is not None else None


_STRATEGIES = {"r": "RANGE", "l": "LIST", "h": "HASH"}


def _partition_key(spec: Any) -> str | None:
    """`RANGE (at)`, as pg_get_partkeydef prints a one-column key; None for expressions."""
    if spec is None:
        return None
    names = [str(p.name) for p in items(spec.partParams) if isinstance(p, ast.PartitionElem) and p.name]
    strategy = _STRATEGIES.get(str(getattr(spec.strategy, "value", spec.strategy)), "?")
    return f"{strategy} ({', '.join(names)})" if names else None


def _bound(bound: Any) -> str | None:
    """A partition's bound as pg_get_expr prints it (`FOR VALUES FROM ('a') TO ('b')`, `DEFAULT`)."""
    if bound is None:
        return None
    if bound.is_default:
        return "DEFAULT"

    def listed(datums: Any) -> str:
        return ", ".join(
            RawStream()(d).upper() if isinstance(d, ast.ColumnRef) else RawStream()(d) for d in items(datums)
        )

    if bound.listdatums:
        return f"FOR VALUES IN ({listed(bound.listdatums)})"
    return f"FOR VALUES FROM ({listed(bound.lowerdatums)}) TO ({listed(bound.upperdatums)})"


def _add_child(facts: Facts, parent: str, child: str) -> Facts:
    relation = facts.relation(parent)
    if relation is None:
        return facts
    return facts.with_relation(replace(relation, children=(*relation.children, child)))


def _table_constraints(elements: Any) -> list[tuple[str | None, Constraint]]:
    found: list[tuple[str | None, Constraint]] = []
    for element in elements or ():
        if isinstance(element, Constraint):
            found.append((None, element))
        elif isinstance(element, ColumnDef):
            found += [(str(element.colname), c) for c in items(element.constraints) if isinstance(c, Constraint)]
    return found


def _has_sequence(column: ColumnDef) -> bool:
    identity = any(getattr(c, "contype", None) == ConstrType.CONSTR_IDENTITY for c in column.constraints or ())
    return identity or type_name(column.typeName) in _SERIAL


def _add_sequence(facts: Facts, table: str, column: str) -> Facts:
    schema, bare = table.split(".", 1)
    name = qualified(schema, object_name(bare, column, "seq"))
    return facts.with_relation(_new_relation(name, Kind.SEQUENCE, table=table, column=column))


def _add_constraint(facts: Facts, table: str, constraint: Constraint, column: str | None) -> Facts:
    kind = constraint.contype
    if kind == ConstrType.CONSTR_FOREIGN:
        return _add_key(facts, table, constraint, column)
    if kind in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE) and not constraint.indexname:
        keys = [sval(s) for s in items(constraint.keys)] or ([column] if column else [])
        label = "pkey" if kind == ConstrType.CONSTR_PRIMARY else "key"
        bare = table.split(".", 1)[1]
        default = object_name(bare, "" if label == "pkey" else _columns_part(keys), label)
        index = qualified(table.split(".")[0], constraint.conname or default)
        return facts.with_relation(_new_relation(index, Kind.INDEX, table=table))
    if kind == ConstrType.CONSTR_CHECK and constraint.conname:
        return _note_check(facts, table, constraint)
    return facts


def _add_key(facts: Facts, table: str, constraint: Constraint, column: str | None) -> Facts:
    columns = tuple(sval(s) for s in items(constraint.fk_attrs)) or ((column,) if column else ())
    bare = table.split(".", 1)[1]
    name = constraint.conname or object_name(bare, _columns_part(columns), "fkey")
    key = ForeignKey(
        name=name,
        table=table,
        columns=columns,
        references=name_of(constraint.pktable),
        ref_columns=tuple(sval(s) for s in items(constraint.pk_attrs)),
        on_delete=str(constraint.fk_del_action or "a"),
        validated=not constraint.skip_validation,
        on_update=str(constraint.fk_upd_action or "a"),
    )
    return replace(facts, foreign_keys=(*facts.foreign_keys, key))


def _note_check(facts: Facts, table: str, constraint: Constraint) -> Facts:
    """A CHECK (col IS NOT NULL): once validated, SET NOT NULL on col skips its scan."""
    expr = constraint.raw_expr
    relation = facts.relation(table)
    if relation is None or not isinstance(expr, ast.NullTest) or expr.nulltesttype != NullTestType.IS_NOT_NULL:
        return facts
    fields = items(getattr(expr.arg, "fields", None)) if isinstance(expr.arg, ast.ColumnRef) else ()
    if not fields or not isinstance(fields[-1], String):
        return facts
    checks = {**relation.checks, str(constraint.conname): (sval(fields[-1]), not constraint.skip_validation)}
    return facts.with_relation(replace(relation, checks=checks))


# -- other creations -----------------------------------------------------------------------


def _create_table_as(node: ast.CreateTableAsStmt, sql: str, facts: Facts) -> Facts:
    name = name_of(getattr(node.into, "rel", None))
    if facts.exists(name):
        return facts
    matview = node.objtype == Obj.OBJECT_MATVIEW
    reads = tuple(named_relations(node.query, Scope(facts))) if matview else ()
    return facts.with_relation(_new_relation(name, Kind.MATVIEW if matview else Kind.TABLE, reads=reads))


def _create_view(node: ast.ViewStmt, sql: str, facts: Facts) -> Facts:
    name = name_of(node.view)
    reads = tuple(named_relations(node.query, Scope(facts)))
    old = facts.relation(name)
    query = RawStream()(node.query) if node.query is not None else None
    if old is not None:
        return facts.with_relation(replace(old, reads=reads, query=query))
    return facts.with_relation(_new_relation(name, Kind.VIEW, reads=reads, query=query))


def _create_index(node: ast.IndexStmt, sql: str, facts: Facts) -> Facts:
    table = name_of(node.relation)
    columns = [p.name or "expr" for p in node.indexParams or () if isinstance(p, ast.IndexElem)]
    bare = table.split(".", 1)[1]
    name = node.idxname or object_name(bare, _columns_part(columns), "key" if node.unique else "idx")
    index = qualified(table.split(".")[0], name)
    if facts.exists(index):
        return facts
    return facts.with_relation(_new_relation(index, Kind.INDEX, table=table, expression_columns=_in_expressions(node)))


def _in_expressions(node: ast.IndexStmt) -> frozenset[str]:
    """An index with an expression or a predicate: every column it names (see Relation)."""
    elements = [p for p in node.indexParams or () if isinstance(p, ast.IndexElem)]
    if node.whereClause is None and all(p.expr is None for p in elements):
        return frozenset()
    named = {p.name for p in elements if p.name}
    return frozenset(named | _column_refs([p.expr for p in elements], node.whereClause))


def _column_refs(*trees: Any) -> set[str]:
    found: set[str] = set()
    for tree in trees:
        if isinstance(tree, tuple | list):
            found |= _column_refs(*tree)
        elif isinstance(tree, ast.ColumnRef):
            fields = items(tree.fields)
            if fields and isinstance(fields[-1], String):
                found.add(sval(fields[-1]))
        elif isinstance(tree, Node):
            found |= _column_refs(*(getattr(tree, slot, None) for slot in slots(tree)))
    return found


def _create_sequence(node: ast.CreateSeqStmt, sql: str, facts: Facts) -> Facts:
    name = name_of(node.sequence)
    return facts if facts.exists(name) else facts.with_relation(_new_relation(name, Kind.SEQUENCE))


def _create_trigger(node: ast.CreateTrigStmt, sql: str, facts: Facts) -> Facts:
    table = name_of(node.relation)
    events = frozenset(name for bit, name in _EVENTS.items() if int(node.events or 0) & bit)
    transitions = tuple(str(t.name) for t in items(node.transitionRels) if isinstance(t, ast.TriggerTransition))
    function = sval(items(node.funcname)[-1])
    trigger = Trigger(str(node.trigname), table, function, events, bool(node.row), transitions)
    kept = tuple(t for t in facts.triggers if (t.name, t.table) != (trigger.name, table))
    return replace(facts, triggers=(*kept, trigger))


def _create_function(node: ast.CreateFunctionStmt, sql: str, facts: Facts) -> Facts:
    name = sval(items(node.funcname)[-1])
    options = {o.defname: o.arg for o in items(node.options) if isinstance(o, ast.DefElem)}
    language = sval(options.get("language")).lower() or "sql"
    volatility = (sval(options.get("volatility")) or "v")[0]
    function = Function(name, language, sql.strip().rstrip(";"), volatility)
    arity = _inputs(node.parameters)
    kept = tuple(f for f in facts.function(name) if _arity(f) != arity)
    return replace(facts, functions={**facts.functions, name: (*kept, function)})


def _arity(function: Function) -> int:
    """How many input arguments a function's definition declares (to replace the right overload)."""
    try:
        node = parser.parse_sql(function.definition or "")[0].stmt
    except (parser.ParseError, IndexError):
        return -1
    return _inputs(getattr(node, "parameters", None))


def _inputs(parameters: Any) -> int:
    """How many input arguments (modes IN, INOUT, VARIADIC or unspecified)."""
    return len([p for p in parameters or () if str(getattr(p.mode, "value", p.mode)) in ("d", "i", "b", "v")])


# -- dropping and altering -----------------------------------------------------------------


def _drop(node: ast.DropStmt, sql: str, facts: Facts) -> Facts:
    names = [[sval(s) for s in obj] for obj in items(node.objects) if isinstance(obj, tuple | list)]
    kind = node.removeType
    if kind in (Obj.OBJECT_TABLE, Obj.OBJECT_VIEW, Obj.OBJECT_MATVIEW, Obj.OBJECT_INDEX, Obj.OBJECT_SEQUENCE):
        return facts.without_relations({qualified(n[-2] if len(n) > 1 else None, n[-1]) for n in names})
    if kind == Obj.OBJECT_TRIGGER:
        gone = {(n[-1], qualified(n[-3] if len(n) > 2 else None, n[-2])) for n in names}
        return replace(facts, triggers=tuple(t for t in facts.triggers if (t.name, t.table) not in gone))
    if kind in (Obj.OBJECT_FUNCTION, Obj.OBJECT_PROCEDURE, Obj.OBJECT_ROUTINE):
        return _drop_functions(node, facts)
    return facts


def _drop_functions(node: ast.DropStmt, facts: Facts) -> Facts:
    functions = dict(facts.functions)
    for obj in node.objects or ():
        if isinstance(obj, ast.ObjectWithArgs):
            name = sval(items(obj.objname)[-1])
            arity = None if obj.args_unspecified else len(items(obj.objargs))
            functions[name] = tuple(f for f in functions.get(name, ()) if arity is not None and _arity(f) != arity)
    return replace(facts, functions=functions)


def _alter_table(node: ast.AlterTableStmt, sql: str, facts: Facts) -> Facts:
    table = name_of(node.relation)
    for cmd in items(node.cmds):
        change = _ALTER.get(cmd.subtype)
        if change is not None and facts.exists(table):
            facts = change(facts, table, cmd)
    return facts


def _relation_update(facts: Facts, table: str, **changes: Any) -> Facts:
    relation = facts.relation(table)
    return facts if relation is None else facts.with_relation(replace(relation, **changes))


def _add_column(facts: Facts, table: str, cmd: ast.AlterTableCmd) -> Facts:
    column = cmd.def_
    relation = facts.relation(table)
    assert relation is not None and isinstance(column, ColumnDef)
    name = str(column.colname)
    facts = _relation_update(facts, table, columns={**relation.columns, name: type_name(column.typeName)})
    default = _default_text(column)
    if default is not None:
        facts = _relation_update(facts, table, defaults={**relation.defaults, name: default})
    for constraint in items(column.constraints):
        if isinstance(constraint, Constraint):
            facts = _add_constraint(facts, table, constraint, name)
    return _add_sequence(facts, table, name) if _has_sequence(column) else facts


def _drop_column(facts: Facts, table: str, cmd: ast.AlterTableCmd) -> Facts:
    relation = facts.relation(table)
    assert relation is not None
    columns = {k: v for k, v in relation.columns.items() if k != cmd.name}
    keys = tuple(k for k in facts.foreign_keys if not (k.table == table and cmd.name in k.columns))
    return replace(_relation_update(facts, table, columns=columns), foreign_keys=keys)


def _alter_type(facts: Facts, table: str, cmd: ast.AlterTableCmd) -> Facts:
    relation = facts.relation(table)
    assert relation is not None and isinstance(cmd.def_, ColumnDef)
    return _relation_update(facts, table, columns={**relation.columns, str(cmd.name): type_name(cmd.def_.typeName)})


def _alter_add_constraint(facts: Facts, table: str, cmd: ast.AlterTableCmd) -> Facts:
    return _add_constraint(facts, table, cmd.def_, None) if isinstance(cmd.def_, Constraint) else facts


def _validate(facts: Facts, table: str, cmd: ast.AlterTableCmd) -> Facts:
    keys = tuple(
        replace(k, validated=True) if (k.table, k.name) == (table, cmd.name) else k for k in facts.foreign_keys
    )
    relation = facts.relation(table)
    assert relation is not None
    checks = {n: (c, True) if n == cmd.name else (c, v) for n, (c, v) in relation.checks.items()}
    return replace(_relation_update(facts, table, checks=checks), foreign_keys=keys)


def _drop_constraint(facts: Facts, table: str, cmd: ast.AlterTableCmd) -> Facts:
    keys = tuple(k for k in facts.foreign_keys if (k.table, k.name) != (table, cmd.name))
    relation = facts.relation(table)
    assert relation is not None
    checks = {n: cv for n, cv in relation.checks.items() if n != cmd.name}
    return replace(_relation_update(facts, table, checks=checks), foreign_keys=keys)


def _attach(facts: Facts, table: str, cmd: ast.AlterTableCmd) -> Facts:
    return _add_child(facts, table, name_of(getattr(cmd.def_, "name", None)))


def _detach(facts: Facts, table: str, cmd: ast.AlterTableCmd) -> Facts:
    relation = facts.relation(table)
    assert relation is not None
    child = name_of(getattr(cmd.def_, "name", None))
    return _relation_update(facts, table, children=tuple(c for c in relation.children if c != child))


def _column_default(facts: Facts, table: str, cmd: ast.AlterTableCmd) -> Facts:
    relation = facts.relation(table)
    assert relation is not None
    defaults = {k: v for k, v in relation.defaults.items() if k != cmd.name}
    if cmd.def_ is not None:
        defaults[str(cmd.name)] = RawStream()(cmd.def_)
    return _relation_update(facts, table, defaults=defaults)


def _domain(node: ast.CreateDomainStmt | ast.AlterDomainStmt, sql: str, facts: Facts) -> Facts:
    """A domain with a CHECK or NOT NULL: an added column of it rewrites the table (Facts.constrained_domains)."""
    if isinstance(node, ast.CreateDomainStmt):
        name, constrained = items(node.domainname), bool(node.constraints)
    else:
        name, constrained = items(node.typeName), node.subtype in ("C", "O")  # ADD CONSTRAINT, SET NOT NULL
    if not constrained or not name:
        return facts
    return replace(facts, constrained_domains=facts.constrained_domains | {sval(name[-1])})


_ALTER: dict[At, Callable[[Facts, str, ast.AlterTableCmd], Facts]] = {
    At.AT_ColumnDefault: _column_default,
    At.AT_AttachPartition: _attach,
    At.AT_DetachPartition: _detach,
    At.AT_AddColumn: _add_column,
    At.AT_DropColumn: _drop_column,
    At.AT_AlterColumnType: _alter_type,
    At.AT_AddConstraint: _alter_add_constraint,
    At.AT_ValidateConstraint: _validate,
    At.AT_DropConstraint: _drop_constraint,
}


def _rename(node: ast.RenameStmt, sql: str, facts: Facts) -> Facts:
    if node.relation is None or not isinstance(node.relation, RangeVar):
        return facts
    old = name_of(node.relation)
    relation = facts.relation(old)
    if relation is None:
        return facts
    if node.renameType in (
        Obj.OBJECT_TABLE,
        Obj.OBJECT_VIEW,
        Obj.OBJECT_MATVIEW,
        Obj.OBJECT_INDEX,
        Obj.OBJECT_SEQUENCE,
    ):
        return _rename_relation(facts, old, qualified(old.split(".")[0], str(node.newname)))
    if node.renameType == Obj.OBJECT_COLUMN:
        columns = {(str(node.newname) if k == node.subname else k): v for k, v in relation.columns.items()}
        return _relation_update(facts, old, columns=columns)
    return facts


def _rename_relation(facts: Facts, old: str, new: str) -> Facts:
    def moved(name: str | None) -> str | None:
        return new if name == old else name

    relations = {
        moved(k) or k: replace(r, name=moved(r.name) or r.name, table=moved(r.table))
        for k, r in facts.relations.items()
    }
    keys = tuple(
        replace(k, table=moved(k.table) or k.table, references=moved(k.references) or k.references)
        for k in facts.foreign_keys
    )
    triggers = tuple(replace(t, table=moved(t.table) or t.table) for t in facts.triggers)
    return replace(facts, relations=relations, foreign_keys=keys, triggers=triggers)


def _schema(node: ast.CreateSchemaStmt, sql: str, facts: Facts) -> Facts:
    for element in node.schemaElts or ():
        facts = apply(element, "", facts)
    return facts


_APPLY: dict[type, Callable[[Any, str, Facts], Facts]] = {
    ast.CreateStmt: _create_table,
    ast.CreateTableAsStmt: _create_table_as,
    ast.ViewStmt: _create_view,
    ast.IndexStmt: _create_index,
    ast.CreateSeqStmt: _create_sequence,
    ast.CreateTrigStmt: _create_trigger,
    ast.CreateFunctionStmt: _create_function,
    ast.DropStmt: _drop,
    ast.AlterTableStmt: _alter_table,
    ast.RenameStmt: _rename,
    ast.CreateSchemaStmt: _schema,
    ast.CreateDomainStmt: _domain,
    ast.AlterDomainStmt: _domain,
}
