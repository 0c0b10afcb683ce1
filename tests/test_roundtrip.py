"""Every version round-trips: up to v, and all the way up then down to v, leave the same catalog.

One scratch database is walked up one migration at a time, a snapshot (tests/catalog.py)
taken at each version, the empty database included; then it is walked down one
migration at a time and each version it lands on is compared with its snapshot from
the way up. Every migration file in the project's folder is covered, new ones included.

A landed migration's up part never changes; its rollback may be corrected (decision 111),
and the four that decision 43 found inexact were (018 and 020 by 111, 017 and 019 by 123):
every version now round-trips exactly. A rollback that cannot be exact (a migration
irreversible by design) would be listed in INEXACT, by version and snapshot section, with
the objects it concerns, the shape of the difference and the reason; an exception that no
longer happens fails the test too. Rollbacks that refuse on purpose (045's, over ids held
twice) refuse only on data this walk does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise

import psycopg
import pytest

from socialdb.migrate import runner
from socialdb.scripts.files import default_directory, load_migrations
from tests.catalog import SECTIONS, Row, Snapshot, differences, snapshot
from tests.conftest import Databases


@dataclass(frozen=True)
class Inexact:
    """A known difference: these objects of one section, differing only as `fits` allows."""

    objects: frozenset[str]
    fits: Callable[[list[Row], list[Row]], bool]  # (rows only after `up --to v`, rows only after `down --to v`)
    reason: str


# (version landed on by `down`, snapshot section) -> the known differences there. Each lasts from the
# version below the inexact rollback down to the version whose rollback removes the object.
INEXACT: dict[tuple[int, str], tuple[Inexact, ...]] = {}  # none since decision 123: every version round-trips


def test_every_version_round_trips(databases: Databases) -> None:
    versions = [0, *(m.version for m in load_migrations(default_directory()))]
    url = databases.create()  # not a template copy: every migration really runs here, database-level grants included
    try:
        built: dict[int, Snapshot] = {0: snapshot(url)}
        for version in versions[1:]:
            assert [o.migration.version for o in runner.up(url, to=version)] == [version]
            built[version] = snapshot(url)

        # Down one version at a time; the version it lands on must look as it did on the way up.
        unexpected: list[str] = []
        stale: list[str] = []
        for version, above in reversed(list(pairwise(versions))):
            # `--to` names a file, and there is no file 0: the last step down is `down 1`.
            done = runner.down(url, to=version) if version else runner.down(url, 1)
            assert [(o.migration.version, o.direction) for o in done] == [(above, "down")]
            found = differences(built[version], snapshot(url))
            for section, objects in found.items():
                known = INEXACT.get((version, section), ())
                used: set[int] = set()
                for key, (fresh, back) in objects.items():
                    fitting = [i for i, k in enumerate(known) if key in k.objects and k.fits(fresh, back)]
                    used.update(fitting)
                    if not fitting:
                        unexpected.append(
                            f"down to {version}, {section}, {key}:\n    up --to {version}: {fresh}\n    down:          {back}"
                        )
                stale += [f"({version}, {section!r}): {k.reason}" for i, k in enumerate(known) if i not in used]
            stale += [
                f"({version}, {section!r}): {k.reason}"
                for (v, section), known in INEXACT.items()
                if v == version and section not in found
                for k in known
            ]
        assert {v for v, _ in INEXACT} <= set(versions), "INEXACT names a version that has no migration"
        assert {s for _, s in INEXACT} <= set(SECTIONS), "INEXACT names a section the snapshot does not have"
        assert not unexpected, "rollbacks that do not restore the version below them:\n" + "\n".join(unexpected)
        assert not stale, "INEXACT lists differences that no longer happen: " + ", ".join(stale)
    finally:
        databases.drop(url)


# What a rollback can get wrong, and the section of the snapshot that must show it: (setup, change, section).
# `{s}` is a schema of the case's own; the snapshot before the change must differ from the one after.
_CASES: dict[str, tuple[str, str, str]] = {
    "policy dropped": (
        "CREATE TABLE {s}.t (a int); ALTER TABLE {s}.t ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON {s}.t USING (a > 0)",
        "DROP POLICY p ON {s}.t",
        "policies",
    ),
    "policy changed": (
        "CREATE TABLE {s}.t (a int); CREATE POLICY p ON {s}.t TO PUBLIC USING (a > 0)",
        "ALTER POLICY p ON {s}.t USING (a > 1)",
        "policies",
    ),
    "row-level security left enabled": (
        "CREATE TABLE {s}.t (a int)",
        "ALTER TABLE {s}.t ENABLE ROW LEVEL SECURITY",
        "relations",
    ),
    "row-level security left forced": (
        "CREATE TABLE {s}.t (a int)",
        "ALTER TABLE {s}.t FORCE ROW LEVEL SECURITY",
        "relations",
    ),
    "table grant left": ("CREATE TABLE {s}.t (a int)", "GRANT SELECT ON {s}.t TO PUBLIC", "relations"),
    "column grant left": ("CREATE TABLE {s}.t (a int)", "GRANT UPDATE (a) ON {s}.t TO PUBLIC", "columns"),
    "sequence grant left": ("CREATE SEQUENCE {s}.q", "GRANT USAGE ON SEQUENCE {s}.q TO PUBLIC", "relations"),
    "sequence changed": ("CREATE SEQUENCE {s}.q", "ALTER SEQUENCE {s}.q INCREMENT 2", "sequences"),
    "owner changed": ("CREATE TABLE {s}.t (a int)", "ALTER TABLE {s}.t OWNER TO pg_monitor", "relations"),
    "table left": ("", "CREATE TABLE {s}.t (a int)", "relations"),
    "materialized view left unpopulated": (
        "CREATE MATERIALIZED VIEW {s}.m AS SELECT 1 AS x",
        "DROP MATERIALIZED VIEW {s}.m; CREATE MATERIALIZED VIEW {s}.m AS SELECT 1 AS x WITH NO DATA",
        "relations",
    ),
    "column default left": ("CREATE TABLE {s}.t (a int)", "ALTER TABLE {s}.t ALTER COLUMN a SET DEFAULT 1", "columns"),
    "column left NOT NULL": ("CREATE TABLE {s}.t (a int)", "ALTER TABLE {s}.t ALTER COLUMN a SET NOT NULL", "columns"),
    "column type left": ("CREATE TABLE {s}.t (a int)", "ALTER TABLE {s}.t ALTER COLUMN a TYPE bigint", "columns"),
    "column order changed": (
        "CREATE TABLE {s}.t (a int, b int)",
        "ALTER TABLE {s}.t DROP COLUMN a; ALTER TABLE {s}.t ADD COLUMN a int",
        "columns",
    ),
    "constraint restored NOT VALID": (
        "CREATE TABLE {s}.t (a int CONSTRAINT c CHECK (a > 0))",
        "ALTER TABLE {s}.t DROP CONSTRAINT c; ALTER TABLE {s}.t ADD CONSTRAINT c CHECK (a > 0) NOT VALID",
        "constraints",
    ),
    "index left": ("CREATE TABLE {s}.t (a int)", "CREATE INDEX i ON {s}.t (a)", "indexes"),
    "trigger left disabled": (
        "CREATE TABLE {s}.t (a int);"
        " CREATE FUNCTION {s}.f() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';"
        " CREATE TRIGGER g BEFORE INSERT ON {s}.t FOR EACH ROW EXECUTE FUNCTION {s}.f()",
        "ALTER TABLE {s}.t DISABLE TRIGGER g",
        "triggers",
    ),
    "function body not restored": (
        "CREATE FUNCTION {s}.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE OR REPLACE FUNCTION {s}.f() RETURNS int LANGUAGE sql AS 'SELECT 2'",
        "functions",
    ),
    "function left SECURITY DEFINER": (
        "CREATE FUNCTION {s}.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "ALTER FUNCTION {s}.f() SECURITY DEFINER",
        "functions",
    ),
    "function setting left": (
        "CREATE FUNCTION {s}.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "ALTER FUNCTION {s}.f() SET work_mem = '64MB'",
        "functions",
    ),
    "function grant not restored": (
        "CREATE FUNCTION {s}.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "REVOKE EXECUTE ON FUNCTION {s}.f() FROM PUBLIC",
        "functions",
    ),
    "schema grant left": ("", "GRANT USAGE ON SCHEMA {s} TO PUBLIC", "schemas"),
    "view not restored": (
        "CREATE TABLE {s}.t (a int); CREATE VIEW {s}.v AS SELECT a FROM {s}.t",
        "CREATE OR REPLACE VIEW {s}.v AS SELECT a FROM {s}.t WHERE a > 0",
        "views",
    ),
    "view option left": (
        "CREATE TABLE {s}.t (a int); CREATE VIEW {s}.v AS SELECT a FROM {s}.t",
        "ALTER VIEW {s}.v SET (security_barrier)",
        "relations",
    ),
    "rule left": ("CREATE TABLE {s}.t (a int)", "CREATE RULE r AS ON INSERT TO {s}.t DO INSTEAD NOTHING", "rules"),
    "statistics left": (
        "CREATE TABLE {s}.t (a int, b int)",
        "CREATE STATISTICS {s}.x ON a, b FROM {s}.t",
        "statistics",
    ),
    "comment left": ("CREATE TABLE {s}.t (a int)", "COMMENT ON COLUMN {s}.t.a IS 'a'", "comments"),
    "schema public's comment not restored": ("", "COMMENT ON SCHEMA public IS 'changed'", "comments"),
    "enum value left": ("CREATE TYPE {s}.e AS ENUM ('a')", "ALTER TYPE {s}.e ADD VALUE 'b'", "types"),
    "text search mapping not restored": (
        "CREATE TEXT SEARCH CONFIGURATION {s}.c (COPY = pg_catalog.simple)",
        "ALTER TEXT SEARCH CONFIGURATION {s}.c DROP MAPPING FOR word",
        "text_search",
    ),
    "default privileges left": (
        "",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT ON TABLES TO PUBLIC",
        "default_privileges",
    ),
    "extension left": ("", "CREATE EXTENSION btree_gin", "extensions"),
    "database privilege not restored": (
        "",
        "DO $$ BEGIN EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()); END $$",
        "database",
    ),
    "database setting left": (
        "",
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET work_mem = ''8MB''', current_database()); END $$",
        "database",
    ),
}


@pytest.fixture(scope="module")
def scratch_url(databases: Databases) -> Iterator[str]:
    url = databases.create()
    yield url
    databases.drop(url)


@pytest.mark.parametrize("case", list(_CASES))
def test_snapshot_sees_what_a_rollback_can_get_wrong(scratch_url: str, case: str) -> None:
    setup, change, section = _CASES[case]
    schema = "case_" + "_".join(case.split()).replace("-", "_")
    with psycopg.connect(scratch_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        if setup:
            conn.execute(setup.format(s=f'"{schema}"'))
        before = snapshot(scratch_url)
        conn.execute(change.format(s=f'"{schema}"'))
    assert section in differences(before, snapshot(scratch_url))


def test_snapshot_sees_an_invalid_index(scratch_url: str) -> None:
    """An index left INVALID by a failed concurrent build, with the same definition as the valid one."""
    with psycopg.connect(scratch_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE invalid_index (a int); INSERT INTO invalid_index VALUES (1)")
        conn.execute("CREATE INDEX invalid_index_i ON invalid_index ((1 / a))")
        before = snapshot(scratch_url)
        conn.execute("DROP INDEX invalid_index_i; INSERT INTO invalid_index VALUES (0)")
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("CREATE INDEX CONCURRENTLY invalid_index_i ON invalid_index ((1 / a))")
        conn.execute("DELETE FROM invalid_index WHERE a = 0")
    found = differences(before, snapshot(scratch_url))
    assert set(found) == {"indexes"}
    ((fresh,), (back,)) = found["indexes"]["public.invalid_index_i"]
    assert fresh[1:3] == back[1:3] and (fresh[3], back[3]) == (True, False)  # same table and definition; indisvalid
