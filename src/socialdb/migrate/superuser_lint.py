"""Lint rule `needs-superuser`: a statement that only a superuser may run, so that a managed
PostgreSQL (RDS, Cloud SQL, Azure, Supabase, Neon: no superuser there) refuses the migration
(docs/deploying.md). Squawk has no such rule; this one reads PostgreSQL's own parse tree.

It sees the statements of a part, not those a DO block builds at run time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from pglast import parser

from socialdb.migrate.statements import Statement

RULE = "needs-superuser"
# Trusted since PostgreSQL 13 (the `trusted` flag of their control files): a database owner
# may create them. https://www.postgresql.org/docs/15/contrib.html
TRUSTED_EXTENSIONS = frozenset(
    [
        "btree_gin",
        "btree_gist",
        "citext",
        "cube",
        "dict_int",
        "fuzzystrmatch",
        "hstore",
        "intarray",
        "isn",
        "lo",
        "ltree",
        "pgcrypto",
        "pg_trgm",
        "seg",
        "tablefunc",
        "tcn",
        "tsm_system_rows",
        "tsm_system_time",
        "unaccent",
        "uuid-ossp",
        "plpgsql",
    ]
)
_ROLE_POWERS = {"superuser": "SUPERUSER", "bypassrls": "BYPASSRLS", "isreplication": "REPLICATION"}
_ALWAYS = {
    "AlterSystemStmt": "ALTER SYSTEM",
    "CreateEventTrigStmt": "an event trigger",
    "LoadStmt": "LOAD",
    "CreateFdwStmt": "a foreign-data wrapper",
    "CreatePLangStmt": "CREATE LANGUAGE",
}


def findings(statements: Sequence[Statement]) -> list[tuple[int, str]]:
    """(file line, message) for each statement a managed server would refuse."""
    found = []
    for statement in statements:
        for raw in json.loads(parser.parse_sql_json(statement.sql)).get("stmts", []):
            ((kind, node),) = raw["stmt"].items()
            found += [(statement.line, message) for message in _refused(kind, node)]
    return found


def _refused(kind: str, node: dict[str, Any]) -> Iterator[str]:
    if kind in _ALWAYS:
        yield f"{_ALWAYS[kind]} needs a superuser"
    elif kind in ("CreateRoleStmt", "AlterRoleStmt"):
        for option in _options(node.get("options", [])):
            if option.get("defname") in _ROLE_POWERS and _true(option.get("arg")):
                yield f"a role with {_ROLE_POWERS[option['defname']]} needs a superuser to make"
    elif kind == "CopyStmt" and node.get("filename"):
        yield "COPY to or from a server file or program needs a superuser (or pg_read/write_server_files)"
    elif kind == "CreateExtensionStmt" and node.get("extname") not in TRUSTED_EXTENSIONS:
        yield f"extension {node.get('extname')} is not trusted: check the provider allows it, then waive"
    elif kind in ("AlterRoleSetStmt", "AlterDatabaseSetStmt"):
        yield from _placeholder(node.get("setstmt", {}))
    elif kind in ("CreateFunctionStmt", "AlterFunctionStmt"):
        for option in _options(node.get("options", []) + node.get("actions", [])):
            if option.get("defname") == "set":
                yield from _placeholder(option.get("arg", {}).get("VariableSetStmt", {}))


def _placeholder(setting: dict[str, Any]) -> Iterator[str]:
    name = str(setting.get("name", ""))
    if "." in name:  # a custom (placeholder) parameter: PostgreSQL 15+ asks for SET on it
        yield (
            f"`SET {name}` in a definition needs SET on parameter {name}, which only a superuser may grant;"
            " call set_config() in the body instead"
        )


def _options(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        if "DefElem" in item:
            yield item["DefElem"]


def _true(arg: dict[str, Any] | None) -> bool:
    if not arg:
        return True  # a bare option (SUPERUSER) is true
    if "Boolean" in arg:
        return bool(arg["Boolean"].get("boolval", False))
    return bool(arg.get("Integer", {}).get("ival", 0))
