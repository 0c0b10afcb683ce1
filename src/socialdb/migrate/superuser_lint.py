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

from socialdb.scripts.splitting import Statement

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
# pg_settings WHERE context = 'superuser', PostgreSQL 15 and 18 (the union): SET, a function's
# SET clause or ALTER ROLE / DATABASE ... SET of one of these needs a superuser or SET on it.
SUPERUSER_PARAMETERS = frozenset(
    """allow_in_place_tablespaces allow_system_table_mods backtrace_functions commit_delay compute_query_id
    deadlock_timeout debug_discard_caches dynamic_library_path event_triggers extension_control_path
    extension_destdir ignore_checksum_failure jit_dump_bitcode lc_messages lo_compat_privileges log_duration
    log_error_verbosity log_executor_stats log_lock_failures log_lock_waits log_min_duration_sample
    log_min_duration_statement log_min_error_statement log_min_messages log_parameter_max_length log_parser_stats
    log_planner_stats log_replication_commands log_statement log_statement_sample_rate log_statement_stats
    log_temp_files log_transaction_sample_rate max_stack_depth output_plugin_libraries session_preload_libraries
    session_replication_role temp_file_limit track_activities track_cost_delay_timing track_counts track_functions
    track_io_timing track_wal_io_timing update_process_title wal_compression wal_consistency_checking wal_init_zero
    wal_recycle zero_damaged_pages""".split()  # noqa: SIM905 (a list of names as PostgreSQL prints them)
)
# Trusted procedural languages (pg_language.lanpltrusted); C, internal and the *u languages are not.
TRUSTED_LANGUAGES = frozenset({"sql", "plpgsql", "plperl", "pltcl", "plv8"})
_ROLE_POWERS = {"superuser": "SUPERUSER", "bypassrls": "BYPASSRLS", "isreplication": "REPLICATION"}
_ALWAYS = {
    "AlterSystemStmt": "ALTER SYSTEM",
    "CreateEventTrigStmt": "an event trigger",
    "LoadStmt": "LOAD",
    "CreateFdwStmt": "a foreign-data wrapper",
    "CreatePLangStmt": "CREATE LANGUAGE",
    "CheckPointStmt": "CHECKPOINT (or pg_checkpoint)",
}
_SYSTEM_TRIGGERS = {"AT_DisableTrigAll", "AT_EnableTrigAll"}


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
        yield from _setting(node.get("setstmt", {}))
    elif kind == "VariableSetStmt":
        yield from _setting(node, placeholders=False)  # a session may SET a placeholder
    elif kind in ("CreateFunctionStmt", "AlterFunctionStmt"):
        yield from _function(node)
    elif kind == "AlterTableStmt" and any(
        c.get("AlterTableCmd", {}).get("subtype") in _SYSTEM_TRIGGERS for c in node.get("cmds", [])
    ):
        yield "DISABLE / ENABLE TRIGGER ALL touches system triggers (foreign keys): a superuser's; name the triggers"
    elif kind == "CreatePublicationStmt" and (node.get("for_all_tables") or _schemas(node)):
        yield "a publication FOR ALL TABLES or TABLES IN SCHEMA needs a superuser"
    elif kind == "GrantStmt" and node.get("objtype") == "OBJECT_PARAMETER_ACL":
        yield "GRANT / REVOKE on a parameter needs a superuser (or the grant option)"


def _function(node: dict[str, Any]) -> Iterator[str]:
    for option in _options(node.get("options", []) + node.get("actions", [])):
        if option.get("defname") == "set":
            yield from _setting(option.get("arg", {}).get("VariableSetStmt", {}))
        if option.get("defname") == "language":
            language = str(option.get("arg", {}).get("String", {}).get("sval", ""))
            if language not in TRUSTED_LANGUAGES:
                yield f"LANGUAGE {language} is not trusted: only a superuser may create functions in it"


def _schemas(node: dict[str, Any]) -> bool:
    return any(
        o.get("PublicationObjSpec", {}).get("pubobjtype") == "PUBLICATIONOBJ_TABLES_IN_SCHEMA"
        for o in node.get("pubobjects", [])
    )


def _setting(setting: dict[str, Any], *, placeholders: bool = True) -> Iterator[str]:
    name = str(setting.get("name", ""))
    if name in SUPERUSER_PARAMETERS:
        yield f"setting {name} needs a superuser (or SET on it)"
    elif placeholders and "." in name:  # a custom (placeholder) parameter: PostgreSQL 15+ asks for SET on it
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
