"""What the lock planner knows about a database: its relations, their sizes, foreign keys,
triggers and functions. Frozen values, no database code: `live.py` reads them from a server,
`Facts.offline()` knows nothing, and `simulate.py` applies each planned statement so that the
next one sees the tables, triggers and functions the earlier ones created.

Relation names are schema-qualified (`public.messages`); functions are keyed by unqualified name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from socialdb.planner.lock_modes import NEWEST, Server

DEFAULT_SCHEMA = "public"
# Volatile built-ins a column default calls, for plans made without a database (which lists them all).
VOLATILE_BUILTINS = frozenset(
    {
        "random",
        "random_normal",
        "gen_random_uuid",
        "uuidv4",
        "uuidv7",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "setval",
        "currval",
        "lastval",
        "setseed",
        "txid_current",
        "pg_current_xact_id",
    }
)
SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})


class Kind(StrEnum):
    TABLE = "table"
    PARTITIONED = "partitioned table"
    INDEX = "index"
    VIEW = "view"
    MATVIEW = "materialized view"
    SEQUENCE = "sequence"
    FOREIGN = "foreign table"
    OTHER = "other"

    @property
    def holds_rows(self) -> bool:
        return self in (Kind.TABLE, Kind.PARTITIONED, Kind.MATVIEW, Kind.FOREIGN)


RELKINDS = {
    "r": Kind.TABLE,
    "p": Kind.PARTITIONED,
    "i": Kind.INDEX,
    "I": Kind.INDEX,
    "v": Kind.VIEW,
    "m": Kind.MATVIEW,
    "S": Kind.SEQUENCE,
    "f": Kind.FOREIGN,
}


@dataclass(frozen=True)
class Relation:
    name: str  # schema.name
    kind: Kind
    table: str | None = None  # an index's table; a sequence's owning table
    rows: int | None = None  # estimate (pg_class.reltuples); None: never analyzed, or unknown
    bytes: int | None = None  # pg_total_relation_size
    new: bool = False  # created earlier in the same migration: nobody else uses it yet
    columns: Mapping[str, str] = field(default_factory=dict)  # column -> type (format_type)
    checks: Mapping[str, tuple[str, bool]] = field(
        default_factory=dict
    )  # CHECK (col IS NOT NULL): name -> (col, valid)
    reads: tuple[str, ...] = ()  # a view's or materialized view's relations
    children: tuple[str, ...] = ()  # partitions and inheritance children
    column: str | None = None  # a sequence's owning column (identity, serial)
    persistence: str = "p"  # pg_class.relpersistence: p permanent, u unlogged, t temporary
    # An index with expressions or a predicate: the table's columns it uses. A type change of
    # one of them rebuilds it, reading the whole table, even when the table is not rewritten.
    expression_columns: frozenset[str] = frozenset()
    defaults: Mapping[str, str] = field(default_factory=dict)  # column -> its default (pg_get_expr)
    query: str | None = None  # a view's query (pg_get_viewdef): which of its columns are its relation's
    default_partition: str | None = None  # a partitioned table's DEFAULT partition
    partition_key: str | None = None  # a partitioned table's key (pg_get_partkeydef: `RANGE (at)`)
    bound: str | None = None  # a partition's bound (`FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`)

    @property
    def not_null_checks(self) -> frozenset[str]:
        """Columns a validated CHECK (col IS NOT NULL) proves: SET NOT NULL needs no scan."""
        return frozenset(column for column, valid in self.checks.values() if valid)


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: str  # the referencing table
    columns: tuple[str, ...]
    references: str  # the referenced table
    ref_columns: tuple[str, ...] = ()
    on_delete: str = "a"  # pg_constraint.confdeltype: a no action, r restrict, c cascade, n set null, d default
    validated: bool = True
    on_update: str = "a"  # pg_constraint.confupdtype, the same letters


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    function: str  # unqualified function name
    events: frozenset[str]  # INSERT, UPDATE, DELETE, TRUNCATE
    per_row: bool
    transition_tables: tuple[str, ...] = ()  # REFERENCING OLD / NEW TABLE AS ...
    enabled: bool = True


@dataclass(frozen=True)
class Function:
    name: str
    language: str  # sql, plpgsql, c, internal ...
    definition: str | None  # the whole CREATE FUNCTION (pg_get_functiondef), for sql and plpgsql
    volatility: str = "v"  # i immutable, s stable, v volatile


@dataclass(frozen=True)
class Facts:
    """`complete`: read from a database, so a name it does not list is no relation (a CTE, say)."""

    server: Server = NEWEST
    relations: Mapping[str, Relation] = field(default_factory=dict)
    foreign_keys: tuple[ForeignKey, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    functions: Mapping[str, tuple[Function, ...]] = field(default_factory=dict)
    volatile_functions: frozenset[str] = frozenset()  # built-in volatile functions (pg_proc.provolatile = 'v')
    # Domains with a CHECK or NOT NULL (their own or a base domain's), by name without their schema
    # (a same-named domain elsewhere counts too): a column of one added to a table is checked row
    # by row, which rewrites the table.
    constrained_domains: frozenset[str] = frozenset()
    # pg_depend, read from a database (live.py): what a DROP ... CASCADE of an object reaches. Keys:
    # `rel:schema.name`, `col:schema.table.column`, `con:schema.table.constraint`, `fn:name`, `type:name`
    # (functions and types by name without their schema: same-named ones elsewhere count too);
    # each dependent: its own key (None: nothing depends on it) and the relation it locks.
    dependents: Mapping[str, tuple[tuple[str | None, str], ...]] = field(default_factory=dict)
    complete: bool = False
    live: bool = False  # read from a database (sizes, holders): not assumed

    @classmethod
    def offline(cls, server: Server = NEWEST) -> Facts:
        """Nothing known: a database that may hold anything (names are assumed to be relations)."""
        return cls(server=server, volatile_functions=VOLATILE_BUILTINS)

    @classmethod
    def empty(cls, server: Server = NEWEST) -> Facts:
        """A new, empty database: everything the plan meets, the plan created."""
        return cls(server=server, volatile_functions=VOLATILE_BUILTINS, complete=True)

    def relation(self, name: str) -> Relation | None:
        return self.relations.get(name)

    def exists(self, name: str) -> bool:
        return name in self.relations

    def descendants(self, name: str, depth: int = 0) -> list[str]:
        """Partitions and inheritance children, theirs too (a cycle, which the catalog cannot hold, stops)."""
        relation = self.relations.get(name)
        if relation is None or depth > 32:
            return []
        return [d for child in relation.children for d in (child, *self.descendants(child, depth + 1))]

    def cascade(self, *keys: str) -> list[str]:
        """The relations a DROP ... CASCADE of these objects drops something of (ACCESS EXCLUSIVE):
        their dependents, recursively; a relation's columns and constraints go with it."""
        todo, seen, locked = list(keys), set(keys), []
        while todo:
            key = todo.pop()
            if key.startswith("rel:"):
                prefix = ("col:" + key[4:] + ".", "con:" + key[4:] + ".")
                todo += [k for k in self.dependents if k.startswith(prefix) and k not in seen]
                seen.update(todo)
            for dependent, relation in self.dependents.get(key, ()):
                locked.append(relation)
                if dependent is not None and dependent not in seen:
                    seen.add(dependent)
                    todo.append(dependent)
        return list(dict.fromkeys(locked))

    def parent_of(self, name: str) -> str | None:
        return next((r.name for r in self.relations.values() if name in r.children), None)

    def leaves(self, name: str) -> list[str]:
        """The relations that hold `name`'s rows: itself, or for a partitioned table its leaf partitions."""
        relation = self.relations.get(name)
        if relation is None or relation.kind != Kind.PARTITIONED:
            return [name]
        return [d for d in self.descendants(name) if (r := self.relations.get(d)) is None or r.kind != Kind.PARTITIONED]

    def indexes_of(self, table: str) -> list[Relation]:
        return [r for r in self.relations.values() if r.kind == Kind.INDEX and r.table == table]

    def rebuilt_by_type_change(self, table: str, column: str | None) -> list[Relation]:
        """Indexes a type change of `column` always rebuilds: those using it in an expression or predicate."""
        return [r for r in self.indexes_of(table) if column in r.expression_columns]

    def sequences_of(self, table: str, column: str | None = None) -> list[Relation]:
        return [
            r
            for r in self.relations.values()
            if r.kind == Kind.SEQUENCE and r.table == table and (column is None or r.column == column)
        ]

    def triggers_on(self, table: str, event: str) -> list[Trigger]:
        return [t for t in self.triggers if t.table == table and event in t.events and t.enabled]

    def keys_from(self, table: str) -> list[ForeignKey]:
        return [k for k in self.foreign_keys if k.table == table]

    def keys_to(self, table: str) -> list[ForeignKey]:
        """The keys that reference `table`, or a partitioned table it is a partition of (the catalog
        holds a copy of those for each partition; facts made without a database do not)."""
        found: list[ForeignKey] = []
        name: str | None = table
        depth = 0
        while name is not None and depth <= 32:
            found += [k for k in self.foreign_keys if k.references == name]
            name, depth = self.parent_of(name), depth + 1
        return list(dict.fromkeys(found))

    def function(self, name: str) -> tuple[Function, ...]:
        return self.functions.get(name, ())

    def with_relation(self, relation: Relation) -> Facts:
        return replace(self, relations={**self.relations, relation.name: relation})

    def without_relations(self, names: set[str]) -> Facts:
        kept = {k: v for k, v in self.relations.items() if k not in names and v.table not in names}
        keys = tuple(k for k in self.foreign_keys if k.table not in names and k.references not in names)
        triggers = tuple(t for t in self.triggers if t.table not in names)
        return replace(self, relations=kept, foreign_keys=keys, triggers=triggers)


def qualified(schema: str | None, name: str) -> str:
    return f"{schema or DEFAULT_SCHEMA}.{name}"


def is_system(name: str) -> bool:
    """A catalog relation: every DDL statement writes them; the plan leaves them out."""
    schema, _, rel = name.partition(".")
    return schema in SYSTEM_SCHEMAS or (schema == DEFAULT_SCHEMA and rel.startswith("pg_"))
