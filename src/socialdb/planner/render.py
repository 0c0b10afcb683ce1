"""Lock plans as JSON-ready values, table cells and Markdown: text for CI bots and the docs.
Pure (no printing, no database); the CLI prints them.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from socialdb.planner.lock_plan import MigrationPlan, Plan, RelationPlan, StatementPlan

UNKNOWN = "unknown — assume ACCESS EXCLUSIVE"


def plan_json(plan: Plan) -> dict[str, Any]:
    """The plan as JSON values (each statement's raw analysis left out: its locks are in `relations`)."""
    value = asdict(plan)
    for migration in value["migrations"]:
        for statement in migration["statements"]:
            statement.pop("analysis", None)
    return value


def levels_text(relation: RelationPlan) -> str:
    """`ACCESS EXCLUSIVE`, `SHARE ROW EXCLUSIVE + ACCESS SHARE`, `ROW EXCLUSIVE (per row: ROW SHARE)`."""
    text = " + ".join(relation.levels)
    if relation.maybe:
        maybe = f"sometimes: {' + '.join(relation.maybe)}"
        text = f"{text} ({maybe})" if text else maybe
    return text


def relation_text(relation: RelationPlan) -> str:
    name = relation.name.removeprefix("public.")
    notes = [relation.kind] if relation.kind not in ("table",) else []
    if relation.new:
        notes.append("new")
    if relation.traced:
        notes.append("traced")
    return f"{name} ({', '.join(notes)})" if notes else name


def size_text(rows: int | None, size: int | None) -> str:
    if rows is None and size is None:
        return "?"
    parts = [f"~{_count(rows)} rows" if rows is not None else "? rows"]
    if size is not None:
        parts.append(_bytes(size))
    return ", ".join(parts)


def _count(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, scale in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return str(n)


def _bytes(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def migration_heading(migration: MigrationPlan) -> str:
    mode = "one transaction" if migration.transaction else "statement by statement (transaction=off)"
    timeouts = f"lock_timeout {_ms(migration.lock_timeout_ms)}, statement_timeout {_ms(migration.statement_timeout_ms)}"
    return f"{migration.filename}: {mode}; {timeouts}" + ("; rollback=none" if migration.irreversible else "")


def _ms(value: int) -> str:
    if value == 0:
        return "off"
    return f"{value // 1000}s" if value % 1000 == 0 else f"{value}ms"


def holders_text(relation: RelationPlan) -> str:
    return "; ".join(
        f"pid {h.pid} ({h.application_name or '?'}, {h.state or '?'}, {h.level}"
        + (f", in a transaction for {h.xact_age_s:.0f}s" if h.xact_age_s is not None else "")
        + ")"
        for h in relation.holders
    )


def statement_rows(statement: StatementPlan, database: bool) -> list[list[str]]:
    """The cells of one statement: one row per relation it locks (the first names the statement),
    and with --trace a row saying what the trace added, or why the statement was not traced."""
    rows = _relation_rows(statement, database)
    note = trace_note(statement)
    if note:
        rows.append(["", note, *([""] * (len(columns(database)) - 2))])
    return rows


def trace_note(statement: StatementPlan) -> str | None:
    """`trace added: ACCESS EXCLUSIVE on public.x (predicted SHARE)`, `not traced: CONCURRENTLY`, or None."""
    trace = statement.traced
    if trace is None:
        return None
    if not trace.traced:
        return f"not traced: {trace.reason}"
    return "trace added: " + "; ".join(trace.added) if trace.added else None


def trace_summary(plan: Plan) -> str | None:
    """One line: how many statements were traced, how many not, and where the trace added to the plan."""
    if not plan.traced:
        return None
    traces = [s.traced for m in plan.migrations for s in m.statements if s.traced is not None]
    done = sum(1 for t in traces if t.traced)
    added = sum(1 for t in traces if t.added)
    return (
        f"trace: {done} statement(s) traced on a scratch copy, {len(traces) - done} not traced;"
        f" the trace added to the static plan at {added} statement(s)"
    )


def _relation_rows(statement: StatementPlan, database: bool) -> list[list[str]]:
    head = [str(statement.line), _short(statement.sql)]
    if statement.unknown:
        why = "; ".join(statement.unknown)  # e.g. "reads or writes what f() touches: unknown (c)"
        return [[*head, "?", UNKNOWN, why, "reads and writes", *(["?", "?", ""] if database else [])]]
    if not statement.relations:
        return [[*head, "", "none", "none", "nothing", *(["", "", ""] if database else [])]]
    rows = []
    for index, relation in enumerate(statement.relations):
        cells = [relation_text(relation), levels_text(relation), relation.effect.value, relation.blocks.value]
        if database:
            risk = "RISK: large table" if relation.risk else ""
            size = "" if relation.new else size_text(relation.rows, relation.bytes)
            cells += [size, risk, holders_text(relation)]
        rows.append([*(head if index == 0 else ["", ""]), *cells])
    return rows


def _short(sql: str, width: int = 72) -> str:
    return sql if len(sql) <= width else sql[: width - 1].rstrip() + "…"


def columns(database: bool) -> list[str]:
    base = ["line", "statement", "relation", "lock", "data", "blocks"]
    return base + (["size", "risk", "held now by"] if database else [])


def plan_markdown(plan: Plan) -> str:
    """The plan as Markdown: a heading line and a table per migration."""
    lines = [f"Plan for PostgreSQL {plan.server_version // 10000}" + ("" if plan.database else " (no database)")]
    summary = trace_summary(plan)
    header = columns(plan.database)
    for migration in plan.migrations:
        lines += ["", f"**{migration_heading(migration)}**", ""]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for statement in migration.statements:
            for row in statement_rows(statement, plan.database):
                lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    if summary:
        lines += ["", summary]
    return "\n".join(lines) + "\n"
