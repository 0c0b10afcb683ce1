"""Partition pruning as PostgreSQL's planner does it, in its simplest case only: a query whose WHERE
says `key = constant` (ANDed with anything) on a table partitioned by RANGE or LIST on one column
of a date or integer type opens only the partitions whose bound holds the value, or else the
default partition. The planner does not lock the partitions it prunes. Pure, no database.

Whenever the plan cannot be sure (a key expression, several key columns, another type, a bound it
cannot read, a subpartition) it keeps every partition: pruning too much would be unsafe.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType

from socialdb.planner.facts import Facts, Kind, Relation

_KEY = re.compile(r"^(RANGE|LIST) \((\w+)\)$")
_RANGE = re.compile(r"^FOR VALUES FROM \((.+)\) TO \((.+)\)$")
_LIST = re.compile(r"^FOR VALUES IN \((.+)\)$")
_INTEGERS = frozenset({"integer", "bigint", "smallint"})
Value = int | date


def key_columns(relation: Relation) -> frozenset[str] | None:
    """The columns of a partitioned table's key; None when it has an expression (or is not known)."""
    match = re.fullmatch(r"(?:RANGE|LIST|HASH) \((.*)\)", relation.partition_key or "")
    names = [n.strip() for n in match.group(1).split(",")] if match else []
    return frozenset(names) if names and all(re.fullmatch(r"\w+", n) for n in names) else None


def kept(table: str, where: Any, facts: Facts, refname: str | None = None) -> list[str] | None:
    """The partitions (and theirs) a query of `table` (called `refname` there) with this WHERE
    opens; None: all of them."""
    relation = facts.relation(table)
    match = _KEY.match(relation.partition_key or "") if relation and relation.kind == Kind.PARTITIONED else None
    if relation is None or match is None:
        return None
    strategy, column = match.groups()
    text = _equal_constant(where, column, refname or table.rpartition(".")[2])
    value = _typed(text, relation.columns.get(column, "")) if text is not None else None
    return None if value is None else _holding(relation, strategy, value, facts)


def _holding(relation: Relation, strategy: str, value: Value, facts: Facts) -> list[str] | None:
    found: list[str] = []
    column = _KEY.match(relation.partition_key or "")
    kind = relation.columns.get(column.group(2), "") if column else ""
    for child in relation.children:
        bound = (facts.relation(child) or Relation(child, Kind.OTHER)).bound
        if bound == "DEFAULT":
            continue
        inside = _inside(bound or "", strategy, value, kind)
        if inside is None:
            return None
        if inside:
            found += [child, *facts.descendants(child)]
    default = relation.default_partition
    if not found and default is not None:
        found += [default, *facts.descendants(default)]
    return found


def _inside(bound: str, strategy: str, value: Value, kind: str) -> bool | None:
    """Whether the bound holds the value; None: the bound cannot be read."""
    if strategy == "RANGE" and (match := _RANGE.match(bound)):
        low, high = (_limit(part, kind) for part in match.groups())
        if low is None or high is None:
            return None
        return (low == "MINVALUE" or low <= value) and (high == "MAXVALUE" or value < high)  # type: ignore[operator]
    if strategy == "LIST" and (match := _LIST.match(bound)):
        values = [_typed(part.strip().strip("'"), kind) for part in match.group(1).split(",")]
        return None if any(v is None for v in values) else value in values
    return None


def _limit(text: str, kind: str) -> Value | str | None:
    text = text.strip()
    if text in ("MINVALUE", "MAXVALUE"):
        return text
    return _typed(text.strip("'"), kind)


def _typed(text: str, kind: str) -> Value | None:
    """The constant as the key column's type; None when the plan does not compare that type."""
    if kind in _INTEGERS and re.fullmatch(r"-?\d+", text):
        return int(text)
    if kind == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    return None


def _equal_constant(where: Any, column: str, refname: str) -> str | None:
    """The constant of a `column = constant` conjunct of the WHERE (`refname.column` too), as text."""
    conjuncts = [where]
    if isinstance(where, ast.BoolExpr) and where.boolop == BoolExprType.AND_EXPR:
        conjuncts = list(items(where.args))
    for term in conjuncts:
        if not (isinstance(term, ast.A_Expr) and term.kind == A_Expr_Kind.AEXPR_OP):
            continue
        if [sval(n) for n in items(term.name)] != ["="]:
            continue
        for left, right in ((term.lexpr, term.rexpr), (term.rexpr, term.lexpr)):
            if _is_column(left, column, refname) and (text := _constant(right)) is not None:
                return text
    return None


def _is_column(node: Any, column: str, refname: str) -> bool:
    fields = [sval(f) for f in items(node.fields)] if isinstance(node, ast.ColumnRef) else []
    return fields in ([column], [refname, column])


def _constant(node: Any) -> str | None:
    """A plain constant (a cast one may compare across types, which the server may not prune by)."""
    if not isinstance(node, ast.A_Const) or node.isnull:
        return None
    value = node.val
    if isinstance(value, ast.Integer):
        return str(value.ival)
    return str(value.sval) if isinstance(value, ast.String) else None


def items(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, tuple | list) else ()


def sval(node: Any) -> str:
    return str(node.sval) if isinstance(node, ast.String) else ""
