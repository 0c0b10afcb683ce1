"""The road to Citus, checked on one node (issue 16, docs/scaling.md "The road to Citus").

Citus cannot be installed here, so this reads the live catalog of a migrated database and
holds the rules that can be checked without it against the plan in docs/scaling.md:

- every table of the schema is classified there (distributed by a column, reference, local),
  and every table classified there exists;
- a distributed table has its distribution column, NOT NULL, and every distribution column
  has the same type (co-location needs it);
- every primary key and unique index of a distributed table includes its distribution
  column; every foreign key between distributed tables includes the distribution column of
  both, at the same position; no foreign key goes from a reference table to a distributed
  one, nor between a local table and a distributed one;
- every distributed or reference table has a replica identity (shard moves and
  `create_distributed_table_concurrently` copy rows by logical replication);
- every exception to these rules is listed in docs/scaling.md with its plan, and every
  listed exception still exists;
- every trigger and every function of the schema is listed there with what it becomes, and
  a function said to be distributed by an argument has that argument, a uuid, at that index;
- no column of a distributed table takes its value from a sequence.

The lists are read from the tables between `<!-- scaling:NAME -->` and `<!-- /scaling:NAME -->`
markers in docs/scaling.md. A future migration that adds a table, a key, a foreign key, a
trigger or a function fails here until the plan says what happens to it under Citus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

SCALING_DOC = Path(__file__).resolve().parents[1] / "docs" / "scaling.md"
CLASSES = {"distributed", "reference", "local"}
# Tables that exist only once something creates them: the runner's lease table appears with
# the first `--lock-mode table` run (docs/runner.md).
ON_DEMAND = {"migrations_lock"}

Conn = psycopg.Connection[tuple[Any, ...]]


# -- the plan, as docs/scaling.md writes it --------------------------------------------------


def _section(name: str, text: str | None = None) -> list[list[str]]:
    """The body rows of the markdown table between the markers of `name`, cells unquoted."""
    text = SCALING_DOC.read_text() if text is None else text
    found = re.search(rf"<!-- scaling:{name} -->\n(.*?)<!-- /scaling:{name} -->", text, re.DOTALL)
    assert found, f"docs/scaling.md has no <!-- scaling:{name} --> ... <!-- /scaling:{name} --> section"
    rows = [line for line in found.group(1).splitlines() if line.startswith("|")]
    assert len(rows) >= 2 and set(rows[1]) <= set("|-: "), f"section {name}: not a markdown table"
    return [[_plain(cell) for cell in _cells(row)] for row in rows[2:]]


def _cells(row: str) -> list[str]:
    # Split on | outside backticks (a cell may quote SQL such as `a || b`).
    cells, current, quoted = [], "", False
    for ch in row.strip().strip("|"):
        if ch == "`":
            quoted = not quoted
        if ch == "|" and not quoted:
            cells.append(current)
            current = ""
        else:
            current += ch
    cells.append(current)
    return [c.strip() for c in cells]


def _plain(cell: str) -> str:
    return cell[1:-1] if cell.startswith("`") and cell.endswith("`") and cell.count("`") == 2 else cell


@dataclass(frozen=True)
class TablePlan:
    name: str
    kind: str  # distributed, reference, local
    column: str | None  # the distribution column of a distributed table


def planned_tables(text: str | None = None) -> dict[str, TablePlan]:
    plans: dict[str, TablePlan] = {}
    for row in _section("tables", text):
        name, kind, column = row[0], row[1], row[2]
        assert kind in CLASSES, f"docs/scaling.md classifies {name} as {kind!r}, not one of {sorted(CLASSES)}"
        assert (column not in ("", "-")) == (kind == "distributed"), f"{name}: a distribution column iff distributed"
        assert name not in plans, f"docs/scaling.md classifies {name} twice"
        plans[name] = TablePlan(name, kind, column if kind == "distributed" else None)
    return plans


Exception_ = tuple[str, str, str]  # (table, constraint or index, kind)


def planned_exceptions(text: str | None = None) -> set[Exception_]:
    listed = [(row[0], row[1], row[2]) for row in _section("exceptions", text)]
    assert len(listed) == len(set(listed)), "docs/scaling.md lists an exception twice"
    return set(listed)


# -- the catalog ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UniqueIndex:
    table: str
    name: str
    primary: bool
    key_columns: tuple[str, ...]  # expressions are not columns; INCLUDE columns are not keys


@dataclass(frozen=True)
class ForeignKey:
    table: str
    name: str
    columns: tuple[str, ...]
    referenced: str
    referenced_columns: tuple[str, ...]
    on_delete: str
    on_update: str


# The schema's own objects: public, tables that are not partitions (a partition follows its
# parent), constraints and indexes that are not a partition's copy of its parent's.
_TABLES = """
SELECT c.relname,
       c.relreplident = 'f' OR EXISTS (
         SELECT FROM pg_index AS x WHERE x.indrelid = c.oid
           AND ((c.relreplident = 'd' AND x.indisprimary) OR (c.relreplident = 'i' AND x.indisreplident)))
FROM pg_class AS c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""
_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE '%nextval(%'
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef AS d ON (d.adrelid, d.adnum) = (a.attrelid, a.attnum)
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped
"""
_UNIQUE = """
SELECT t.relname, i.relname, x.indisprimary,
       ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k (attnum, n)
             JOIN pg_attribute AS a ON (a.attrelid, a.attnum) = (t.oid, k.attnum)
             WHERE k.n <= x.indnkeyatts ORDER BY k.n)
FROM pg_index AS x
JOIN pg_class AS t ON t.oid = x.indrelid
JOIN pg_class AS i ON i.oid = x.indexrelid
WHERE t.relnamespace = 'public'::regnamespace AND NOT t.relispartition AND x.indisunique
  AND NOT EXISTS (SELECT FROM pg_inherits AS h WHERE h.inhrelid = x.indexrelid)
"""
_FOREIGN = """
SELECT t.relname, k.conname,
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS c (attnum, n)
             JOIN pg_attribute AS a ON (a.attrelid, a.attnum) = (k.conrelid, c.attnum) ORDER BY c.n),
       r.relname,
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY AS c (attnum, n)
             JOIN pg_attribute AS a ON (a.attrelid, a.attnum) = (k.confrelid, c.attnum) ORDER BY c.n),
       k.confdeltype::text, k.confupdtype::text
FROM pg_constraint AS k
JOIN pg_class AS t ON t.oid = k.conrelid
JOIN pg_class AS r ON r.oid = k.confrelid
WHERE k.contype = 'f' AND k.connamespace = 'public'::regnamespace AND k.conparentid = 0 AND NOT t.relispartition
"""
_TRIGGERS = """
SELECT c.relname, t.tgname FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal AND t.tgparentid = 0
"""
# Functions of the schema, not of an extension (unaccent's and btree_gin's are theirs).
_FUNCTIONS = """
SELECT p.proname, coalesce(p.proargnames, '{}'), p.proargmodes::text[],
       ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) WITH ORDINALITY AS a (t, n) ORDER BY n)
FROM pg_proc AS p
WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT FROM pg_depend AS d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
"""


@dataclass
class Catalog:
    tables: set[str]
    replica_identity: dict[str, bool]  # whether UPDATE and DELETE can be replicated logically
    columns: dict[tuple[str, str], tuple[str, bool, bool]]  # (table, column) -> (type, not null, from a sequence)
    unique: list[UniqueIndex]
    foreign: list[ForeignKey]
    triggers: set[tuple[str, str]]
    functions: dict[str, list[tuple[list[str], list[str]]]]  # name -> [(argument names, argument types)]


def read_catalog(conn: Conn) -> Catalog:
    functions: dict[str, list[tuple[list[str], list[str]]]] = {}
    for name, arg_names, arg_modes, arg_types in conn.execute(_FUNCTIONS).fetchall():
        # proargnames also names OUT and TABLE columns; the arguments a call passes are the rest.
        passed = (
            [n for n, m in zip(arg_names, arg_modes, strict=True) if m in ("i", "b", "v")]
            if arg_modes and arg_names
            else arg_names
        )
        functions.setdefault(name, []).append((list(passed), list(arg_types)))
    identity = {name: bool(has) for name, has in conn.execute(_TABLES).fetchall()}
    return Catalog(
        tables=set(identity),
        replica_identity=identity,
        columns={(t, c): (typ, notnull, seq) for t, c, typ, notnull, seq in conn.execute(_COLUMNS).fetchall()},
        unique=[UniqueIndex(t, i, p, tuple(cols)) for t, i, p, cols in conn.execute(_UNIQUE).fetchall()],
        foreign=[
            ForeignKey(t, n, tuple(c), r, tuple(rc), d, u) for t, n, c, r, rc, d, u in conn.execute(_FOREIGN).fetchall()
        ],
        triggers={(t, n) for t, n in conn.execute(_TRIGGERS).fetchall()},
        functions=functions,
    )


# -- the rules ---------------------------------------------------------------------------------


def violations(catalog: Catalog, plans: dict[str, TablePlan]) -> set[Exception_]:
    """Every key, foreign key or missing replica identity that Citus would refuse as it stands."""
    found: set[Exception_] = set()
    for table, has_identity in catalog.replica_identity.items():
        plan = plans.get(table)
        if plan and plan.kind != "local" and not has_identity:
            found.add((table, table, "replica identity"))
    for index in catalog.unique:
        plan = plans.get(index.table)
        if plan and plan.column and plan.column not in index.key_columns:
            found.add((index.table, index.name, "primary key" if index.primary else "unique index"))
    for key in catalog.foreign:
        if not _foreign_key_allowed(key, plans.get(key.table), plans.get(key.referenced)):
            found.add((key.table, key.name, "foreign key"))
    return found


def _foreign_key_allowed(key: ForeignKey, source: TablePlan | None, target: TablePlan | None) -> bool:
    if source is None or target is None:
        return False  # an unclassified table: test_every_table_is_classified names it
    pair = (source.kind, target.kind)
    if pair == ("distributed", "distributed"):
        # Co-located tables, the distribution column of both at the same position of the key.
        return (
            source.column in key.columns
            and target.column in key.referenced_columns
            and key.columns.index(source.column) == key.referenced_columns.index(target.column)
        )
    if pair == ("reference", "local"):
        return key.on_delete not in "cnd" and key.on_update not in "cnd"  # no CASCADE / SET NULL / SET DEFAULT
    return pair in {
        ("distributed", "reference"),
        ("reference", "reference"),
        ("local", "local"),
        ("local", "reference"),
    }


@pytest.fixture
def catalog(conn: Conn) -> Catalog:
    return read_catalog(conn)


def _report(title: str, items: Iterable[object]) -> str:
    lines = sorted(str(item) for item in items)
    return f"{title}:\n  " + "\n  ".join(lines) if lines else ""


def test_every_table_is_classified(catalog: Catalog) -> None:
    plans = planned_tables()
    unclassified = catalog.tables - set(plans)
    gone = set(plans) - catalog.tables - ON_DEMAND
    assert not unclassified and not gone, "\n".join(
        filter(
            None,
            [
                _report("tables docs/scaling.md does not classify (add them to <!-- scaling:tables -->)", unclassified),
                _report("tables docs/scaling.md classifies that the schema no longer has", gone),
            ],
        )
    )


def test_distribution_columns_exist_are_not_null_and_share_a_type(catalog: Catalog) -> None:
    types = set()
    for plan in planned_tables().values():
        if plan.column is None or plan.name not in catalog.tables:
            continue
        column = catalog.columns.get((plan.name, plan.column))
        assert column is not None, f"{plan.name} has no column {plan.column}, its distribution column"
        assert column[1], f"{plan.name}.{plan.column} may be NULL: Citus refuses a row without its distribution value"
        types.add(column[0])
    assert len(types) == 1, f"distribution columns of several types ({sorted(types)}): they cannot be co-located"


def test_keys_and_foreign_keys_include_the_distribution_column_or_are_listed(catalog: Catalog) -> None:
    found = violations(catalog, planned_tables())
    listed = planned_exceptions()
    assert found == listed, "\n".join(
        filter(
            None,
            [
                _report(
                    "keys Citus would refuse that docs/scaling.md does not plan for (add them to"
                    " <!-- scaling:exceptions --> with their plan, or include the distribution column)",
                    found - listed,
                ),
                _report("exceptions docs/scaling.md lists that no longer exist (remove them)", listed - found),
            ],
        )
    )


def test_every_trigger_is_listed_with_its_plan(catalog: Catalog) -> None:
    listed = [(row[0], row[1]) for row in _section("triggers")]
    assert len(listed) == len(set(listed)), "docs/scaling.md lists a trigger twice"
    assert catalog.triggers == set(listed), "\n".join(
        filter(
            None,
            [
                _report("triggers docs/scaling.md does not list", catalog.triggers - set(listed)),
                _report("triggers docs/scaling.md lists that no longer exist", set(listed) - catalog.triggers),
            ],
        )
    )


def test_every_function_is_listed_and_distributed_by_a_uuid_argument(catalog: Catalog) -> None:
    rows = _section("functions")
    listed = [row[0] for row in rows]
    assert len(listed) == len(set(listed)), "docs/scaling.md lists a function twice"
    assert set(catalog.functions) == set(listed), "\n".join(
        filter(
            None,
            [
                _report("functions docs/scaling.md does not list", set(catalog.functions) - set(listed)),
                _report("functions docs/scaling.md lists that no longer exist", set(listed) - set(catalog.functions)),
            ],
        )
    )
    for name, argument, *_ in rows:
        given = re.fullmatch(r"`?(\w+)`? \(index (\d+)\)", argument)
        if argument in ("", "-") or given is None:
            assert argument in ("", "-"), f"{name}: distribution argument {argument!r} is not `NAME` (index N)"
            continue
        arg_name, index = given.group(1), int(given.group(2))
        for arg_names, arg_types in catalog.functions[name]:  # every overload must agree
            assert index < len(arg_types) and arg_names[index : index + 1] == [arg_name], (
                f"{name}: argument {index} is not {arg_name} ({arg_names})"
            )
            assert arg_types[index] == "uuid", f"{name}: {arg_name} is {arg_types[index]}, not the seller's uuid"


def test_no_distributed_table_takes_a_value_from_a_sequence(catalog: Catalog) -> None:
    plans = planned_tables()
    sequenced = {
        f"{table}.{column}"
        for (table, column), (_, _, from_sequence) in catalog.columns.items()
        if from_sequence and plans.get(table, TablePlan(table, "local", None)).kind != "local"
    }
    assert not sequenced, _report(
        "columns of distributed or reference tables filled from a sequence (docs/scaling.md, Sequences)", sequenced
    )


# -- the check catches what it is for ------------------------------------------------------------


def test_a_migration_that_breaks_a_rule_is_caught(conn: Conn) -> None:
    """What a careless future migration would do, on this test's own copy of the database."""
    conn.execute(
        "CREATE UNIQUE INDEX scaling_probe_handle ON conversations (participant_platform_id, platform_conversation_id)"
    )
    # No key of conversations is on id alone since 052: the foreign key without user_id uses the probe's.
    conn.execute(
        "ALTER TABLE messages ADD CONSTRAINT scaling_probe_fkey FOREIGN KEY (sender_platform_id, platform_message_id)"
        " REFERENCES conversations (participant_platform_id, platform_conversation_id)"
    )
    conn.execute("CREATE TABLE scaling_probe (id uuid PRIMARY KEY, user_id uuid NOT NULL REFERENCES users (id))")
    catalog = read_catalog(conn)
    plans = planned_tables()
    found = violations(catalog, plans) - planned_exceptions()
    assert found == {
        ("conversations", "scaling_probe_handle", "unique index"),
        ("messages", "scaling_probe_fkey", "foreign key"),
        ("scaling_probe", "scaling_probe_user_id_fkey", "foreign key"),  # an unclassified table
    }
    assert catalog.tables - set(plans) == {"scaling_probe"}


def test_the_sections_are_parsed_as_written() -> None:
    text = """
<!-- scaling:tables -->
| table | class | distribution column | why |
|---|---|---|---|
| `a` | distributed | `user_id` | x |
| `b` | reference | - | y `p || q` |
<!-- /scaling:tables -->
<!-- scaling:exceptions -->
| table | name | kind | now | plan |
|---|---|---|---|---|
| `a` | `a_pkey` | primary key | `PRIMARY KEY (id)` | z |
<!-- /scaling:exceptions -->
"""
    assert planned_tables(text) == {
        "a": TablePlan("a", "distributed", "user_id"),
        "b": TablePlan("b", "reference", None),
    }
    assert planned_exceptions(text) == {("a", "a_pkey", "primary key")}
