"""Split SQL into statements with PostgreSQL's own parser (pglast), keeping line numbers.

Function bodies contain semicolons, so splitting by hand is wrong; pglast uses
the server's grammar. Pure: no database code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from socialdb.errors import MigrationFileError

# Statements PostgreSQL refuses inside a transaction block, whatever their options.
_NEVER_IN_A_TRANSACTION = {
    "CreatedbStmt",
    "DropdbStmt",
    "CreateTableSpaceStmt",
    "DropTableSpaceStmt",
    "AlterSystemStmt",
}


@dataclass(frozen=True)
class Statement:
    sql: str
    line: int  # line of the file where the statement starts
    needs_no_transaction: bool  # e.g. CREATE INDEX CONCURRENTLY, VACUUM
    # For CREATE INDEX CONCURRENTLY: the index it builds, (schema or None, name).
    concurrent_index: tuple[str | None, str] | None = None
    kind: str = ""  # the parse tree's statement node: "DoStmt", "LockStmt", ...

    def line_of(self, position: int | None) -> int:
        """The file line of a 1-based character position inside this statement (PostgreSQL's errposition)."""
        if position is None or position < 1:
            return self.line
        return self.line + self.sql.count("\n", 0, position - 1)


def split(sql: str, filename: str, first_line: int) -> list[Statement]:
    """The statements of `sql`, which starts at `first_line` of `filename`.

    One parse, read as JSON: building pglast's Python tree of every statement took four
    fifths of the time of reading a folder (docs/performance.md, issue 15). pglast is
    imported here, not at the top: a no-op `migrate up` parses nothing and does without it.
    """
    from pglast import parser

    try:
        tree = json.loads(parser.parse_sql_json(sql))
    except parser.ParseError as exc:
        location = (exc.args[1] if len(exc.args) > 1 else None) or 0  # None for some errors ("CREATE PROCEDURE")
        line = first_line + sql.count("\n", 0, max(int(location), 0))
        raise MigrationFileError(filename, f"syntax error: {exc.args[0]}", line) from None
    utf8 = sql.encode("utf-8")
    statements = []
    for raw in tree.get("stmts", []):
        # Byte offsets into the UTF-8 text; a length of 0 (left out) means "to the end".
        start, length = raw.get("stmt_location", 0), raw.get("stmt_len", 0)
        piece = (utf8[start : start + length] if length else utf8[start:]).decode("utf-8")
        begins = len(utf8[:start].decode("utf-8")) + len(piece) - len(piece.lstrip())
        kind, node = next(iter(raw["stmt"].items()))
        line = first_line + sql.count("\n", 0, begins)
        _refuse_transaction_control(kind, node, filename, line)
        statements.append(
            Statement(piece.strip(), line, _needs_no_transaction(kind, node), _concurrent_index(kind, node), kind)
        )
    return statements


# Statements that end or open the runner's transaction: in a transactional file a COMMIT would
# keep the statements before it when a later one fails, with no history row.
_TRANSACTION_CONTROL = {
    "TRANS_STMT_BEGIN": "BEGIN",
    "TRANS_STMT_START": "START TRANSACTION",
    "TRANS_STMT_COMMIT": "COMMIT",
    "TRANS_STMT_ROLLBACK": "ROLLBACK",
    "TRANS_STMT_PREPARE": "PREPARE TRANSACTION",
    "TRANS_STMT_COMMIT_PREPARED": "COMMIT PREPARED",
    "TRANS_STMT_ROLLBACK_PREPARED": "ROLLBACK PREPARED",
}


def _refuse_transaction_control(kind: str, node: dict[str, Any], filename: str, line: int) -> None:
    verb = _TRANSACTION_CONTROL.get(node.get("kind", "")) if kind == "TransactionStmt" else None
    if verb is not None:
        raise MigrationFileError(
            filename,
            f"{verb}: the runner owns the transactions (one per migration, or one per statement with"
            " '-- socialdb: transaction=off'); remove it",
            line,
        )


def _concurrent_index(kind: str, node: dict[str, Any]) -> tuple[str | None, str] | None:
    if kind == "IndexStmt" and node.get("concurrent") and node.get("idxname"):
        schema = node.get("relation", {}).get("schemaname")
        return (schema or None, node["idxname"])
    return None


def _needs_no_transaction(kind: str, node: dict[str, Any]) -> bool:
    """Statements PostgreSQL refuses inside a transaction block."""
    if kind in ("IndexStmt", "DropStmt"):
        return bool(node.get("concurrent"))
    if kind == "ReindexStmt":
        return any(_def_name(p) == "concurrently" for p in node.get("params", ()))
    if kind == "AlterTableStmt":
        return any(_detaches_concurrently(cmd) for cmd in node.get("cmds", ()))
    if kind == "VacuumStmt":
        return bool(node.get("is_vacuumcmd"))  # VACUUM, not ANALYZE
    return kind in _NEVER_IN_A_TRANSACTION


def _def_name(param: dict[str, Any]) -> str | None:
    name = param.get("DefElem", {}).get("defname")
    return str(name) if name is not None else None


def _detaches_concurrently(cmd: dict[str, Any]) -> bool:
    command = cmd.get("AlterTableCmd", {})
    if command.get("subtype") != "AT_DetachPartition":
        return False
    return bool(command.get("def", {}).get("PartitionCmd", {}).get("concurrent"))
