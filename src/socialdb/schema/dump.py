"""`schema.sql`: the schema as SQL, normalised for code review.

Written from a `Catalog`, not by pg_dump: the same schema gives the same bytes whatever
the server's version or the database's name (no OIDs, no dump header, no `\\restrict` key,
no SET lines of the dumping client), one object per statement, every section sorted by
name. Loaded into an empty database of a server where the roles exist (`psql -f`), it
gives back the same catalog: `tests/test_schema_docs.py` reads one back and compares.
The runner's history table is not in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

from socialdb.schema.model import (
    Catalog,
    ConstraintKind,
    Function,
    Relation,
    RelationKind,
    by_migrator_first,
    ran_the_migrations,
)

_KEYWORDS = frozenset(RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS | COL_NAME_KEYWORDS)
# Kinds that must exist before a foreign key can point at them.
_KEYS_FIRST = (ConstraintKind.PRIMARY_KEY, ConstraintKind.UNIQUE, ConstraintKind.EXCLUSION)


def ident(name: str) -> str:
    """A name as PostgreSQL's quote_ident writes it."""
    simple = name[:1].isalpha() or name[:1] == "_"
    simple = simple and all(ch.islower() or ch.isdigit() or ch in "_$" for ch in name) and name.isascii()
    if simple and name not in _KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{ident(schema)}.{ident(name)}"


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def render(catalog: Catalog) -> str:
    """The whole file."""
    sections = [
        ("Schemas", _schemas(catalog)),
        ("Extensions", _extensions(catalog)),
        ("Text search", _text_search(catalog)),
        ("Types", _types(catalog)),
        ("Functions", _functions(catalog)),
        ("Sequences", _sequences(catalog)),
        ("Tables", _tables(catalog)),
        ("Keys and checks", _constraints(catalog, foreign=False)),
        ("Indexes", _indexes(catalog)),
        ("Foreign keys", _constraints(catalog, foreign=True)),
        ("Views", _views(catalog)),
        ("Triggers", _triggers(catalog)),
        ("Row-level security", _row_security(catalog)),
        ("Owners", _owners(catalog)),
        ("Grants", _grants(catalog)),
        ("Default privileges", _default_privileges(catalog)),
        ("Database privileges", _database_privileges(catalog)),
        ("Comments", _comments(catalog)),
    ]
    parts = [_header(catalog)]
    for title, statements in sections:
        body = list(statements)
        if body:
            parts.append(f"-- {title}\n\n" + "\n".join(body))
    return "\n\n".join(parts) + "\n"


def _header(catalog: Catalog) -> str:
    newest = catalog.migrations[-1] if catalog.migrations else "no migration"
    return (
        "-- The schema the migrations produce, up to " + newest + ": written by `socialdb schema docs`\n"
        "-- from the catalog, normalised (sorted, no OIDs, no version-specific lines). Do not edit:\n"
        "-- change the migrations. The runner's history table is left out.\n\n"
        "SET check_function_bodies = false;\n"
        "SET search_path = public;"
    )


def _schemas(catalog: Catalog) -> Iterator[str]:
    for namespace in catalog.namespaces:
        if namespace.name != "public":
            yield f"CREATE SCHEMA {ident(namespace.name)};"


def _extensions(catalog: Catalog) -> Iterator[str]:
    for extension in catalog.extensions:
        yield f"CREATE EXTENSION IF NOT EXISTS {ident(extension.name)} WITH SCHEMA {ident(extension.schema)};"


def _text_search(catalog: Catalog) -> Iterator[str]:
    for config in catalog.text_search:
        name = qualified(config.schema, config.name)
        yield f"CREATE TEXT SEARCH CONFIGURATION {name} (PARSER = pg_catalog.{ident(config.parser)});"
        by_dictionaries: dict[str, list[str]] = {}
        for mapping in config.mappings:
            token, _, dictionaries = mapping.partition(": ")
            by_dictionaries.setdefault(dictionaries, []).append(token)
        for dictionaries, tokens in sorted(by_dictionaries.items(), key=lambda item: item[1]):
            yield f"ALTER TEXT SEARCH CONFIGURATION {name} ADD MAPPING FOR {', '.join(tokens)} WITH {dictionaries};"


def _types(catalog: Catalog) -> Iterator[str]:
    for item in catalog.types:
        name = qualified(item.schema, item.name)
        if item.kind == "e":
            yield f"CREATE TYPE {name} AS ENUM ({item.definition});"
        elif item.kind == "d":
            yield f"CREATE DOMAIN {name} AS {item.definition};"
        elif item.kind == "r":
            yield f"CREATE TYPE {name} AS RANGE (SUBTYPE = {item.definition});"
        elif item.kind == "c":
            yield f"CREATE TYPE {name} AS ({item.definition});"


def _functions(catalog: Catalog) -> Iterator[str]:
    for function in catalog.functions:
        if function.definition is not None:
            yield function.definition.rstrip() + ";\n"


def _sequences(catalog: Catalog) -> Iterator[str]:
    identity = _identity_columns(catalog)
    for seq in catalog.sequences:
        if seq.owned_by in identity:
            continue  # made by its identity column
        yield (
            f"CREATE SEQUENCE {qualified(seq.schema, seq.name)} AS {seq.type} START {seq.start}"
            f" INCREMENT {seq.increment} MINVALUE {seq.minimum} MAXVALUE {seq.maximum} CACHE {seq.cache}"
            f"{' CYCLE' if seq.cycle else ''};"
        )


def _identity_columns(catalog: Catalog) -> set[str]:
    return {f"{t.qualified}.{c.name}" for t in catalog.tables for c in t.columns if c.identity}


def _tables(catalog: Catalog) -> Iterator[str]:
    for table in catalog.tables:
        name = qualified(table.schema, table.name)
        unlogged = "UNLOGGED " if table.persistence == "u" else ""
        if table.partition_of is not None:
            parent = qualified(*table.partition_of.split(".", 1))
            yield f"CREATE {unlogged}TABLE {name} PARTITION OF {parent} {table.partition_bound};\n"
            continue
        columns = ",\n".join(
            f"    {_column(c.name, c.type, c.collation, c.default, c.generated, c.identity, c.not_null)}"
            for c in table.columns
        )
        tail = f" PARTITION BY {table.partition_key}" if table.partition_key else ""
        tail += f" WITH ({', '.join(table.options)})" if table.options else ""
        yield f"CREATE {unlogged}TABLE {name} (\n{columns}\n){tail};\n"
    for seq in catalog.sequences:
        if seq.owned_by is not None and seq.owned_by not in _identity_columns(catalog):
            yield f"ALTER SEQUENCE {qualified(seq.schema, seq.name)} OWNED BY {seq.owned_by};"


def _column(
    name: str, type_: str, collation: str | None, default: str | None, generated: str, identity: str, not_null: bool
) -> str:
    text = f"{ident(name)} {type_}"
    text += f" COLLATE {collation}" if collation else ""
    if generated:
        text += f" GENERATED ALWAYS AS ({default}) {'STORED' if generated == 's' else 'VIRTUAL'}"
    elif default is not None:
        text += f" DEFAULT {default}"
    if identity:
        text += f" GENERATED {'ALWAYS' if identity == 'a' else 'BY DEFAULT'} AS IDENTITY"
    return text + (" NOT NULL" if not_null else "")


def _constraints(catalog: Catalog, *, foreign: bool) -> Iterator[str]:
    """Keys first (a foreign key needs the key or unique index it references), checks, then foreign keys."""
    found = [
        (table, c)
        for table in catalog.tables
        if table.partition_of is None
        for c in table.constraints
        if (c.kind == ConstraintKind.FOREIGN_KEY) == foreign
    ]
    found.sort(key=lambda pair: pair[1].kind not in _KEYS_FIRST)
    for table, constraint in found:
        name = qualified(table.schema, table.name)
        yield f"ALTER TABLE {name} ADD CONSTRAINT {ident(constraint.name)} {constraint.definition};"


def _indexes(catalog: Catalog) -> Iterator[str]:
    for table in catalog.relations:
        for index in table.indexes:
            if index.constraint is None:
                flag = "" if index.valid else "  -- INVALID: a concurrent build failed"
                yield f"{index.definition};{flag}"


def _views(catalog: Catalog) -> Iterator[str]:
    for view in catalog.views:
        kind = "MATERIALIZED VIEW" if view.kind == RelationKind.MATERIALIZED_VIEW else "VIEW"
        options = f" WITH ({', '.join(view.options)})" if view.options else ""
        query = (view.definition or "").rstrip().rstrip(";")
        yield f"CREATE {kind} {qualified(view.schema, view.name)}{options} AS\n{query};\n"


def _triggers(catalog: Catalog) -> Iterator[str]:
    states = {"D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}
    for table in catalog.relations:
        for trigger in table.triggers:
            yield f"{trigger.definition};"
            if trigger.enabled in states:
                name = qualified(table.schema, table.name)
                yield f"ALTER TABLE {name} {states[trigger.enabled]} TRIGGER {ident(trigger.name)};"


def _row_security(catalog: Catalog) -> Iterator[str]:
    for table in catalog.tables:
        name = qualified(table.schema, table.name)
        if table.row_security:
            yield f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;"
        if table.forced_row_security:
            yield f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY;"
        for policy in table.policies:
            kind = "PERMISSIVE" if policy.permissive else "RESTRICTIVE"
            roles = ", ".join(r if r == "PUBLIC" else ident(r) for r in policy.roles)
            text = f"CREATE POLICY {ident(policy.name)} ON {name} AS {kind} FOR {policy.command} TO {roles}"
            text += f" USING ({policy.using})" if policy.using is not None else ""
            text += f" WITH CHECK ({policy.with_check})" if policy.with_check is not None else ""
            yield text + ";"


def _owners(catalog: Catalog) -> Iterator[str]:
    for namespace in catalog.namespaces:
        yield f"ALTER SCHEMA {ident(namespace.name)} OWNER TO {ident(namespace.owner)};"
    for config in catalog.text_search:
        yield f"ALTER TEXT SEARCH CONFIGURATION {qualified(config.schema, config.name)} OWNER TO {ident(config.owner)};"
    for item in catalog.types:
        yield f"ALTER TYPE {qualified(item.schema, item.name)} OWNER TO {ident(item.owner)};"
    for function in catalog.functions:
        yield f"ALTER {_routine(function)} {_signature(function)} OWNER TO {ident(function.owner)};"
    for seq in catalog.sequences:
        yield f"ALTER SEQUENCE {qualified(seq.schema, seq.name)} OWNER TO {ident(seq.owner)};"
    for relation in catalog.relations:
        name = qualified(relation.schema, relation.name)
        yield f"ALTER {_relation_word(relation)} {name} OWNER TO {ident(relation.owner)};"


def _routine(function: Function) -> str:
    return {"p": "PROCEDURE", "a": "AGGREGATE"}.get(function.kind, "FUNCTION")


def _signature(function: Function) -> str:
    return f"{qualified(function.schema, function.name)}({function.arguments})"


def _relation_word(relation: Relation) -> str:
    return {
        RelationKind.VIEW: "VIEW",
        RelationKind.MATERIALIZED_VIEW: "MATERIALIZED VIEW",
        RelationKind.FOREIGN_TABLE: "FOREIGN TABLE",
    }.get(relation.kind, "TABLE")


def _grants(catalog: Catalog) -> Iterator[str]:
    for namespace in catalog.namespaces:
        default = ("PUBLIC:USAGE",) if namespace.name == "public" else ()
        yield from _grant_lines(f"SCHEMA {ident(namespace.name)}", namespace.grants, namespace.owner, default)
    for item in catalog.types:
        yield from _grant_lines(f"TYPE {qualified(item.schema, item.name)}", item.grants, item.owner, ("PUBLIC:USAGE",))
    for function in catalog.functions:
        target = f"{_routine(function)} {_signature(function)}"
        yield from _grant_lines(target, function.grants, function.owner, ("PUBLIC:EXECUTE",))
    for seq in catalog.sequences:
        yield from _grant_lines(f"SEQUENCE {qualified(seq.schema, seq.name)}", seq.grants, seq.owner, ())
    for relation in catalog.relations:
        name = qualified(relation.schema, relation.name)
        yield from _grant_lines(f"TABLE {name}", relation.grants, relation.owner, ())
        for column in relation.columns:
            for grantee, privileges in _by_grantee(column.grants, relation.owner).items():
                listed = ", ".join(f"{p} ({ident(column.name)})" for p in privileges)
                yield f"GRANT {listed} ON TABLE {name} TO {grantee};"


def _grant_lines(target: str, grants: tuple[str, ...], owner: str, default: tuple[str, ...]) -> Iterator[str]:
    """REVOKE what the kind's default gives and the object lacks; GRANT what others hold beyond it."""
    for revoked in sorted(set(default) - set(grants)):
        grantee, _, privilege = revoked.partition(":")
        yield f"REVOKE {privilege} ON {target} FROM {grantee};"
    extra = tuple(g for g in grants if g not in default)
    for grantee, privileges in _by_grantee(extra, owner).items():
        yield f"GRANT {', '.join(privileges)} ON {target} TO {grantee};"


def _by_grantee(grants: Iterable[str], owner: str) -> dict[str, list[str]]:
    """Privileges per grantee other than the owner; `X*` (grant option) as `X` with a note in the grantee."""
    found: dict[str, list[str]] = {}
    for grant in sorted(grants):
        grantee, _, privilege = grant.partition(":")
        if grantee == owner:
            continue
        name = grantee if grantee == "PUBLIC" else ident(grantee)
        if privilege.endswith("*"):
            name, privilege = f"{name} WITH GRANT OPTION", privilege[:-1]
        found.setdefault(name, []).append(privilege)
    return found


def _default_privileges(catalog: Catalog) -> Iterator[str]:
    kinds = {"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}
    public_default = {"f": "PUBLIC:EXECUTE", "T": "PUBLIC:USAGE"}
    for item in sorted(catalog.default_privileges, key=by_migrator_first):
        where = f" IN SCHEMA {ident(item.schema)}" if item.schema else ""
        # The migrating role's own: whoever loads the file.
        role = "" if ran_the_migrations(item.role) else f" FOR ROLE {ident(item.role)}"
        head = f"ALTER DEFAULT PRIVILEGES{role}{where}"
        default = public_default.get(item.object_type)
        if default and default not in item.grants:
            yield f"{head} REVOKE {default.partition(':')[2]} ON {kinds[item.object_type]} FROM PUBLIC;"
        for grantee, privileges in _by_grantee((g for g in item.grants if g != default), item.role).items():
            yield f"{head} GRANT {', '.join(privileges)} ON {kinds[item.object_type]} TO {grantee};"


def _database_privileges(catalog: Catalog) -> Iterator[str]:
    """PUBLIC's default CONNECT and TEMPORARY, revoked where the catalog lacks them (the name is the database's)."""
    for privilege in ("CONNECT", "TEMPORARY"):
        if f"PUBLIC:{privilege}" not in catalog.database_privileges:
            revoke = f"EXECUTE format('REVOKE {privilege} ON DATABASE %I FROM PUBLIC', current_database());"
            yield f"DO $$ BEGIN {revoke} END $$;"


def _comments(catalog: Catalog) -> Iterator[str]:
    for namespace in catalog.namespaces:
        yield from _comment(f"SCHEMA {ident(namespace.name)}", namespace.comment)
    for config in catalog.text_search:
        yield from _comment(f"TEXT SEARCH CONFIGURATION {qualified(config.schema, config.name)}", config.comment)
    for item in catalog.types:
        yield from _comment(f"TYPE {qualified(item.schema, item.name)}", item.comment)
    for function in catalog.functions:
        yield from _comment(f"{_routine(function)} {_signature(function)}", function.comment)
    for seq in catalog.sequences:
        yield from _comment(f"SEQUENCE {qualified(seq.schema, seq.name)}", seq.comment)
    for relation in catalog.relations:
        yield from _relation_comments(relation)


def _relation_comments(relation: Relation) -> Iterator[str]:
    name = qualified(relation.schema, relation.name)
    yield from _comment(f"{_relation_word(relation)} {name}", relation.comment)
    for column in relation.columns:
        yield from _comment(f"COLUMN {name}.{ident(column.name)}", column.comment)
    for constraint in relation.constraints:
        yield from _comment(f"CONSTRAINT {ident(constraint.name)} ON {name}", constraint.comment)
    for index in relation.indexes:
        yield from _comment(f"INDEX {qualified(relation.schema, index.name)}", index.comment)
    for trigger in relation.triggers:
        yield from _comment(f"TRIGGER {ident(trigger.name)} ON {name}", trigger.comment)
    for policy in relation.policies:
        yield from _comment(f"POLICY {ident(policy.name)} ON {name}", policy.comment)


def _comment(target: str, text: str | None) -> Iterator[str]:
    if text is not None:
        yield f"COMMENT ON {target} IS {literal(text)};"
