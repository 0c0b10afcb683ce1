"""A database's schema as plain values: what `catalog.read` returns and every renderer reads.

Names are schema-qualified where they identify an object (`public.users`); definitions are
PostgreSQL's own (`pg_get_constraintdef`, `pg_get_indexdef`, ...), read with
`search_path = public`, so objects of `public` print unqualified inside them. Grants are
`grantee:PRIVILEGE` (a trailing `*`: with grant option), PUBLIC for everyone, sorted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from socialdb.migrate.privileges import ROLES


class RelationKind(StrEnum):
    """pg_class.relkind of the relations the schema describes."""

    TABLE = "r"
    PARTITIONED_TABLE = "p"
    VIEW = "v"
    MATERIALIZED_VIEW = "m"
    FOREIGN_TABLE = "f"

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")

    @property
    def is_view(self) -> bool:
        return self in (RelationKind.VIEW, RelationKind.MATERIALIZED_VIEW)


class ConstraintKind(StrEnum):
    """pg_constraint.contype (not-null constraints, catalogued from PostgreSQL 18 on, are column facts)."""

    PRIMARY_KEY = "p"
    UNIQUE = "u"
    FOREIGN_KEY = "f"
    CHECK = "c"
    EXCLUSION = "x"
    TRIGGER = "t"

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    default: str | None
    identity: str  # '' , 'a' (ALWAYS) or 'd' (BY DEFAULT)
    generated: str  # '' or 's' (stored) / 'v' (virtual, PostgreSQL 18)
    collation: str | None  # only when it differs from the type's
    comment: str | None
    grants: tuple[str, ...]  # column privileges


@dataclass(frozen=True)
class Constraint:
    name: str
    kind: ConstraintKind
    definition: str
    validated: bool
    columns: tuple[str, ...]
    references: str | None  # the referenced table of a foreign key, qualified
    referenced_columns: tuple[str, ...]
    comment: str | None


@dataclass(frozen=True)
class Index:
    name: str
    definition: str
    valid: bool
    unique: bool
    primary: bool
    constraint: str | None  # the constraint it backs, if any
    comment: str | None


@dataclass(frozen=True)
class Trigger:
    name: str
    definition: str
    enabled: str  # pg_trigger.tgenabled: O (origin), D (disabled), R (replica), A (always)
    comment: str | None


@dataclass(frozen=True)
class Policy:
    name: str
    permissive: bool
    roles: tuple[str, ...]
    command: str  # ALL, SELECT, INSERT, UPDATE, DELETE
    using: str | None
    with_check: str | None
    comment: str | None


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    kind: RelationKind
    owner: str
    persistence: str  # p (permanent), u (unlogged)
    options: tuple[str, ...]
    row_security: bool
    forced_row_security: bool
    comment: str | None
    definition: str | None  # a view's query
    grants: tuple[str, ...]
    partition_key: str | None  # of a partitioned table: `RANGE (occurred_at)`
    partition_of: str | None  # of a partition: its parent, qualified
    partition_bound: str | None  # of a partition: `FOR VALUES FROM (...) TO (...)`
    columns: tuple[Column, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    policies: tuple[Policy, ...] = ()

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Function:
    schema: str
    name: str
    arguments: str  # identity arguments: the signature's part inside the parentheses
    full_arguments: str  # with names and defaults
    kind: str  # f, p, a, w
    result: str | None
    language: str
    volatility: str  # i, s, v
    security_definer: bool
    strict: bool
    leakproof: bool
    parallel: str  # s, r, u
    settings: tuple[str, ...]  # the SET clauses (proconfig), sorted
    body: str
    definition: str | None  # pg_get_functiondef; None for an aggregate
    owner: str
    grants: tuple[str, ...]
    comment: str | None

    @property
    def signature(self) -> str:
        return f"{self.schema}.{self.name}({self.arguments})"


@dataclass(frozen=True)
class Sequence:
    schema: str
    name: str
    type: str
    start: int
    increment: int
    minimum: int
    maximum: int
    cache: int
    cycle: bool
    owned_by: str | None  # table.column of an identity or serial column
    owner: str
    grants: tuple[str, ...]
    comment: str | None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Type:
    """An enum, domain, range, composite or base type of the schema's own."""

    schema: str
    name: str
    kind: str  # e, d, r, c, b (pg_type.typtype)
    definition: str  # enum labels, domain base and constraints, range subtype, composite attributes
    owner: str
    grants: tuple[str, ...]
    comment: str | None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Extension:
    name: str
    version: str
    schema: str


@dataclass(frozen=True)
class TextSearchConfig:
    schema: str
    name: str
    parser: str
    mappings: tuple[str, ...]  # `token: dictionary, dictionary`, by token
    owner: str
    comment: str | None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Namespace:
    name: str
    owner: str
    grants: tuple[str, ...]
    comment: str | None


@dataclass(frozen=True)
class DefaultPrivilege:
    role: str
    schema: str | None  # None: every schema
    object_type: str  # r (tables), S (sequences), f (functions), T (types), n (schemas)
    grants: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    """One database's schema; every tuple sorted by name."""

    namespaces: tuple[Namespace, ...]
    relations: tuple[Relation, ...]
    functions: tuple[Function, ...]
    sequences: tuple[Sequence, ...]
    types: tuple[Type, ...]
    extensions: tuple[Extension, ...]
    text_search: tuple[TextSearchConfig, ...]
    default_privileges: tuple[DefaultPrivilege, ...]
    database_privileges: tuple[str, ...]  # `role:PRIVILEGE` held on this database, PUBLIC and socialdb_* roles
    migrations: tuple[str, ...]  # the applied migrations' files, in version order

    @property
    def tables(self) -> tuple[Relation, ...]:
        return tuple(r for r in self.relations if not r.kind.is_view)

    @property
    def views(self) -> tuple[Relation, ...]:
        return tuple(r for r in self.relations if r.kind.is_view)

    def relation(self, qualified: str) -> Relation | None:
        return next((r for r in self.relations if r.qualified == qualified), None)


def ran_the_migrations(role: str) -> bool:
    """Whether `role` is the one that ran the migrations: 027 sets that role's own default
    privileges, and any role but socialdb's own and PUBLIC can only be it. Named as such in
    the docs and compared as such by `schema diff`, whoever built or reads each database."""
    return role != "PUBLIC" and role not in ROLES


def by_migrator_first(item: DefaultPrivilege) -> tuple[bool, str, str, str]:
    """The order of default privileges in the docs: the migrating role's, whatever its name, first."""
    return (not ran_the_migrations(item.role), item.role, item.schema or "", item.object_type)
