"""Split SQL into statements with PostgreSQL's own parser (pglast), keeping line numbers.

Function bodies contain semicolons, so splitting by hand is wrong; pglast uses
the server's grammar. Pure: no database code.
"""

from __future__ import annotations

from dataclasses import dataclass

from pglast import parser
from pglast.ast import (
    AlterSystemStmt,
    AlterTableCmd,
    AlterTableStmt,
    CreatedbStmt,
    CreateTableSpaceStmt,
    DropdbStmt,
    DropStmt,
    DropTableSpaceStmt,
    IndexStmt,
    Node,
    ReindexStmt,
    VacuumStmt,
)
from pglast.enums import AlterTableType

from socialdb.errors import MigrationFileError


@dataclass(frozen=True)
class Statement:
    sql: str
    line: int  # line of the file where the statement starts
    needs_no_transaction: bool  # e.g. CREATE INDEX CONCURRENTLY, VACUUM
    # For CREATE INDEX CONCURRENTLY: the index it builds, (schema or None, name).
    concurrent_index: tuple[str | None, str] | None = None

    def line_of(self, position: int | None) -> int:
        """The file line of a 1-based character position inside this statement (PostgreSQL's errposition)."""
        if position is None or position < 1:
            return self.line
        return self.line + self.sql.count("\n", 0, position - 1)


def split(sql: str, filename: str, first_line: int) -> list[Statement]:
    """The statements of `sql`, which starts at `first_line` of `filename`."""
    try:
        slices = parser.split(sql, with_parser=True, only_slices=True)
        trees = parser.parse_sql(sql)
    except parser.ParseError as exc:
        location = exc.args[1] if len(exc.args) > 1 else 0
        line = first_line + sql.count("\n", 0, max(int(location), 0))
        raise MigrationFileError(filename, f"syntax error: {exc.args[0]}", line) from None
    statements = []
    for piece, raw in zip(slices, trees, strict=True):
        text = sql[piece]
        line = first_line + sql.count("\n", 0, piece.start)
        statements.append(Statement(text, line, _needs_no_transaction(raw.stmt), _concurrent_index(raw.stmt)))
    return statements


def _concurrent_index(node: Node | None) -> tuple[str | None, str] | None:
    if isinstance(node, IndexStmt) and node.concurrent and node.idxname:
        schema = node.relation.schemaname if node.relation is not None else None
        return (schema or None, node.idxname)
    return None


def _needs_no_transaction(node: Node | None) -> bool:
    """Statements PostgreSQL refuses inside a transaction block."""
    if isinstance(node, (IndexStmt, DropStmt)):
        return bool(node.concurrent)
    if isinstance(node, ReindexStmt):
        return any(getattr(p, "defname", None) == "concurrently" for p in node.params or ())
    if isinstance(node, AlterTableStmt):
        return any(_detaches_concurrently(cmd) for cmd in node.cmds or ())
    if isinstance(node, VacuumStmt):
        return bool(node.is_vacuumcmd)  # VACUUM, not ANALYZE
    return isinstance(node, (CreatedbStmt, DropdbStmt, CreateTableSpaceStmt, DropTableSpaceStmt, AlterSystemStmt))


def _detaches_concurrently(cmd: Node) -> bool:
    if not isinstance(cmd, AlterTableCmd) or cmd.subtype != AlterTableType.AT_DetachPartition:
        return False
    return bool(getattr(cmd.def_, "concurrent", False))
