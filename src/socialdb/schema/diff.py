"""Drift: a live database against what the migrations up to its recorded version produce.

The expected schema is built for real: the migrations up to the newest version in the
database's history are applied to a scratch database on the same server (or one named),
and both catalogs are read the same way. Both must come from the same PostgreSQL major
version, since PostgreSQL prints definitions a little differently from one to the next.

Each catalog is flattened into facts: an object (`index public.messages.idx_x`) with its
attributes (`definition`, `validity`, `comment`, ...), and the grants of each object per
grantee. A difference is one line: what, where, expected, found. An object missing on
one side is one line, its columns, indexes and grants are not repeated under it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from socialdb.db import connect, mask_url
from socialdb.errors import DriftCheckError
from socialdb.schema import catalog as catalog_reader
from socialdb.schema import scratch
from socialdb.schema.model import Catalog, Function, Relation, ran_the_migrations
from socialdb.scripts import history, standing
from socialdb.scripts.files import default_directory, load_migrations
from socialdb.scripts.options import DEFAULT_HISTORY, HistoryTable

NONE = "none"

Key = tuple[str, str]  # (kind, where): ("index", "public.messages.idx_x")


@dataclass(frozen=True)
class Fact:
    key: Key
    attributes: dict[str, str]
    parent: Key | None = None
    summary: str = "present"  # what a missing or extra object is shown as


@dataclass(frozen=True)
class Difference:
    what: str  # "index", "default of column", "grant on table"
    where: str  # "public.messages.idx_x"
    expected: str
    found: str

    def __str__(self) -> str:
        return f"{self.what} {self.where}: expected {self.expected}, found {self.found}"


@dataclass(frozen=True)
class DriftReport:
    migration: str | None  # the newest migration recorded in the database: what it was compared with
    differences: tuple[Difference, ...]


def drift(
    url: str,
    *,
    scratch_server: str | None = None,
    directory: Path | None = None,
    table: HistoryTable = DEFAULT_HISTORY,
) -> DriftReport:
    """Compare the database at `url` (its history in `table`) with its migrations, built in a
    scratch database on `scratch_server` (default: the same server)."""
    folder = directory or default_directory()
    found, rows, version = _target(url, table)
    history_differences = _history_differences(folder, rows, version)
    server = scratch_server or url
    _same_major_version(url, server)
    building = scratch.migrated(server, to=version, directory=folder, history=table) if version else None
    with building or scratch.database(server) as built:
        expected = catalog_reader.read(built, table)
    newest = next((r.file for r in rows if r.version == version), None)
    found, expected = _without_history_schema(found, table), _without_history_schema(expected, table)
    return DriftReport(newest, tuple(history_differences + compare(expected, found)))


def against(
    url: str, to: int, directory: Path, *, scratch_server: str | None = None, table: HistoryTable = DEFAULT_HISTORY
) -> list[Difference]:
    """The differences between the database at `url`, whatever its history, and what the
    migrations of `directory` up to version `to` produce (`migrate baseline`)."""
    server = scratch_server or url
    _same_major_version(url, server)
    with connect(url, autocommit=True, purpose="baseline") as conn:
        found = catalog_reader.read_connection(conn, table)
    with scratch.migrated(server, to=to, directory=directory, history=table) as built:
        expected = catalog_reader.read(built, table)
    return compare(_without_history_schema(expected, table), _without_history_schema(found, table))


def _without_history_schema(catalog: Catalog, table: HistoryTable) -> Catalog:
    """The history table's own schema is made by hand before the first migration (the runner
    keeps its history there, no migration makes it): its owner, grants and comment are whoever
    made it, no drift. What else lives in it is compared as anywhere."""
    if table.schema is None or table.schema == "public":
        return catalog
    return dataclasses.replace(catalog, namespaces=tuple(n for n in catalog.namespaces if n.name != table.schema))


def _target(url: str, table: HistoryTable) -> tuple[Catalog, list[standing.HistoryRow], int | None]:
    """The database's catalog, its history rows and its newest recorded version."""
    with connect(url, autocommit=True, purpose="schema diff") as conn:
        if not history.exists(conn, table):
            raise DriftCheckError(
                f"{mask_url(url)} has no migration history (no table {table}): it was never migrated by socialdb"
            )
        rows = history.read(conn, table)
        found = catalog_reader.read_connection(conn, table)
    version = max((r.version for r in rows), default=None)
    return found, rows, version


def _history_differences(folder: Path, rows: list[standing.HistoryRow], version: int | None) -> list[Difference]:
    files = load_migrations(folder)
    if version is not None and version not in {m.version for m in files}:
        raise DriftCheckError(
            f"the database's newest migration, version {version}, has no file in {folder}:"
            " cannot build what the database should be"
        )
    found = []
    for row in standing.status(files, rows):
        if row.state == "applied" or version is None or row.version > version:
            continue
        state = {"pending": "never applied", "changed": "its file changed after it was applied"}.get(
            row.state, row.state
        )
        found.append(
            Difference(
                "migration",
                row.file,
                "applied as in its file",
                state + (f" ({row.detail})" if row.detail and row.state != "pending" else ""),
            )
        )
    return found


def _same_major_version(url: str, server: str) -> None:
    versions = []
    for target in (url, server):
        with connect(target, autocommit=True, purpose="schema diff") as conn:
            row = conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
            versions.append(int(row[0]) if row else 0)
    if versions[0] != versions[1]:
        raise DriftCheckError(
            f"the database runs PostgreSQL {versions[0]} and the scratch server {versions[1]}:"
            " definitions print differently across versions; give a scratch server of the same major version"
        )


def compare(expected: Catalog, found: Catalog) -> list[Difference]:
    """Every difference between two catalogs, in a stable order."""
    mine, theirs = _index(facts(expected)), _index(facts(found))
    differences = []
    for key in sorted(set(mine) | set(theirs), key=_order):
        if _parent_differs(key, mine, theirs):
            continue
        differences += _differences(key, mine.get(key), theirs.get(key))
    return differences


def _differences(key: Key, want: Fact | None, have: Fact | None) -> list[Difference]:
    kind, where = key
    if want is None or have is None:
        return [Difference(kind, where, want.summary if want else NONE, have.summary if have else NONE)]
    found = []
    for name in sorted(set(want.attributes) | set(have.attributes)):
        a, b = want.attributes.get(name, NONE), have.attributes.get(name, NONE)
        if a != b:
            a, b = _first_difference(a, b)
            found.append(Difference(f"{name} of {kind}", where, a, b))
    return found


def _first_difference(expected: str, found: str) -> tuple[str, str]:
    """Short values as they are; multi-line ones (function bodies, views) by their first differing line."""
    if "\n" not in expected and "\n" not in found:
        return expected, found
    old, new = expected.strip().splitlines(), found.strip().splitlines()
    for number, (a, b) in enumerate(zip(old, new, strict=False), start=1):
        if a.strip() != b.strip():
            return f"line {number} `{a.strip()}`", f"`{b.strip()}`"
    number = min(len(old), len(new)) + 1
    longer = old if len(old) > len(new) else new
    line = f"line {number} `{longer[number - 1].strip()}`" if number <= len(longer) else "the same lines"
    return (line, "the end") if longer is old else (f"the end at line {number}", line)


def _parent_differs(key: Key, mine: dict[Key, Fact], theirs: dict[Key, Fact]) -> bool:
    """An object whose parent (table, function, ...) is on one side only: the parent's line says it."""
    fact = mine.get(key) or theirs[key]
    parent = fact.parent
    while parent is not None:
        if (parent in mine) != (parent in theirs):
            return True
        parent = (mine.get(parent) or theirs[parent]).parent
    return False


_KIND_ORDER = [
    "schema", "extension", "text search configuration", "type", "function", "sequence", "table", "view",
    "materialized view", "column", "constraint", "index", "trigger", "policy", "grant", "default privileges",
    "database privilege",
]  # fmt: skip


def _order(key: Key) -> tuple[int, str]:
    kind = key[0].split(" on ")[0]
    return (_KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER), key[1])


def _index(items: Iterator[Fact]) -> dict[Key, Fact]:
    return {fact.key: fact for fact in items}


def facts(catalog: Catalog) -> Iterator[Fact]:
    """The catalog as facts, each object keyed by its kind and qualified name."""
    for namespace in catalog.namespaces:
        key = ("schema", namespace.name)
        yield Fact(key, {"owner": namespace.owner, "comment": _quoted(namespace.comment)})
        yield from _grant_facts(key, namespace.grants, namespace.owner)
    for extension in catalog.extensions:
        yield Fact(("extension", extension.name), {"version": extension.version, "schema": extension.schema})
    for config in catalog.text_search:
        attributes = {"parser": config.parser, "mappings": "; ".join(config.mappings), "owner": config.owner}
        yield Fact(("text search configuration", config.qualified), {**attributes, "comment": _quoted(config.comment)})
    for item in catalog.types:
        key = ("type", item.qualified)
        attributes = {"kind": item.kind, "definition": item.definition, "owner": item.owner}
        yield Fact(key, {**attributes, "comment": _quoted(item.comment)}, summary=item.definition)
        yield from _grant_facts(key, item.grants, item.owner)
    for function in catalog.functions:
        yield from _function_facts(function)
    for seq in catalog.sequences:
        key = ("sequence", seq.qualified)
        definition = f"{seq.type} start {seq.start} increment {seq.increment} min {seq.minimum} max {seq.maximum}"
        attributes = {"definition": f"{definition} cache {seq.cache}{' cycle' if seq.cycle else ''}"}
        attributes |= {"owned by": seq.owned_by or NONE, "owner": seq.owner, "comment": _quoted(seq.comment)}
        yield Fact(key, attributes, summary=definition)
        yield from _grant_facts(key, seq.grants, seq.owner)
    for relation in catalog.relations:
        yield from _relation_facts(relation)
    yield from _privilege_facts(catalog)


def _function_facts(function: Function) -> Iterator[Fact]:
    key = ("function", function.signature)
    attributes = {
        "result": function.result or NONE,
        "language": function.language,
        "volatility": {"i": "immutable", "s": "stable", "v": "volatile"}.get(function.volatility, function.volatility),
        "security": "definer" if function.security_definer else "invoker",
        "strictness": "strict" if function.strict else "called on null input",
        "leakproofness": "leakproof" if function.leakproof else "not leakproof",
        "parallel safety": {"s": "safe", "r": "restricted", "u": "unsafe"}.get(function.parallel, function.parallel),
        "settings": ", ".join(function.settings) or NONE,
        "body": function.body,
        "owner": function.owner,
        "comment": _quoted(function.comment),
    }
    yield Fact(key, attributes, summary=f"{function.language} function returning {function.result}")
    yield from _grant_facts(key, function.grants, function.owner)


def _relation_facts(relation: Relation) -> Iterator[Fact]:
    kind = relation.kind.label if relation.kind.is_view else "table"
    key = (kind, relation.qualified)
    attributes = {
        "kind": relation.kind.label,
        "owner": relation.owner,
        "persistence": {"p": "logged", "u": "unlogged", "t": "temporary"}.get(
            relation.persistence, relation.persistence
        ),
        "options": ", ".join(relation.options) or NONE,
        "row-level security": "enabled" if relation.row_security else "disabled",
        "forced row-level security": "forced" if relation.forced_row_security else "not forced",
        "definition": relation.definition or NONE,
        "partitioning": relation.partition_key or NONE,
        "partition of": f"{relation.partition_of} {relation.partition_bound}" if relation.partition_of else NONE,
        "comment": _quoted(relation.comment),
    }
    columns = ", ".join(f"{c.name} {c.type}" for c in relation.columns)
    yield Fact(key, attributes, summary=f"{relation.kind.label} ({columns})")
    yield from _grant_facts(key, relation.grants, relation.owner)
    yield from _member_facts(key, relation)


def _member_facts(parent: Key, relation: Relation) -> Iterator[Fact]:
    """Columns (with their grants), constraints, indexes, triggers and policies of a relation."""
    yield from _column_facts(parent, relation)
    where = relation.qualified
    for k in relation.constraints:
        attributes = {"definition": k.definition, "comment": _quoted(k.comment)}
        yield Fact(("constraint", f"{where}.{k.name}"), attributes, parent, summary=k.definition)
    for i in relation.indexes:
        attributes = {"definition": i.definition, "validity": "valid" if i.valid else "INVALID"}
        summary = i.definition + ("" if i.valid else " (INVALID)")
        yield Fact(
            ("index", f"{where}.{i.name}"), {**attributes, "comment": _quoted(i.comment)}, parent, summary=summary
        )
    for t in relation.triggers:
        state = {"O": "enabled", "D": "disabled", "R": "replica only", "A": "always"}.get(t.enabled, t.enabled)
        attributes = {"definition": t.definition, "state": state, "comment": _quoted(t.comment)}
        yield Fact(("trigger", f"{where}.{t.name}"), attributes, parent, summary=t.definition)
    for p in relation.policies:
        attributes = {
            "mode": "permissive" if p.permissive else "restrictive",
            "roles": ", ".join(p.roles),
            "command": p.command,
            "using": p.using or NONE,
            "with check": p.with_check or NONE,
            "comment": _quoted(p.comment),
        }
        summary = f"{p.command} to {', '.join(p.roles)} using {p.using}"
        yield Fact(("policy", f"{where}.{p.name}"), attributes, parent, summary=summary)


def _column_facts(parent: Key, relation: Relation) -> Iterator[Fact]:
    for c in relation.columns:
        key = ("column", f"{relation.qualified}.{c.name}")
        attributes = {
            "type": c.type,
            "nullability": "NOT NULL" if c.not_null else "NULL allowed",
            "default": c.default or NONE,
            "identity": {"a": "always", "d": "by default"}.get(c.identity, NONE),
            "generation": {"s": "stored", "v": "virtual"}.get(c.generated, NONE),
            "collation": c.collation or "the type's",
            "comment": _quoted(c.comment),
        }
        yield Fact(key, attributes, parent, summary=f"{c.type}{' NOT NULL' if c.not_null else ''}")
        yield from _grant_facts(key, c.grants, relation.owner, parent=key)


def _quoted(text: str | None) -> str:
    return NONE if text is None else '"' + text + '"'


def _grant_facts(key: Key, grants: tuple[str, ...], owner: str, *, parent: Key | None = None) -> Iterator[Fact]:
    """One fact per grantee: `grant on table` `public.users to socialdb_app` = `DELETE, INSERT, SELECT, UPDATE`."""
    by_grantee: dict[str, list[str]] = {}
    for grant in grants:
        grantee, _, privilege = grant.partition(":")
        by_grantee.setdefault(grantee, []).append(privilege)
    for grantee, privileges in sorted(by_grantee.items()):
        granted = ", ".join(sorted(privileges))
        yield Fact(
            (f"grant on {key[0]}", f"{key[1]} to {grantee}"), {"privileges": granted}, parent or key, summary=granted
        )


def _as_migrator(role: str) -> str:
    return "the migrating role" if ran_the_migrations(role) else role


def _privilege_facts(catalog: Catalog) -> Iterator[Fact]:
    kinds = {"r": "tables", "S": "sequences", "f": "functions", "T": "types", "n": "schemas"}
    for item in catalog.default_privileges:
        # Whoever built each side (the scratch's builder, the target's migrator), under one name.
        role = _as_migrator(item.role)
        where = f"for {kinds.get(item.object_type, item.object_type)} {role} creates" + (
            f" in schema {item.schema}" if item.schema else ""
        )
        grants = sorted(_as_migrator(g.partition(":")[0]) + ":" + g.partition(":")[2] for g in item.grants)
        granted = ", ".join(grants) or NONE
        yield Fact(("default privileges", where), {"grants": granted}, summary=granted)
    for privilege in catalog.database_privileges:
        yield Fact(("database privilege", privilege.replace(":", " ")), {}, summary="granted")
