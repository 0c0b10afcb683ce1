"""The locks of queries and of the function bodies they run: pure, from parse trees and Facts.

Every relation a query names is locked when it is parsed and planned, whether or not a row
reaches it: ACCESS SHARE to read (ROW SHARE under FOR UPDATE / SHARE), ROW EXCLUSIVE to write,
the view's relations through the view, the children of an inheritance parent. A function is
different: its body runs when it is called, so the locks of a function called for each row
are `When.PER_ROW`, and those of a branch or loop of a PL/pgSQL body `When.SOME_PATHS`.
Triggers and foreign-key checks of the tables a statement writes follow the same rules.
Anything dynamic (EXECUTE) is unknown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from pglast import parser
from pglast.ast import (
    A_Const,
    CreateFunctionStmt,
    DefElem,
    DeleteStmt,
    FuncCall,
    InsertStmt,
    JoinExpr,
    MergeStmt,
    Node,
    OnConflictClause,
    RangeFunction,
    RangeVar,
    SelectStmt,
    String,
    TypeCast,
    UpdateStmt,
    WithClause,
)
from pglast.ast import ColumnRef as ast_ColumnRef
from pglast.enums import CmdType, OnConflictAction

from socialdb.planner import pruning
from socialdb.planner.facts import Facts, Function, Kind, Relation, is_system, qualified
from socialdb.planner.lock_modes import Analysis, DataEffect, Effect, LockLevel, Take, When

MAX_DEPTH = 8  # functions calling functions: deeper than this is unknown
_L = LockLevel


@dataclass(frozen=True)
class Scope:
    """Where a statement is analysed: what is known, how surely it runs, which names are not tables."""

    facts: Facts
    when: When = When.ALWAYS
    hidden: frozenset[str] = frozenset()  # CTE and transition-table names
    calling: tuple[str, ...] = ()  # the functions whose bodies enclose this statement

    def at(self, when: When) -> Scope:
        return replace(self, when=when.within(self.when))

    def hiding(self, names: frozenset[str] | set[str]) -> Scope:
        return replace(self, hidden=self.hidden | frozenset(names))


Analyze = Callable[[Node, Scope], Analysis]


def name_of(rv: Any) -> str:
    """A RangeVar's relation, schema-qualified (pglast types every field optional; the grammar sets these)."""
    assert isinstance(rv, RangeVar) and rv.relname, rv
    return qualified(rv.schemaname, rv.relname)


def slots(node: Node) -> tuple[str, ...]:
    """A node's fields."""
    return tuple(getattr(type(node), "__slots__", ()))


def sval(node: Any) -> str:
    return str(node.sval) if isinstance(node, String) else ""


def items(value: Any) -> tuple[Any, ...]:
    """A list field of a node, () when absent."""
    return tuple(value) if isinstance(value, tuple | list) else ()


def parsed(text: str) -> list[Node]:
    """The statements of `text` (raises parser.ParseError)."""
    return [raw.stmt for raw in parser.parse_sql(text) if raw.stmt is not None]


def resolve(rv: RangeVar, scope: Scope) -> str | None:
    """The relation a RangeVar names; None for a CTE, a transition table, a catalog or (with a complete
    catalog) a name that is no relation."""
    if not rv.schemaname and rv.relname in scope.hidden:
        return None
    name = name_of(rv)
    if is_system(name):
        return None
    if scope.facts.complete and not scope.facts.exists(name):
        return None
    return name


def ddl_target(rv: RangeVar, scope: Scope, missing_ok: bool) -> str | None:
    """The relation a DDL statement names; None when `IF EXISTS` finds nothing there (no lock is taken)."""
    name = name_of(rv)
    if missing_ok and scope.facts.complete and not scope.facts.exists(name):
        return None
    return name


@dataclass(frozen=True)
class _Write:
    """How a relation is written: the columns an UPDATE sets (None: any), those an INSERT gives
    (None: all, or not known), whether its partitions are written too, how deep in actions."""

    columns: set[str] | None = None
    given: set[str] | None = None
    inherit: bool = True
    depth: int = 0
    nulls: bool = False  # a SET NULL action: the keys it sets are null, no key check runs
    partitions: tuple[str, ...] | None = None  # those left after pruning (None: every one)

    def deeper(self, **changes: Any) -> _Write:
        return replace(self, depth=self.depth + 1, partitions=None, **changes)


@dataclass
class _Walk:
    """Collects the locks of one query (and of what it calls) as it walks the tree."""

    scope: Scope
    analyze: Analyze
    found: list[Analysis] = field(default_factory=list)

    def take(self, name: str, level: LockLevel, when: When, effect: DataEffect | None = None) -> None:
        effects = (Effect(name, effect),) if effect else ()
        self.found.append(Analysis(takes=(Take(name, level, when),), effects=effects))

    def result(self) -> Analysis:
        return Analysis().plus(*self.found)

    # -- generic descent -------------------------------------------------------------------

    def visit(self, node: Any, scope: Scope, calls: When, level: LockLevel = _L.ACCESS_SHARE) -> None:
        """Any node: statements by their kind, relations read at `level`, function calls run `calls`."""
        if isinstance(node, tuple | list):
            for item in node:
                self.visit(item, scope, calls, level)
        elif isinstance(node, SelectStmt):
            self.select(node, scope)
        elif isinstance(node, InsertStmt | UpdateStmt | DeleteStmt | MergeStmt):
            self.dml(node, scope)
        elif isinstance(node, RangeVar):
            self.read(node, scope, level)
        elif isinstance(node, FuncCall):
            self.call(node, scope, calls)
            self.visit(_children(node), scope, calls, level)
        elif isinstance(node, Node):
            self.visit(_children(node), scope, calls, level)

    def read(self, rv: RangeVar, scope: Scope, level: LockLevel, where: Any = None) -> None:
        name = resolve(rv, scope)
        if name is None:
            return
        relation = scope.facts.relation(name)
        kind = relation.kind if relation else Kind.TABLE
        self.take(name, level, scope.when, DataEffect.READS if kind.holds_rows else None)
        refname = rv.alias.aliasname if rv.alias else rv.relname
        self._through(name, _L.ACCESS_SHARE, scope, inherit=bool(rv.inh), where=(where, refname))

    def _through(
        self, name: str, level: LockLevel, scope: Scope, inherit: bool, where: tuple[Any, Any] = (None, None)
    ) -> None:
        """A view's relations (the rewriter locks them) and an inheritance parent's children, or the
        partitions left after pruning (pruning.py)."""
        relation = scope.facts.relation(name)
        if relation is None:
            return
        for base in relation.reads if relation.kind == Kind.VIEW else ():
            self.take(base, level, scope.when, DataEffect.READS)
            self._through(base, level, scope, inherit=True)
        kept = pruning.kept(name, where[0], scope.facts, where[1]) if where[0] is not None else None
        for child in (scope.facts.descendants(name) if kept is None else kept) if inherit else ():
            self.take(child, level, scope.when)

    # -- queries ---------------------------------------------------------------------------

    def select(self, node: SelectStmt, scope: Scope) -> None:
        scope = self.with_clause(node.withClause, scope)
        if node.op is not None and node.larg is not None:  # UNION / INTERSECT / EXCEPT
            self.visit((node.larg, node.rarg), scope, When.PER_ROW)
            return
        locked = _locked_names(node)
        single = len(node.fromClause or ()) == 1
        for item in node.fromClause or ():
            self.from_item(item, scope, locked, node.whereClause if single else None)
        once = not node.fromClause  # `SELECT f()`: the function runs once
        calls = scope.when if once else When.PER_ROW
        exprs = (node.targetList, node.whereClause, node.groupClause, node.havingClause, node.sortClause)
        self.visit(exprs, scope, calls)
        self.visit(node.valuesLists, scope, scope.when)
        self.visit((node.limitCount, node.limitOffset), scope, When.PER_ROW)

    def from_item(self, item: Any, scope: Scope, locked: set[str] | None, where: Any = None) -> None:
        if isinstance(item, RangeVar):
            refname = item.alias.aliasname if item.alias else item.relname
            share = locked is not None and (not locked or refname in locked)
            self.read(item, scope, _L.ROW_SHARE if share else _L.ACCESS_SHARE, where)
        elif isinstance(item, RangeFunction):
            self.visit(item.functions, scope, scope.when)  # a function in FROM runs once
        elif isinstance(item, JoinExpr):
            self.from_item(item.larg, scope, locked)
            self.from_item(item.rarg, scope, locked)
            self.visit(item.quals, scope, When.PER_ROW)
        else:
            self.visit(item, scope, When.PER_ROW)

    def with_clause(self, clause: WithClause | None, scope: Scope) -> Scope:
        if clause is None:
            return scope
        names = [cte.ctename for cte in clause.ctes or ()]
        for index, cte in enumerate(clause.ctes or ()):
            visible = names if clause.recursive else names[:index]  # a CTE sees the ones before it
            self.visit(cte.ctequery, scope.hiding(set(visible)), When.PER_ROW)
        return scope.hiding(set(names))

    def dml(self, node: InsertStmt | UpdateStmt | DeleteStmt | MergeStmt, scope: Scope) -> None:
        scope = self.with_clause(node.withClause, scope)
        how = _Write(_set_columns(node), _insert_columns(node))
        self.target(node.relation, _events(node), scope, replace(how, partitions=_pruned(node, scope)))
        if isinstance(node, InsertStmt):
            self.visit(node.selectStmt, scope, scope.when)
            self.visit(node.onConflictClause, scope, When.PER_ROW)
        elif isinstance(node, UpdateStmt):
            self.visit(node.fromClause, scope, When.PER_ROW)
        elif isinstance(node, DeleteStmt):
            self.visit(node.usingClause, scope, When.PER_ROW)
        else:
            self.visit(node.sourceRelation, scope, scope.when)
            self.visit((node.joinCondition, node.mergeWhenClauses), scope, When.PER_ROW)
        rest = (
            getattr(node, "targetList", None),
            getattr(node, "whereClause", None),
            getattr(node, "returningClause", None),
        )
        self.visit(rest, scope, When.PER_ROW)

    def target(self, rv: RangeVar | None, events: tuple[str, ...], scope: Scope, how: _Write) -> None:
        name = resolve(rv, scope) if rv is not None else None
        if rv is None or name is None:
            return
        self.write(name, events, scope, replace(how, inherit=bool(rv.inh)))

    def write(self, name: str, events: tuple[str, ...], scope: Scope, how: _Write) -> None:
        """ROW EXCLUSIVE on a written relation and on what writing it reaches: an updatable view's
        relations, the partitions, the sequences of defaults, triggers and foreign-key actions."""
        if how.depth > MAX_DEPTH:
            self.found.append(Analysis(unknown=(f"writes reaching {name} nest too deep to follow",)))
            return
        self.take(name, _L.ROW_EXCLUSIVE, scope.when, DataEffect.WRITES_ROWS)
        relation = scope.facts.relation(name)
        if relation is not None and relation.kind == Kind.VIEW:  # an updatable view writes its relation
            names = _base_columns(relation.query)
            through = how.deeper(columns=_mapped(how.columns, names), given=_mapped(how.given, names))
            for base in relation.reads:
                self.write(base, events, scope, through)
        partitions = scope.facts.descendants(name) if how.partitions is None else how.partitions
        for child in partitions if how.inherit else ():
            self.take(child, _L.ROW_EXCLUSIVE, scope.when)
            for event in events:  # a partition's own foreign keys and triggers (clones of its parent's)
                self.keys(child, event, scope, how.deeper())
        if "INSERT" in events:
            self.defaults(name, scope, how.given)
        for event in (*events, *_moved(relation, events, how)):
            self.fire(name, event, scope)
            self.keys(name, event, scope, how)

    def defaults(self, table: str, scope: Scope, given: set[str] | None) -> None:
        """The defaults of the columns an INSERT leaves out, run for each row: nextval() on identity
        and serial sequences, and what a default expression calls."""
        inner = scope.at(When.PER_ROW)
        for sequence in scope.facts.sequences_of(table):
            if given is None or sequence.column not in given:
                self.take(sequence.name, _L.ROW_EXCLUSIVE, inner.when)
        relation = scope.facts.relation(table)
        for column, default in relation.defaults.items() if relation else ():
            if given is not None and column in given:
                continue
            try:
                self.visit(parsed(f"SELECT {default}"), inner, inner.when)
            except parser.ParseError:
                self.found.append(Analysis(unknown=(f"cannot read the default of {table}.{column}",)))

    def fire(self, table: str, event: str, scope: Scope) -> None:
        """The enabled triggers of `event` on `table`: statement triggers always fire, row triggers per row."""
        for trigger in scope.facts.triggers_on(table, event):
            inner = scope.at(When.PER_ROW if trigger.per_row else When.ALWAYS).hiding(set(trigger.transition_tables))
            self.run_function(trigger.function, inner)

    def keys(self, table: str, event: str, scope: Scope, how: _Write) -> None:
        """Foreign-key checks and actions, run for each row whose key changes (ri_triggers.c); an
        UPDATE that sets none of a key's columns never runs them. An action (CASCADE, SET NULL,
        SET DEFAULT) writes the referencing table, and what that write reaches in turn."""
        facts, inner = scope.facts, scope.at(When.PER_ROW)
        touched = how.columns if event == "UPDATE" else None
        if event in ("INSERT", "UPDATE") and not how.nulls:
            for key in facts.keys_from(table):
                if touched is None or touched & set(key.columns):
                    self.take(key.references, _L.ROW_SHARE, inner.when)
        if event not in ("DELETE", "UPDATE"):
            return
        for key in facts.keys_to(table):
            if touched is not None and not touched & set(key.ref_columns or key.columns):
                continue
            self.take(table, _L.ROW_SHARE, inner.when)  # NO ACTION first looks for another row with the old key
            action = key.on_delete if event == "DELETE" else key.on_update
            if action in ("c", "n", "d"):
                then = "DELETE" if (event, action) == ("DELETE", "c") else "UPDATE"
                nulls = action == "n"
                self.write(key.table, (then,), inner, how.deeper(columns=set(key.columns), inherit=True, nulls=nulls))
            else:
                for name in (key.table, *facts.descendants(key.table)):
                    self.take(name, _L.ROW_SHARE, inner.when)

    # -- functions -------------------------------------------------------------------------

    def call(self, node: FuncCall, scope: Scope, calls: When) -> None:
        names = [sval(n) for n in items(node.funcname)]
        name = names[-1] if names else ""
        schema = names[0] if len(names) > 1 else None
        if name in _SEQUENCE_FUNCTIONS and schema in (None, "pg_catalog") and not scope.facts.function(name):
            self.sequence_call(node, name, scope.at(calls))
            return
        if schema in ("pg_catalog", "information_schema"):
            return
        self.run_function(name, scope.at(calls))

    def sequence_call(self, node: FuncCall, name: str, scope: Scope) -> None:
        """nextval, setval and currval open their sequence with ROW EXCLUSIVE (lock_and_open_sequence),
        when they run; a sequence named by anything but a constant is not known."""
        args = items(node.args)
        sequence = _sequence_name(args[0]) if args else None
        if sequence is None:
            self.found.append(Analysis(unknown=(f"{name}() of a sequence known only when it runs",)))
        elif not is_system(sequence) and (not scope.facts.complete or scope.facts.exists(sequence)):
            self.take(sequence, _L.ROW_EXCLUSIVE, scope.when)

    def run_function(self, name: str, scope: Scope) -> None:
        for function in scope.facts.function(name):
            if name in scope.calling or len(scope.calling) >= MAX_DEPTH:
                self.found.append(Analysis(unknown=(f"{name}() calls itself, or nests too deep, to follow",)))
                continue
            inner = replace(scope, calling=(*scope.calling, name))
            self.found.append(body_analysis(function, inner, self.analyze))


def query_analysis(node: Node, scope: Scope, analyze: Analyze) -> Analysis:
    """The locks of a SELECT, INSERT, UPDATE, DELETE or MERGE and of everything it runs."""
    walk = _Walk(scope, analyze)
    walk.visit(node, scope, scope.when)
    return walk.result()


def function_analysis(name: str, scope: Scope, analyze: Analyze) -> Analysis:
    """What calling the function `name` locks (every overload of that name)."""
    walk = _Walk(scope, analyze)
    walk.run_function(name, scope)
    return walk.result()


def expression_analysis(node: Any, scope: Scope, analyze: Analyze, calls: When) -> Analysis:
    """The locks of expressions inside another statement (a policy's USING, a default)."""
    walk = _Walk(scope, analyze)
    walk.visit(node, scope, calls)
    return walk.result()


def body_analysis(function: Function, scope: Scope, analyze: Analyze) -> Analysis:
    """What running a function's body locks (`scope.when` is how surely the call happens)."""
    if function.definition is None or function.language not in ("sql", "plpgsql"):
        if function.volatility == "i":
            return Analysis()  # IMMUTABLE: by its contract it reads and writes no table
        touches = "reads" if function.volatility == "s" else "reads or writes"
        return Analysis(unknown=(f"{touches} what {function.name}() touches: unknown ({function.language})",))
    if function.language == "sql":
        return _sql_body(function, scope, analyze)
    return plpgsql_analysis(function.definition, function.name, scope, analyze)


def _sql_body(function: Function, scope: Scope, analyze: Analyze) -> Analysis:
    try:
        tree = parser.parse_sql(function.definition or "")
        node = tree[0].stmt
        assert isinstance(node, CreateFunctionStmt)
        if node.sql_body is not None:
            statements = [s for s in _flatten(node.sql_body) if isinstance(s, Node)]
        else:
            statements = parsed(sql_function_body(node) or "")
    except (parser.ParseError, AssertionError, IndexError):
        return Analysis(unknown=(f"cannot read the body of {function.name}()",))
    return Analysis().plus(*(analyze(s, scope) for s in statements))


def sql_function_body(node: CreateFunctionStmt) -> str | None:
    """The `AS '...'` text of a CREATE FUNCTION."""
    for option in node.options or ():
        if isinstance(option, DefElem) and option.defname == "as":
            parts = option.arg if isinstance(option.arg, tuple | list) else (option.arg,)
            texts = [p.sval for p in parts if isinstance(p, String)]
            return texts[0] if texts else None
    return None


def _flatten(value: Any) -> Iterator[Any]:
    if isinstance(value, tuple | list):
        for item in value:
            yield from _flatten(item)
    else:
        yield value


# -- PL/pgSQL ------------------------------------------------------------------------------

_BRANCHES = {
    "PLpgSQL_stmt_if": ("then_body", "elsif_list", "else_body"),
    "PLpgSQL_stmt_case": ("case_when_list", "else_stmts"),
    "PLpgSQL_stmt_loop": ("body",),
    "PLpgSQL_stmt_while": ("cond", "body"),
    "PLpgSQL_stmt_fori": ("body",),
    "PLpgSQL_stmt_fors": ("body",),
    "PLpgSQL_stmt_forc": ("body",),
    "PLpgSQL_stmt_foreach_a": ("body",),
    "PLpgSQL_stmt_block": ("exceptions",),
    "PLpgSQL_function": ("datums",),
}
_DYNAMIC = {"PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors"}
_ASSIGN = re.compile(r"^[^:=]*?(?::=|=)")


def plpgsql_analysis(definition: str, name: str, scope: Scope, analyze: Analyze) -> Analysis:
    """The locks of a PL/pgSQL body (a CREATE FUNCTION or a DO block wrapped as one)."""
    try:
        tree = json.loads(parser.parse_plpgsql_json(definition))
    except (parser.ParseError, ValueError) as exc:
        return Analysis(unknown=(f"cannot read the PL/pgSQL body of {name}: {exc}",))
    found: list[Analysis] = []
    _pl_walk(tree, scope, analyze, name, found)
    return Analysis().plus(*found)


def _pl_walk(value: Any, scope: Scope, analyze: Analyze, name: str, found: list[Analysis]) -> None:
    if isinstance(value, list):
        for item in value:
            _pl_walk(item, scope, analyze, name, found)
        return
    if not isinstance(value, dict):
        return
    for key, inner in value.items():
        if key in _DYNAMIC or (key == "PLpgSQL_stmt_open" and "dynquery" in inner):
            found.append(Analysis(unknown=(f"{name} runs dynamic SQL (EXECUTE): its locks cannot be known",)))
        elif key == "PLpgSQL_expr":
            found.append(_pl_expression(inner, scope, analyze, name))
        elif isinstance(inner, dict) and key in _BRANCHES:
            for part, sub in inner.items():
                where = scope.at(When.SOME_PATHS) if part in _BRANCHES[key] else scope
                _pl_walk(sub, where, analyze, name, found)
        else:
            _pl_walk(inner, scope, analyze, name, found)


def _pl_expression(expr: dict[str, Any], scope: Scope, analyze: Analyze, name: str) -> Analysis:
    query, mode = str(expr.get("query", "")), int(expr.get("parseMode", 0))
    if mode in (3, 4, 5):  # an assignment: `target := expression`
        query = _ASSIGN.sub("", query, count=1)
    text = query if mode == 0 else f"SELECT {query}"
    try:
        statements = parsed(text)
    except parser.ParseError:
        return Analysis(unknown=(f"cannot read a statement of {name}: {query[:60]}",))
    return Analysis().plus(*(analyze(s, scope) for s in statements))


# -- helpers -------------------------------------------------------------------------------


def _children(node: Node) -> list[Any]:
    return [getattr(node, slot) for slot in slots(node) if getattr(node, slot, None) is not None]


def _locked_names(node: SelectStmt) -> set[str] | None:
    """None: no FOR UPDATE / SHARE; an empty set: all of FROM; else the names after OF."""
    if not node.lockingClause:
        return None
    names: set[str] = set()
    for clause in node.lockingClause:
        rels = clause.lockedRels or ()
        if not rels:
            return set()
        names |= {str(rv.relname) for rv in rels if isinstance(rv, RangeVar)}
    return names


_SEQUENCE_FUNCTIONS = frozenset({"nextval", "setval", "currval"})


def named_sequences(expr: Any) -> list[str]:
    """The relations an expression names as constants: `nextval('s')`, `'s'::regclass`."""
    found: list[str] = []
    if isinstance(expr, tuple | list):
        return [name for item in expr for name in named_sequences(item)]
    if isinstance(expr, FuncCall) and sval(items(expr.funcname)[-1]) in _SEQUENCE_FUNCTIONS and items(expr.args):
        found += [n for n in [_sequence_name(items(expr.args)[0])] if n is not None]
    elif (
        isinstance(expr, TypeCast) and expr.typeName is not None and sval(items(expr.typeName.names)[-1]) == "regclass"
    ):
        found += [n for n in [_sequence_name(expr)] if n is not None]
    if isinstance(expr, Node):
        found += [n for slot in slots(expr) for n in named_sequences(getattr(expr, slot, None))]
    return list(dict.fromkeys(found))


def _sequence_name(arg: Any) -> str | None:
    """The sequence a constant argument names: `'s'`, `'public.s'`, `'s'::regclass`."""
    while isinstance(arg, TypeCast):
        arg = arg.arg
    value = getattr(arg, "val", None) if isinstance(arg, A_Const) else None
    if not isinstance(value, String):
        return None
    parts = [p.strip('"') for p in str(value.sval).split(".")]
    return qualified(parts[-2] if len(parts) > 1 else None, parts[-1])


def _base_columns(query: str | None) -> dict[str, str] | None:
    """An updatable view's columns, each the name of its relation's column (None: not known)."""
    try:
        node = parsed(query or "")[0]
    except (parser.ParseError, IndexError):
        return None
    if not isinstance(node, SelectStmt) or len(node.fromClause or ()) != 1:
        return None
    found: dict[str, str] = {}
    for target in node.targetList or ():
        fields = items(getattr(getattr(target, "val", None), "fields", None))
        if (
            not isinstance(getattr(target, "val", None), ast_ColumnRef)
            or not fields
            or not isinstance(fields[-1], String)
        ):
            return None
        found[str(target.name or sval(fields[-1]))] = sval(fields[-1])
    return found


def _mapped(columns: set[str] | None, names: dict[str, str] | None) -> set[str] | None:
    if columns is None or names is None or not columns <= set(names):
        return None
    return {names[c] for c in columns}


def _moved(relation: Relation | None, events: tuple[str, ...], how: _Write) -> tuple[str, ...]:
    """An UPDATE of a partitioned table's key moves rows between partitions: a DELETE and an INSERT,
    with their triggers and key checks."""
    if relation is None or relation.kind != Kind.PARTITIONED or "UPDATE" not in events:
        return ()
    key = pruning.key_columns(relation)
    if how.columns is not None and key is not None and not how.columns & key:
        return ()
    return ("DELETE", "INSERT")


def _pruned(node: InsertStmt | UpdateStmt | DeleteStmt | MergeStmt, scope: Scope) -> tuple[str, ...] | None:
    """The partitions an UPDATE or DELETE opens after pruning (None: all); an UPDATE that sets the
    partition key may move rows to any partition."""
    if not isinstance(node, UpdateStmt | DeleteStmt) or node.relation is None or node.whereClause is None:
        return None
    name = resolve(node.relation, scope)
    relation = scope.facts.relation(name) if name else None
    if name is None or relation is None:
        return None
    key = pruning.key_columns(relation)
    if isinstance(node, UpdateStmt) and (key is None or (_set_columns(node) or set()) & key):
        return None
    refname = node.relation.alias.aliasname if node.relation.alias else node.relation.relname
    kept = pruning.kept(name, node.whereClause, scope.facts, refname)
    return None if kept is None else tuple(kept)


def _insert_columns(node: InsertStmt | UpdateStmt | DeleteStmt | MergeStmt) -> set[str] | None:
    """The columns an INSERT names (None: every column, or no INSERT)."""
    if not isinstance(node, InsertStmt) or not node.cols:
        return None
    return {str(t.name) for t in node.cols if getattr(t, "name", None)}


def _set_columns(node: InsertStmt | UpdateStmt | DeleteStmt | MergeStmt) -> set[str] | None:
    """The columns an UPDATE sets (None: every column may change)."""
    if not isinstance(node, UpdateStmt):
        return None
    return {str(t.name) for t in node.targetList or () if getattr(t, "name", None)}


def _events(node: InsertStmt | UpdateStmt | DeleteStmt | MergeStmt) -> tuple[str, ...]:
    if isinstance(node, InsertStmt):
        clause = node.onConflictClause
        updates = isinstance(clause, OnConflictClause) and clause.action == OnConflictAction.ONCONFLICT_UPDATE
        return ("INSERT", "UPDATE") if updates else ("INSERT",)
    if isinstance(node, UpdateStmt):
        return ("UPDATE",)
    if isinstance(node, DeleteStmt):
        return ("DELETE",)
    kinds = {getattr(c, "commandType", None) for c in node.mergeWhenClauses or ()}
    names = {CmdType.CMD_INSERT: "INSERT", CmdType.CMD_UPDATE: "UPDATE", CmdType.CMD_DELETE: "DELETE"}
    return tuple(names[k] for k in names if k in kinds)
