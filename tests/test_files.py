"""Parsing migration files: pure, from strings, no database."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialdb.errors import MigrationFileError
from socialdb.files import checksum, load_migrations, parse_migration

BASIC = "CREATE TABLE t (id int);\n\n-- ROLLBACK\nDROP TABLE t;\n"


def test_splits_up_and_down_at_the_marker() -> None:
    m = parse_migration("007-create-t.sql", BASIC)
    assert (m.version, m.name, m.filename) == (7, "create-t", "007-create-t.sql")
    assert "CREATE TABLE t" in m.up and "DROP TABLE" not in m.up
    assert m.down is not None and m.down.strip() == "DROP TABLE t;"
    assert m.down_line == 4
    assert m.directives.transaction is True


def test_migration_is_immutable() -> None:
    m = parse_migration("001-a.sql", BASIC)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.up = "DROP DATABASE x"  # type: ignore[misc]


def test_file_without_rollback_has_no_down() -> None:
    m = parse_migration("002-b.sql", "CREATE TABLE t (id int);\n")
    assert m.down is None and m.down_line is None


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("SELECT 1;\n--ROLLBACK\nSELECT 2;\n", 2, "malformed rollback marker"),
        ("SELECT 1;\n-- rollback\n", 2, "malformed rollback marker"),
        ("SELECT 1;\n-- ROLLBACK\nSELECT 2;\n-- ROLLBACK\n", 4, "second '-- ROLLBACK'"),
        ("-- socialdb: transaction=off retries=3\nSELECT 1;\n", 1, "unknown directive 'retries'"),
        ("-- socialdb: transaction\nSELECT 1;\n", 1, "malformed directive"),
        ("-- socialdb: transaction=maybe\nSELECT 1;\n", None, "expected on or off"),
        ("-- socialdb: lock_timeout=soon\nSELECT 1;\n", None, "invalid duration 'soon'"),
        ("-- socialdb: lock_timeout=1s lock_timeout=2s\nSELECT 1;\n", 1, "given twice"),
        ("SELECT 1;\n-- socialdb: transaction=off\n", 2, "after the first SQL statement"),
        ("SELECT 1;\n-- ROLLBACK\n-- socialdb: transaction=off\nSELECT 2;\n", 3, "not the ROLLBACK section"),
        ("-- only a comment\n-- ROLLBACK\nSELECT 2;\n", 1, "no up SQL"),
    ],
)
def test_bad_files_name_the_line(text: str, line: int | None, fragment: str) -> None:
    with pytest.raises(MigrationFileError) as caught:
        parse_migration("003-bad.sql", text)
    assert caught.value.line == line
    assert fragment in str(caught.value)
    assert str(caught.value).startswith("003-bad.sql")


def test_directives_are_read_from_the_header() -> None:
    text = "-- socialdb: transaction=off lock_timeout=10s\n-- socialdb: statement_timeout=2min\nCREATE INDEX CONCURRENTLY i ON t (a);\n"
    d = parse_migration("004-idx.sql", text).directives
    assert (d.transaction, d.lock_timeout_ms, d.statement_timeout_ms) == (False, 10_000, 120_000)


@pytest.mark.parametrize("name", ["1.sql", "001_create.sql", "001-Create.sql", "abc-create.sql", "001-.sql"])
def test_bad_file_names_are_refused(name: str) -> None:
    with pytest.raises(MigrationFileError, match="NNN-name.sql"):
        parse_migration(name, BASIC)


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30),
        max_size=8,
    )
)
def test_checksum_ignores_line_endings_and_bom(lines: list[str]) -> None:
    unix = "\n".join(lines)
    assert checksum(unix) == checksum("\r\n".join(lines)) == checksum("\ufeff" + unix)


def test_checksum_sees_any_other_change() -> None:
    assert checksum(BASIC) != checksum(BASIC.replace("int", "bigint"))
    assert checksum(BASIC) != checksum(BASIC + " ")


def test_load_orders_by_version_and_rejects_duplicates(tmp_path: Path) -> None:
    (tmp_path / "010-b.sql").write_text(BASIC)
    (tmp_path / "002-a.sql").write_text(BASIC)
    (tmp_path / "README.md").write_text("not a migration")
    assert [m.version for m in load_migrations(tmp_path)] == [2, 10]
    (tmp_path / "0010-c.sql").write_text(BASIC)
    with pytest.raises(MigrationFileError, match="version 10 is also used by"):
        load_migrations(tmp_path)


def test_load_refuses_a_sql_file_that_is_not_a_migration(tmp_path: Path) -> None:
    (tmp_path / "seed-dev-data.sql").write_text("INSERT INTO users VALUES (1);")
    with pytest.raises(MigrationFileError, match="seed-dev-data.sql"):
        load_migrations(tmp_path)


def test_load_refuses_invalid_utf8(tmp_path: Path) -> None:
    (tmp_path / "001-a.sql").write_bytes(b"SELECT '\xff';")
    with pytest.raises(MigrationFileError, match="not valid UTF-8 at byte 8"):
        load_migrations(tmp_path)


def test_packaged_migrations_parse_and_all_roll_back() -> None:
    from socialdb.runner import default_directory

    migrations = load_migrations(default_directory())
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert len(migrations) >= 19
    assert all(m.down is not None for m in migrations)
    assert [m.version for m in migrations if not m.directives.transaction][:2] == [13, 15]
