"""One statement's locks and data effect, from its parse tree: pure, no database.

`analyze(node, scope)` dispatches on the statement's kind. Each rule is PostgreSQL's documented
lock for that command (docs "Explicit Locking", the command's reference page, and for ALTER
TABLE `AlterTableGetLockLevel`, alter.py); the locks of the queries and function bodies a
statement runs come from queries.py. A kind missing from `_RULES` is unknown: the plan says
so and assumes ACCESS EXCLUSIVE. Every rule is exercised against a real server by
tests/test_lock_plan.py, which fails when one is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pglast import ast, parser
from pglast.ast import Node, RangeVar, String
from pglast.enums import DropBehavior, GrantTargetType, ReindexObjectType
from pglast.enums import ObjectType as Obj

from socialdb.planner import alter
from socialdb.planner.facts import Facts, Kind, qualified
from socialdb.planner.lock_modes import Analysis, DataEffect, Effect, LockLevel, Take, When
from socialdb.planner.queries import (
    Scope,
    ddl_target,
    expression_analysis,
    function_analysis,
    items,
    name_of,
    named_sequences,
    parsed,
    plpgsql_analysis,
    query_analysis,
    resolve,
    slots,
    sql_function_body,
    sval,
)

_L = LockLevel
UNKNOWN_LEVEL = _L.ACCESS_EXCLUSIVE  # what the plan assumes of a statement it cannot classify
Rule = Callable[[Any, Scope], Analysis]


def analyze(node: Node, scope: Scope) -> Analysis:
    """What `node` locks and does, `scope.when` telling how surely it runs."""
    rule = _RULES.get(type(node))
    if rule is None:
        return unknown(_command(node), f"{_command(node)} is not in the plan's lock table")
    return rule(node, scope)


def unknown(command: str, reason: str) -> Analysis:
    return Analysis(command, unknown=(reason,))


def take(name: str, level: LockLevel, scope: Scope) -> Take:
    return Take(name, level, scope.when)


def _command(node: Node) -> str:
    return type(node).__name__.removesuffix("Stmt")


def _names(obj: Any) -> list[str]:
    return [sval(s) for s in items(obj) if isinstance(s, String)]


def _dotted(parts: list[str]) -> str:
    return qualified(parts[-2] if len(parts) > 1 else None, parts[-1])


# -- creating ------------------------------------------------------------------------------


def _create_table(node: ast.CreateStmt, scope: Scope) -> Analysis:
    name = name_of(node.relation)
    if node.if_not_exists and scope.facts.exists(name):
        return Analysis("CREATE TABLE IF NOT EXISTS (exists: skipped)")
    takes: list[Take] = []
    for element in node.tableElts or ():
        if isinstance(element, ast.TableLikeClause):
            takes.append(take(name_of(element.relation), _L.ACCESS_SHARE, scope))
    for parent in node.inhRelations or ():
        level = _L.ACCESS_EXCLUSIVE if node.partbound is not None else _L.SHARE_UPDATE_EXCLUSIVE
        takes.append(take(name_of(parent), level, scope))
        if node.partbound is not None:  # a partition gets a copy of each of its parent's foreign keys
            takes += alter.inherited_key_takes(name_of(parent), scope) + alter.partition_takes(name_of(parent), scope)
    takes += alter.foreign_key_takes(_foreign_keys(node.tableElts), name, scope)
    command = "CREATE TABLE" + (" ... PARTITION OF" if node.partbound is not None else "")
    return Analysis(command, takes=tuple(takes), creates=(name,))


def _constraints(elements: Iterable[Any] | None) -> list[ast.Constraint]:
    found: list[ast.Constraint] = []
    for element in elements or ():
        if isinstance(element, ast.Constraint):
            found.append(element)
        elif isinstance(element, ast.ColumnDef):
            found += [c for c in element.constraints or () if isinstance(c, ast.Constraint)]
    return found


def _foreign_keys(elements: Iterable[Any] | None) -> list[ast.Constraint]:
    return [c for c in _constraints(elements) if alter.is_foreign_key(c)]


def _create_table_as(node: ast.CreateTableAsStmt, scope: Scope) -> Analysis:
    name = name_of(getattr(node.into, "rel", None))
    command = "CREATE MATERIALIZED VIEW" if node.objtype == Obj.OBJECT_MATVIEW else "CREATE TABLE AS"
    if node.if_not_exists and scope.facts.exists(name):
        return Analysis(f"{command} IF NOT EXISTS (exists: skipped)")
    reads = query_analysis(node.query, scope, analyze) if node.query is not None else Analysis()
    return Analysis(command, creates=(name,)).plus(reads)


def _create_view(node: ast.ViewStmt, scope: Scope) -> Analysis:
    """Parse analysis only: the relations the query names, not those behind them; nothing runs."""
    name = name_of(node.view)
    takes = [take(r, _L.ACCESS_SHARE, scope) for r in named_relations(node.query, scope)]
    if node.replace and scope.facts.exists(name):
        takes.append(take(name, _L.ACCESS_EXCLUSIVE, scope))
        return Analysis("CREATE OR REPLACE VIEW", takes=tuple(takes))
    return Analysis("CREATE VIEW", takes=tuple(takes), creates=(name,))


def named_relations(node: Any, scope: Scope) -> list[str]:
    """The relations a query names (CTEs and catalogs left out), as parse analysis opens them."""
    found: list[str] = []
    _collect(node, scope, found)
    return list(dict.fromkeys(found))


def _collect(node: Any, scope: Scope, found: list[str]) -> None:
    if isinstance(node, tuple | list):
        for item in node:
            _collect(item, scope, found)
        return
    if not isinstance(node, Node):
        return
    if isinstance(node, ast.WithClause):
        scope = scope.hiding({cte.ctename for cte in node.ctes or ()})
    if isinstance(node, ast.SelectStmt | ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt) and node.withClause:
        scope = scope.hiding({cte.ctename for cte in node.withClause.ctes or ()})
    if isinstance(node, RangeVar):
        name = resolve(node, scope)
        if name is not None:
            found.append(name)
    for slot in slots(node):
        _collect(getattr(node, slot, None), scope, found)


def _create_index(node: ast.IndexStmt, scope: Scope) -> Analysis:
    table = name_of(node.relation)
    index = qualified(table.split(".")[0], node.idxname) if node.idxname else None
    level = _L.SHARE_UPDATE_EXCLUSIVE if node.concurrent else _L.SHARE
    command = "CREATE INDEX" + (" CONCURRENTLY" if node.concurrent else "")
    recursed = scope.facts.descendants(table) if node.relation is not None and node.relation.inh else []
    takes = [take(table, level, scope)] + [take(c, level, scope) for c in recursed]  # not with ON ONLY
    if node.if_not_exists and index is not None and scope.facts.exists(index):
        return Analysis(f"{command} IF NOT EXISTS (exists: skipped)", takes=tuple(takes))
    # A partitioned table has no rows of its own: the build scans its partitions (none yet: nothing).
    relation = scope.facts.relation(table)
    partitioned = relation is not None and relation.kind == Kind.PARTITIONED
    scanned = [c for c in scope.facts.leaves(table) if c in recursed] if partitioned else [table]
    effects = tuple(Effect(t, DataEffect.SCAN) for t in scanned)
    built = Analysis(command, tuple(takes), effects, (index,) if index else ())
    calls = expression_analysis((node.indexParams, node.whereClause), scope, analyze, When.PER_ROW)
    return built.plus(calls)


def _create_trigger(node: ast.CreateTrigStmt, scope: Scope) -> Analysis:
    """SHARE ROW EXCLUSIVE on the table; a row trigger on a partitioned table is cloned onto each partition."""
    table = name_of(node.relation)
    relation = scope.facts.relation(table)
    cloned = scope.facts.descendants(table) if node.row and relation and relation.kind == Kind.PARTITIONED else []
    takes = [take(t, _L.SHARE_ROW_EXCLUSIVE, scope) for t in (table, *cloned)]
    if node.constrrel is not None:
        takes.append(take(name_of(node.constrrel), _L.ACCESS_SHARE, scope))
    return Analysis("CREATE TRIGGER", takes=tuple(takes))


def _policy(node: ast.CreatePolicyStmt | ast.AlterPolicyStmt, scope: Scope) -> Analysis:
    table = name_of(node.table)
    reads = [take(r, _L.ACCESS_SHARE, scope) for r in named_relations((node.qual, node.with_check), scope)]
    command = "CREATE POLICY" if isinstance(node, ast.CreatePolicyStmt) else "ALTER POLICY"
    return Analysis(command, takes=(take(table, _L.ACCESS_EXCLUSIVE, scope), *reads))


def _create_function(node: ast.CreateFunctionStmt, scope: Scope) -> Analysis:
    """A LANGUAGE sql body is parsed and analysed when created (check_function_bodies): its
    relations are locked then; a PL/pgSQL body is only syntax-checked."""
    command = "CREATE FUNCTION" if not node.is_procedure else "CREATE PROCEDURE"
    if _language(node.options) != "sql" or _polymorphic(node):
        return Analysis(command)
    statements: list[Any] = list(node.sql_body or ()) if node.sql_body else []
    if not statements:
        try:
            statements = [raw.stmt for raw in parser.parse_sql(sql_function_body(node) or "")]
        except parser.ParseError:
            return unknown(command, "cannot read the SQL function's body")
    names: list[str] = []
    for statement in _flat(statements):
        names += named_relations(statement, scope)
    if not node.sql_body:  # the validator rewrites the queries: a view's relations are locked too
        names += [base for name in names for base in _behind(name, scope.facts)]
    return Analysis(command, takes=tuple(take(n, _L.ACCESS_SHARE, scope) for n in dict.fromkeys(names)))


def _behind(name: str, facts: Facts) -> list[str]:
    relation = facts.relation(name)
    if relation is None or relation.kind != Kind.VIEW:
        return []
    return [r for base in relation.reads for r in (base, *_behind(base, facts))]


def _flat(items: Any) -> list[Any]:
    if isinstance(items, tuple | list):
        return [leaf for item in items for leaf in _flat(item)]
    return [items] if isinstance(items, Node) else []


def _language(options: Any) -> str:
    for option in options or ():
        if isinstance(option, ast.DefElem) and option.defname == "language" and isinstance(option.arg, String):
            return str(option.arg.sval).lower()
    return "sql"


def _polymorphic(node: ast.CreateFunctionStmt) -> bool:
    """SQL functions with polymorphic arguments are not analysed at creation."""
    for parameter in node.parameters or ():
        names = _names(parameter.argType.names) if parameter.argType else []
        if names and names[-1].startswith("any"):
            return True
    return False


# -- dropping ------------------------------------------------------------------------------

_DROP_RELATION = {
    Obj.OBJECT_TABLE: "TABLE",
    Obj.OBJECT_VIEW: "VIEW",
    Obj.OBJECT_MATVIEW: "MATERIALIZED VIEW",
    Obj.OBJECT_SEQUENCE: "SEQUENCE",
    Obj.OBJECT_INDEX: "INDEX",
}
_DROP_ON_TABLE = {Obj.OBJECT_TRIGGER: "TRIGGER", Obj.OBJECT_POLICY: "POLICY", Obj.OBJECT_RULE: "RULE"}
_DROP_NOTHING = {
    Obj.OBJECT_FUNCTION: "FUNCTION",
    Obj.OBJECT_PROCEDURE: "PROCEDURE",
    Obj.OBJECT_AGGREGATE: "AGGREGATE",
    Obj.OBJECT_TYPE: "TYPE",
    Obj.OBJECT_DOMAIN: "DOMAIN",
    Obj.OBJECT_SCHEMA: "SCHEMA",
    Obj.OBJECT_TSCONFIGURATION: "TEXT SEARCH CONFIGURATION",
}


def _drop(node: ast.DropStmt, scope: Scope) -> Analysis:
    kind = node.removeType
    if kind is None:
        return unknown("DROP", "a DROP of no known kind")
    cascade = node.behavior == DropBehavior.DROP_CASCADE
    if kind in _DROP_RELATION:
        return _drop_relations(node, scope, cascade)
    if kind in _DROP_ON_TABLE:
        tables = [_dotted(_names(obj)[:-1]) for obj in node.objects or ()]
        command = f"DROP {_DROP_ON_TABLE[kind]}"
        present = [t for t in tables if not (node.missing_ok and scope.facts.complete and not scope.facts.exists(t))]
        levels = (_L.ACCESS_EXCLUSIVE, _L.ACCESS_SHARE)  # ACCESS SHARE: looking the object up by name
        return Analysis(command, takes=tuple(take(t, lv, scope) for t in present for lv in levels))
    if kind in _DROP_NOTHING:
        command = f"DROP {_DROP_NOTHING[kind]}"
        return _drop_cascade(node, command, scope) if cascade else Analysis(command)
    return unknown(f"DROP {kind.name.removeprefix('OBJECT_')}", "this DROP is not in the plan's lock table")


_DEPENDENT_KEYS = {
    Obj.OBJECT_FUNCTION: "fn",
    Obj.OBJECT_PROCEDURE: "fn",
    Obj.OBJECT_TYPE: "type",
    Obj.OBJECT_DOMAIN: "type",
}


def _drop_cascade(node: ast.DropStmt, command: str, scope: Scope) -> Analysis:
    """What depends on a function or a type goes with it (pg_depend, read from the database):
    ACCESS EXCLUSIVE on each relation it is on. Without a catalog, or for a schema, unknown."""
    prefix = _DEPENDENT_KEYS.get(node.removeType) if node.removeType is not None else None
    if prefix is None or not scope.facts.live:
        return unknown(command, f"{command} ... CASCADE drops what depends on it, not known without a database")
    keys = []
    for obj in node.objects or ():
        parts = _names(obj.objname if isinstance(obj, ast.ObjectWithArgs) else getattr(obj, "names", obj))
        keys += [f"{prefix}:{parts[-1]}"] if parts else []
    names = scope.facts.cascade(*keys)
    return Analysis(command, takes=tuple(take(n, _L.ACCESS_EXCLUSIVE, scope) for n in names))


def _drop_relations(node: ast.DropStmt, scope: Scope, cascade: bool) -> Analysis:
    kind = node.removeType
    assert kind is not None
    command = f"DROP {_DROP_RELATION[kind]}" + (" CONCURRENTLY" if node.concurrent else "")
    result = Analysis(command)
    for obj in node.objects or ():
        name = _dotted(_names(obj))
        if node.missing_ok and (scope.facts.complete or scope.facts.exists(name)) and not scope.facts.exists(name):
            continue
        if kind == Obj.OBJECT_INDEX:
            result = result.plus(_drop_index(name, bool(node.concurrent), scope))
        else:
            result = result.plus(_drop_relation(name, scope, cascade))
    return result


def _drop_index(index: str, concurrent: bool, scope: Scope) -> Analysis:
    relation = scope.facts.relation(index)
    table = relation.table if relation else None
    if concurrent:  # SHARE UPDATE EXCLUSIVE while it waits; the dead index last, under ACCESS EXCLUSIVE
        levels = [(index, _L.SHARE_UPDATE_EXCLUSIVE), (index, _L.ACCESS_EXCLUSIVE)]
        levels += [(table, _L.SHARE_UPDATE_EXCLUSIVE)] if table else []
    else:  # a partitioned index goes with its partitions' indexes, each with its table
        parts = [*scope.facts.descendants(index), *(scope.facts.descendants(table) if table else ())]
        levels = [(n, _L.ACCESS_EXCLUSIVE) for n in (index, *([table] if table else []), *parts)]
    missing = () if table or scope.facts.complete else (f"the table of index {index} is not known",)
    return Analysis(takes=tuple(take(n, lv, scope) for n, lv in levels), unknown=missing)


def _depending(name: str, facts: Facts) -> list[str]:
    """What a DROP ... CASCADE of `name` reaches by the facts the plan has without pg_depend: the
    views over it (and over those, which are dropped too), the tables whose keys reference one of
    them (with their partitions: the key is dropped) and those whose defaults name it (a sequence)."""
    dropped = [name]
    for current in dropped:  # grows while it is read: a breadth-first closure over views
        dropped += [r.name for r in facts.relations.values() if current in r.reads and r.name not in dropped]
    keyed = [t for d in dropped for k in facts.keys_to(d) for t in (k.table, *facts.descendants(k.table))]
    return [*dropped[1:], *keyed, *_defaults_naming(name, facts)]


def _defaults_naming(sequence: str, facts: Facts) -> list[str]:
    relation = facts.relation(sequence)
    if relation is None or relation.kind != Kind.SEQUENCE:
        return []
    owner = [relation.table] if relation.table else []  # a serial's default names its sequence
    return owner + [r.name for r in facts.relations.values() if any(sequence in _named(d) for d in r.defaults.values())]


def _named(default: str) -> list[str]:
    try:
        return named_sequences(parsed(f"SELECT {default}"))
    except parser.ParseError:
        return []


def _drop_relation(name: str, scope: Scope, cascade: bool) -> Analysis:
    """ACCESS EXCLUSIVE on it, its sequences, the tables its foreign keys point at (their triggers
    go), and with CASCADE what depends on it."""
    facts = scope.facts
    names = [name] + [s.name for s in facts.sequences_of(name)] + [k.references for k in facts.keys_from(name)]
    names += facts.descendants(name)  # a partitioned table's partitions go with it
    parent = facts.parent_of(name)
    if parent is not None:  # a partition: detached from its parent, whose partitions are locked too
        names += [parent, *facts.descendants(parent)]
    if cascade:
        names += _depending(name, facts) + facts.cascade(f"rel:{name}")
    takes = tuple(take(n, _L.ACCESS_EXCLUSIVE, scope) for n in dict.fromkeys(names))
    known = facts.complete or facts.exists(name)
    return Analysis(takes=takes, unknown=() if known else (f"what depends on {name} is not known (no database)",))


# -- everything else -----------------------------------------------------------------------


def _rename(node: ast.RenameStmt, scope: Scope) -> Analysis:
    kind = node.renameType
    command = f"RENAME {kind.name.removeprefix('OBJECT_')}" if kind is not None else "RENAME"
    if node.relation is None:
        return Analysis(command)  # functions, types, schemas, roles...
    name = ddl_target(node.relation, scope, bool(node.missing_ok))
    if name is None:
        return Analysis(command)
    level = _L.SHARE_UPDATE_EXCLUSIVE if kind == Obj.OBJECT_INDEX and _is_index(name, scope) else _L.ACCESS_EXCLUSIVE
    return Analysis(command, takes=(take(name, level, scope),))


def _is_index(name: str, scope: Scope) -> bool:
    """ALTER INDEX ... RENAME aimed at another relation renames it under ACCESS EXCLUSIVE; unknown is not an index."""
    relation = scope.facts.relation(name)
    return relation is not None and relation.kind == Kind.INDEX


def _comment(node: ast.CommentStmt, scope: Scope) -> Analysis:
    """COMMENT ON a relation, a column or a table's constraint, trigger, policy or rule: SHARE UPDATE EXCLUSIVE."""
    parts = _names(node.object)
    on_relation = {Obj.OBJECT_TABLE, Obj.OBJECT_VIEW, Obj.OBJECT_MATVIEW, Obj.OBJECT_INDEX, Obj.OBJECT_SEQUENCE}
    on_table = {Obj.OBJECT_TABCONSTRAINT, Obj.OBJECT_TRIGGER, Obj.OBJECT_POLICY, Obj.OBJECT_RULE}
    if node.objtype in on_relation:
        name, level = _dotted(parts), _L.SHARE_UPDATE_EXCLUSIVE
    elif node.objtype == Obj.OBJECT_COLUMN:
        name, level = _dotted(parts[:-1]), _L.SHARE_UPDATE_EXCLUSIVE
    elif node.objtype in on_table:  # found through its table, which is only read (objectaddress.c)
        name, level = _dotted(parts[:-1]), _L.ACCESS_SHARE
    else:
        return Analysis("COMMENT")
    return Analysis("COMMENT", takes=(take(name, level, scope),))


def _grant(node: ast.GrantStmt, scope: Scope) -> Analysis:
    """GRANT / REVOKE on tables: ACCESS SHARE on each from PostgreSQL 18, no table lock before."""
    command = "GRANT" if node.is_grant else "REVOKE"
    when = scope.facts.server.when_since(18, scope.when)
    named = (
        node.objtype in (Obj.OBJECT_TABLE, Obj.OBJECT_SEQUENCE) and node.targtype == GrantTargetType.ACL_TARGET_OBJECT
    )
    if when is None or not named:  # ALL TABLES IN SCHEMA locks none
        return Analysis(command)
    names = [name_of(rv) for rv in node.objects or () if isinstance(rv, RangeVar)]
    return Analysis(command, takes=tuple(Take(n, _L.ACCESS_SHARE, when) for n in names))


def _do(node: ast.DoStmt, scope: Scope) -> Analysis:
    body, language = "", "plpgsql"
    for arg in items(node.args):
        if arg.defname == "as":
            body = sval(arg.arg)
        elif arg.defname == "language":
            language = sval(arg.arg).lower()
    if language != "plpgsql":
        return unknown("DO", f"a DO block in {language}")
    tag = "$socialdb_do$"
    wrapped = f"CREATE FUNCTION socialdb_do() RETURNS void LANGUAGE plpgsql AS {tag}{body}{tag}"
    return Analysis("DO").plus(plpgsql_analysis(wrapped, "the DO block", scope, analyze))


def _query(node: Node, scope: Scope) -> Analysis:
    command = {ast.SelectStmt: "SELECT", ast.InsertStmt: "INSERT", ast.UpdateStmt: "UPDATE"}.get(type(node))
    command = command or {ast.DeleteStmt: "DELETE", ast.MergeStmt: "MERGE"}.get(type(node), "query")
    return Analysis(command).plus(query_analysis(node, scope, analyze))


def _lock(node: ast.LockStmt, scope: Scope) -> Analysis:
    level = list(LockLevel)[int(node.mode or 8) - 1]
    takes: list[Take] = []
    for rv in node.relations or ():
        name = name_of(rv)
        takes.append(take(name, level, scope))
        relation = scope.facts.relation(name)
        takes += [take(r, level, scope) for r in (relation.reads if relation and relation.kind == Kind.VIEW else ())]
        takes += [take(c, level, scope) for c in (scope.facts.descendants(name) if rv.inh else ())]
    return Analysis(f"LOCK TABLE IN {level} MODE", takes=tuple(takes))


def _truncate(node: ast.TruncateStmt, scope: Scope) -> Analysis:
    """ACCESS EXCLUSIVE on each table and its partitions (SHARE too on those with storage: their
    indexes are emptied), with CASCADE on every table whose foreign keys reach them, and with
    RESTART IDENTITY on their sequences (ACCESS EXCLUSIVE and ROW EXCLUSIVE)."""
    facts = scope.facts
    names: list[str] = []
    for rv in node.relations or ():
        names += [name_of(rv), *(facts.descendants(name_of(rv)) if rv.inh else ())]
    if node.behavior == DropBehavior.DROP_CASCADE:
        names = _referencing(names, facts)
    result = Analysis("TRUNCATE")
    for name in dict.fromkeys(names):
        result = result.plus(_emptied(name, scope), *_truncate_triggers(name, scope))
        if node.restart_seqs:
            sequences = [q.name for q in facts.sequences_of(name)]
            result = result.plus(Analysis(takes=tuple(take(q, lv, scope) for q in sequences for lv in _RESTART)))
    if node.restart_seqs and not facts.complete:
        result = result.plus(unknown("", "TRUNCATE ... RESTART IDENTITY: the tables' sequences are not known"))
    return result


_RESTART = (_L.ACCESS_EXCLUSIVE, _L.ROW_EXCLUSIVE)


def _referencing(names: list[str], facts: Facts) -> list[str]:
    """`names` and every table whose foreign keys point at one of them, recursively, with partitions."""
    found = list(dict.fromkeys(names))
    for name in found:  # grows while it is read: a breadth-first closure
        for key in facts.keys_to(name):
            found += [t for t in (key.table, *facts.descendants(key.table)) if t not in found]
    return found


def _emptied(name: str, scope: Scope) -> Analysis:
    relation = scope.facts.relation(name)
    if relation is not None and relation.kind == Kind.PARTITIONED:  # no storage: its partitions are emptied
        return Analysis(takes=(take(name, _L.ACCESS_EXCLUSIVE, scope),))
    takes = (take(name, _L.ACCESS_EXCLUSIVE, scope), take(name, _L.SHARE, scope))  # SHARE: its indexes
    return Analysis(takes=takes, effects=(Effect(name, DataEffect.EMPTIES),))


def _truncate_triggers(name: str, scope: Scope) -> list[Analysis]:
    return [function_analysis(t.function, scope, analyze) for t in scope.facts.triggers_on(name, "TRUNCATE")]


def _vacuum(node: ast.VacuumStmt, scope: Scope) -> Analysis:
    options = {o.defname for o in node.options or () if isinstance(o, ast.DefElem)}
    full = node.is_vacuumcmd and "full" in options
    command = ("VACUUM" + (" FULL" if full else "")) if node.is_vacuumcmd else "ANALYZE"
    if not node.rels:
        return unknown(command, f"{command} of every table in the database")
    level = _L.ACCESS_EXCLUSIVE if full else _L.SHARE_UPDATE_EXCLUSIVE
    effect = DataEffect.REWRITE if full else DataEffect.SCAN
    names = [name_of(r.relation) for r in node.rels]
    takes = [take(n, level, scope) for n in names]
    for name in names:  # a partitioned table's partitions are vacuumed or sampled (ACCESS SHARE) too
        parts = scope.facts.descendants(name)
        takes += [
            take(p, lv, scope) for p in parts for lv in (level, *(() if node.is_vacuumcmd else (_L.ACCESS_SHARE,)))
        ]
    effects = tuple(Effect(leaf, effect) for n in names for leaf in scope.facts.leaves(n))  # where the rows are
    return Analysis(command, tuple(takes), effects)


def _cluster(node: ast.ClusterStmt, scope: Scope) -> Analysis:
    if node.relation is None:
        return unknown("CLUSTER", "CLUSTER of every clustered table")
    name = name_of(node.relation)
    takes = (take(name, _L.ACCESS_EXCLUSIVE, scope), take(name, _L.SHARE, scope))
    return Analysis("CLUSTER", takes, (Effect(name, DataEffect.REWRITE),))


def _reindex(node: ast.ReindexStmt, scope: Scope) -> Analysis:
    concurrent = any(getattr(p, "defname", None) == "concurrently" for p in node.params or ())
    command = "REINDEX" + (" CONCURRENTLY" if concurrent else "")
    if node.kind not in (ReindexObjectType.REINDEX_OBJECT_INDEX, ReindexObjectType.REINDEX_OBJECT_TABLE):
        return unknown(command, f"{command} of a whole schema or database")
    name = name_of(node.relation)
    if node.kind == ReindexObjectType.REINDEX_OBJECT_INDEX:
        relation = scope.facts.relation(name)
        table, indexes = (relation.table if relation else None), [name]
    else:
        table, indexes = name, [i.name for i in scope.facts.indexes_of(name)]
    if table is None:
        return unknown(command, f"the table of index {name} is not known")
    heap = _L.SHARE_UPDATE_EXCLUSIVE if concurrent else _L.SHARE
    index = _L.SHARE_UPDATE_EXCLUSIVE if concurrent else _L.ACCESS_EXCLUSIVE
    takes = (take(table, heap, scope), *(take(i, index, scope) for i in indexes))
    return Analysis(command, takes, (Effect(table, DataEffect.SCAN),))


def _refresh(node: ast.RefreshMatViewStmt, scope: Scope) -> Analysis:
    name = name_of(node.relation)
    relation = scope.facts.relation(name)
    if relation is None:
        return unknown("REFRESH MATERIALIZED VIEW", f"{name} is not known")
    # CONCURRENTLY: EXCLUSIVE, and the diff's reads and writes of the view; otherwise a new heap
    # under ACCESS EXCLUSIVE, its indexes rebuilt (SHARE)
    if node.concurrent:
        levels, effect = [_L.EXCLUSIVE, _L.ROW_EXCLUSIVE, _L.ACCESS_SHARE], DataEffect.SCAN
    else:
        levels, effect = [_L.ACCESS_EXCLUSIVE, _L.EXCLUSIVE, _L.SHARE], DataEffect.REWRITE
    reads = [take(r, _L.ACCESS_SHARE, scope) for base in relation.reads for r in (base, *scope.facts.descendants(base))]
    old = scope.facts.server.when_before(16, scope.when)  # up to 15 it reads the view too
    if old is not None and not node.concurrent:
        reads.append(Take(name, _L.ACCESS_SHARE, old))
    command = "REFRESH MATERIALIZED VIEW" + (" CONCURRENTLY" if node.concurrent else "")
    return Analysis(command, (*(take(name, lv, scope) for lv in levels), *reads), (Effect(name, effect),))


def _create_statistics(node: ast.CreateStatsStmt, scope: Scope) -> Analysis:
    tables = [name_of(r) for r in node.relations or () if isinstance(r, RangeVar)]
    return Analysis("CREATE STATISTICS", takes=tuple(take(t, _L.SHARE_UPDATE_EXCLUSIVE, scope) for t in tables))


def _sequence(node: ast.CreateSeqStmt | ast.AlterSeqStmt, scope: Scope) -> Analysis:
    name = name_of(node.sequence)
    owned = [o for o in node.options or () if isinstance(o, ast.DefElem) and o.defname == "owned_by"]
    owners = [_dotted(_names(o.arg)[:-1]) for o in owned if len(_names(o.arg)) > 1]
    takes = [take(t, _L.ACCESS_SHARE, scope) for t in owners]
    if isinstance(node, ast.CreateSeqStmt):
        return Analysis("CREATE SEQUENCE", takes=tuple(takes), creates=(name,))
    levels = (_L.SHARE_ROW_EXCLUSIVE, _L.ROW_EXCLUSIVE)
    return Analysis("ALTER SEQUENCE", takes=(*(take(name, lv, scope) for lv in levels), *takes))


def _schema(node: ast.CreateSchemaStmt, scope: Scope) -> Analysis:
    return Analysis("CREATE SCHEMA").plus(*(analyze(element, scope) for element in node.schemaElts or ()))


def _set_schema(node: ast.AlterObjectSchemaStmt, scope: Scope) -> Analysis:
    if node.relation is None:
        return Analysis("SET SCHEMA")
    return unknown("SET SCHEMA", "moving a relation to another schema is not in the plan's lock table")


def _nothing(command: str) -> Rule:
    """Statements that lock no relation: functions, types, roles, privileges on non-tables, settings."""
    return lambda node, scope: Analysis(command)


def _refuse(command: str, reason: str) -> Rule:
    return lambda node, scope: unknown(command, reason)


_RULES: dict[type, Rule] = {
    ast.CreateStmt: _create_table,
    ast.CreateTableAsStmt: _create_table_as,
    ast.ViewStmt: _create_view,
    ast.IndexStmt: _create_index,
    ast.CreateTrigStmt: _create_trigger,
    ast.CreatePolicyStmt: _policy,
    ast.AlterPolicyStmt: _policy,
    ast.CreateFunctionStmt: _create_function,
    ast.DropStmt: _drop,
    ast.AlterTableStmt: lambda node, scope: alter.alter_table(node, scope, analyze),
    ast.RenameStmt: _rename,
    ast.CommentStmt: _comment,
    ast.GrantStmt: _grant,
    ast.DoStmt: _do,
    ast.SelectStmt: _query,
    ast.InsertStmt: _query,
    ast.UpdateStmt: _query,
    ast.DeleteStmt: _query,
    ast.MergeStmt: _query,
    ast.LockStmt: _lock,
    ast.TruncateStmt: _truncate,
    ast.VacuumStmt: _vacuum,
    ast.ClusterStmt: _cluster,
    ast.ReindexStmt: _reindex,
    ast.RefreshMatViewStmt: _refresh,
    ast.CreateStatsStmt: _create_statistics,
    ast.CreateSeqStmt: _sequence,
    ast.AlterSeqStmt: _sequence,
    ast.CreateSchemaStmt: _schema,
    ast.AlterObjectSchemaStmt: _set_schema,
    ast.AlterOwnerStmt: _nothing("OWNER TO"),
    ast.AlterFunctionStmt: _nothing("ALTER FUNCTION"),
    ast.AlterDefaultPrivilegesStmt: _nothing("ALTER DEFAULT PRIVILEGES"),
    ast.DefineStmt: _nothing("CREATE (type, aggregate, operator, text search object)"),
    ast.AlterTSConfigurationStmt: _nothing("ALTER TEXT SEARCH CONFIGURATION"),
    ast.CreateRoleStmt: _nothing("CREATE ROLE"),
    ast.AlterRoleStmt: _nothing("ALTER ROLE"),
    ast.AlterRoleSetStmt: _nothing("ALTER ROLE SET"),
    ast.GrantRoleStmt: _nothing("GRANT role"),
    ast.CreateEnumStmt: _nothing("CREATE TYPE AS ENUM"),
    ast.CompositeTypeStmt: _nothing("CREATE TYPE AS"),
    ast.CreateDomainStmt: _nothing("CREATE DOMAIN"),
    ast.AlterEnumStmt: _nothing("ALTER TYPE ... ADD VALUE"),
    ast.VariableSetStmt: _nothing("SET"),
    ast.CreateExtensionStmt: _refuse("CREATE EXTENSION", "CREATE EXTENSION runs the extension's own script"),
    ast.AlterExtensionStmt: _refuse("ALTER EXTENSION", "ALTER EXTENSION runs the extension's own script"),
}
