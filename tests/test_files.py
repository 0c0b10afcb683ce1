"""Parsing migration files: pure, from strings, no database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialdb.errors import MigrationFileError
from socialdb.scripts.files import MAX_VERSION, checksum, load_migrations, new_migration, parse_migration

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
        ("-- socialdb: transaction=maybe\nSELECT 1;\n", 1, "expected on or off"),
        ("-- socialdb: lock_timeout=soon\nSELECT 1;\n", 1, "invalid duration 'soon'"),
        ("-- a\n-- socialdb: rollback=maybe\nSELECT 1;\n", 2, "rollback='maybe': the only value is none"),
        ("-- socialdb: lock_timeout=1s lock_timeout=2s\nSELECT 1;\n", 1, "given twice"),
        ("SELECT 1;\n-- socialdb: transaction=off\n", 2, "after the first SQL statement"),
        ("SELECT 1;\n-- ROLLBACK\n-- socialdb: transaction=off\nSELECT 2;\n", 3, "not the ROLLBACK section"),
        ("-- only a comment\n-- ROLLBACK\nSELECT 2;\n", 1, "no SQL statement in the up part"),
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


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", 1, "no SQL statement in the up part"),
        ("\n\n", 1, "no SQL statement in the up part"),
        ("-- only a note\n", 1, "no SQL statement in the up part"),
        ("/* a block comment\n   over two lines */\n", 1, "no SQL statement in the up part"),
        (";\n;\n", 1, "no SQL statement in the up part"),
        ("-- socialdb: transaction=off\n", 1, "no SQL statement in the up part"),
        ("SELECT 1;\n-- ROLLBACK\n", 2, "'-- ROLLBACK' is followed by no SQL statement"),
        ("SELECT 1;\n\n-- ROLLBACK\n-- nothing to undo\n\n", 3, "'-- ROLLBACK' is followed by no SQL statement"),
        ("SELECT 1;\n-- ROLLBACK\n/* later */ ;\n", 2, "rollback=none"),
        ("SELECT 1;\n\nCREATE TABEL t (id int);\n-- ROLLBACK\nSELECT 2;\n", 3, "syntax error"),
        ("SELECT 1;\n-- ROLLBACK\nSELECT 2;\n\nDROP TABEL t;\n", 5, "syntax error"),
        ("-- socialdb: rollback=none\nSELECT 1;\n-- ROLLBACK\nSELECT 2;\n", 3, "keep the rollback or the directive"),
    ],
)
def test_both_parts_are_parsed_when_the_file_is_read(text: str, line: int, fragment: str) -> None:
    # Issue 11: an empty or comment-only file, an empty ROLLBACK, a syntax error in either part:
    # each is refused when the file is read, before any database work, naming the line.
    with pytest.raises(MigrationFileError) as caught:
        parse_migration("009-bad.sql", text)
    assert (caught.value.path, caught.value.line) == ("009-bad.sql", line)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_statements_of_both_parts_are_kept() -> None:
    m = parse_migration("007-create-t.sql", BASIC)
    assert [(s.sql, s.line) for s in m.up_statements] == [("CREATE TABLE t (id int)", 1)]
    assert m.down_statements is not None and [(s.sql, s.line) for s in m.down_statements] == [("DROP TABLE t", 4)]


def test_an_irreversible_migration_says_so() -> None:
    m = parse_migration("008-drop-legacy.sql", "-- socialdb: rollback=none\nDROP TABLE legacy;\n")
    assert m.directives.irreversible and m.down is None and m.down_statements is None
    assert not parse_migration("002-b.sql", "CREATE TABLE t (id int);\n").directives.irreversible


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
    (tmp_path / "001-a.sql").write_bytes(b"SELECT 1;\n-- ROLLBACK\nSELECT '\xe9';\n")
    with pytest.raises(MigrationFileError, match=r"001-a.sql:3: not valid UTF-8 at byte 30"):
        load_migrations(tmp_path)


def test_timestamp_versions_load_and_sort_as_64_bit_numbers(tmp_path: Path) -> None:
    (tmp_path / "20250801120000-add-a.sql").write_text(BASIC)
    (tmp_path / "20250723093000-add-b.sql").write_text(BASIC)
    (tmp_path / "20251231235959123-add-c.sql").write_text(BASIC)  # 17 digits: still a number
    versions = [m.version for m in load_migrations(tmp_path)]
    assert versions == [20250723093000, 20250801120000, 20251231235959123]
    assert all(v > 2**31 for v in versions)


def test_a_version_beyond_64_bits_is_refused() -> None:
    assert parse_migration(f"{MAX_VERSION}-last.sql", BASIC).version == MAX_VERSION
    with pytest.raises(MigrationFileError, match="does not fit in 64 bits"):
        parse_migration(f"{MAX_VERSION + 1}-too-far.sql", BASIC)


def test_new_migration_continues_the_folder_numbering(tmp_path: Path) -> None:
    numbered = tmp_path / "numbered"
    assert new_migration(numbered, "first").name == "001-first.sql"
    assert new_migration(numbered, "second").name == "002-second.sql"
    stamped = tmp_path / "stamped"
    stamped.mkdir()
    (stamped / "20250801120000-old.sql").write_text(BASIC)
    now = datetime(2025, 9, 1, 8, 30, 5, tzinfo=UTC)
    assert new_migration(stamped, "next", now).name == "20250901083005-next.sql"
    # A clock behind the newest file still gives a newer version.
    assert new_migration(stamped, "again", now).name == "20250901083006-again.sql"
    assert [m.version for m in load_migrations(stamped)] == [20250801120000, 20250901083005, 20250901083006]


def test_packaged_migrations_parse_and_all_roll_back() -> None:
    from socialdb.scripts.files import default_directory

    migrations = load_migrations(default_directory())
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert len(migrations) >= 19
    assert all(m.up_statements and m.down_statements for m in migrations)  # both parts parsed, neither empty
    assert not any(m.directives.irreversible for m in migrations)
    assert [m.version for m in migrations if not m.directives.transaction][:2] == [13, 15]


# Files written for another tool (issue 24): refused, naming the tool, never misread.
_FOREIGN_FILES = [
    (
        "20250801120000-t.sql",
        "-- migrate:up\nCREATE TABLE t (id int);\n\n-- migrate:down\nDROP TABLE t;\n",
        "dbmate's marker",
        1,
    ),
    ("20250801120000-t.sql", "CREATE TABLE t (id int);\n-- migrate:down\nDROP TABLE t;\n", "dbmate's marker", 2),
    (
        "1700000000000-t.sql",
        "-- Up Migration\nCREATE TABLE t (id int);\n-- Down Migration\nDROP TABLE t;\n",
        "node-pg-migrate",
        1,
    ),
    ("20250801120000_create_t.sql", "CREATE TABLE t (id int);\n", "a dbmate file name", None),
    ("1_create_t.up.sql", "CREATE TABLE t (id int);\n", "a golang-migrate file name", None),
    ("V1__init.sql", "CREATE TABLE t (id int);\n", "a Flyway file name", None),
    ("V1.2__more.sql", "CREATE TABLE t (id int);\n", "a Flyway file name", None),
    ("R__views.sql", "CREATE VIEW v AS SELECT 1;\n", "a Flyway file name", None),
    ("U1__init.sql", "DROP TABLE t;\n", "a Flyway file name", None),
    ("1_create_t.down.sql", "DROP TABLE t;\n", "a golang-migrate file name", None),
    ("1700000000000_create-t.sql", "CREATE TABLE t (id int);\n", "a node-pg-migrate file name", None),
    (
        "005-t.sql",
        "--- Up Migration\nCREATE TABLE t (id int);\n---- down migration\nDROP TABLE t;\n",
        "node-pg-migrate",
        1,
    ),
    ("005-t.sql", "CREATE TABLE t (id int);\n--migrate:down\nDROP TABLE t;\n", "dbmate's marker", 2),
]


@pytest.mark.parametrize(("name", "text", "tool", "line"), _FOREIGN_FILES)
def test_another_tools_file_is_refused_naming_the_tool(
    tmp_path: Path, name: str, text: str, tool: str, line: int | None
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(MigrationFileError) as caught:
        load_migrations(tmp_path)
    assert tool in caught.value.reason and caught.value.line == line
    assert "\n" not in str(caught.value)
    assert "`socialdb migrate import --from " in caught.value.reason  # the way out, named


def test_a_diesel_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "2024-01-01-000000_create_t"
    folder.mkdir()
    (folder / "up.sql").write_text("CREATE TABLE t (id int);\n")
    (folder / "down.sql").write_text("DROP TABLE t;\n")
    with pytest.raises(MigrationFileError, match="a Diesel migration folder.*socialdb migrate import --from diesel"):
        load_migrations(tmp_path)
