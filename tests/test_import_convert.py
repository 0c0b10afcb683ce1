"""`socialdb migrate import`'s conversion (issue 24 item 3): each tool's layout into socialdb
files, with no database. What each tool would read otherwise is refused, one line naming the
file and line; what converts is read back by socialdb's own parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialdb.errors import MigrationFileError
from socialdb.migrate.importing.convert import convert, planned, read_folder, write
from socialdb.migrate.importing.tools import Tool, flyway_parts, flyway_versions, normal_name
from socialdb.scripts.files import load_migrations, parse_migration

DBMATE_FILE = "-- migrate:up\nCREATE TABLE t (id int);\n\n-- migrate:down\nDROP TABLE t;\n"


def _texts(tool: Tool, files: dict[str, str]) -> dict[str, str]:
    return {c.filename: c.text for c in convert(tool, files)}


def _refused(tool: Tool, files: dict[str, str]) -> MigrationFileError:
    with pytest.raises(MigrationFileError) as caught:
        convert(tool, files)
    assert "\n" not in str(caught.value)
    return caught.value


# --- what each tool's folder becomes ---------------------------------------------------------


def test_dbmate_keeps_its_versions_and_parts() -> None:
    texts = _texts(
        Tool.DBMATE,
        {
            "20240101120000_create_t.sql": "-- a comment\n" + DBMATE_FILE,
            "20240102120000_Add Index.sql": "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (id);\n"
            "-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY i;\n",
        },
    )
    assert texts == {
        "20240101120000-create_t.sql": "CREATE TABLE t (id int);\n\n-- ROLLBACK\nDROP TABLE t;\n",
        "20240102120000-add-index.sql": "-- socialdb: transaction=off\nCREATE INDEX CONCURRENTLY i ON t (id);\n"
        "\n-- ROLLBACK\nDROP INDEX CONCURRENTLY i;\n",
    }


def test_dbmate_transaction_false_on_up_only_with_a_one_statement_down_is_off() -> None:
    [done] = convert(
        Tool.DBMATE,
        {
            "1_i.sql": "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (id);\n-- migrate:down\nDROP INDEX i;\n"
        },
    )
    assert not done.migration.directives.transaction and done.filename == "001-i.sql"


def test_an_empty_down_part_is_no_rollback() -> None:
    [done] = convert(Tool.DBMATE, {"1_t.sql": "-- migrate:up\nCREATE TABLE t (id int);\n-- migrate:down\n\n"})
    assert done.migration.down is None and "ROLLBACK" not in done.text


def test_golang_migrate_pairs_become_one_file() -> None:
    texts = _texts(
        Tool.GOLANG_MIGRATE,
        {
            "000001_create_t.up.sql": "CREATE TABLE t (id int);\n",
            "000001_create_t.down.sql": "DROP TABLE t;\n",
            "000002_seed.up.sql": "INSERT INTO t VALUES (1);\n",
        },
    )
    assert texts == {
        "001-create_t.sql": "CREATE TABLE t (id int);\n\n-- ROLLBACK\nDROP TABLE t;\n",
        "002-seed.sql": "-- socialdb: rollback=none\nINSERT INTO t VALUES (1);\n",  # no down file: says so
    }


def test_a_lone_concurrent_index_runs_outside_a_transaction_as_its_tool_ran_it() -> None:
    [done] = convert(Tool.GOLANG_MIGRATE, {"3_i.up.sql": "CREATE INDEX CONCURRENTLY i ON t (id);\n"})
    assert done.text.startswith("-- socialdb: transaction=off rollback=none\n")


def test_node_pg_migrate_reads_its_markers_either_way_round() -> None:
    texts = _texts(
        Tool.NODE_PG_MIGRATE,
        {
            "1700000000000_create-t.sql": "-- Up Migration\nCREATE TABLE t (id int);\n-- Down Migration\nDROP TABLE t;\n",
            "1700000000001_u.sql": "-- Down Migration\nDROP TABLE u;\n\n-- Up Migration\nCREATE TABLE u (id int);\n",
            "1700000000002_plain.sql": "CREATE TABLE v (id int);\n",
        },
    )
    assert texts == {
        "1700000000000-create-t.sql": "CREATE TABLE t (id int);\n\n-- ROLLBACK\nDROP TABLE t;\n",
        "1700000000001-u.sql": "CREATE TABLE u (id int);\n\n-- ROLLBACK\nDROP TABLE u;\n",
        "1700000000002-plain.sql": "-- socialdb: rollback=none\nCREATE TABLE v (id int);\n",
    }


def test_flyway_dotted_versions_keep_flyways_order() -> None:
    done = convert(
        Tool.FLYWAY,
        {
            "V1__init.sql": "CREATE TABLE t (id int);\n",
            "V1.9__nine.sql": "SELECT 9;\n",
            "V1_10__ten.sql": "SELECT 10;\n",
            "U1_10__ten.sql": "SELECT -10;\n",
            "V2__Two_Words.sql": "SELECT 2;\n",
        },
    )
    assert [(c.source.key, c.filename) for c in done] == [
        ("1", "100-init.sql"),
        ("1.9", "109-nine.sql"),
        ("1.10", "110-ten.sql"),
        ("2", "200-two_words.sql"),
    ]
    assert done[2].migration.down == "SELECT -10;\n"


def test_flyway_plain_versions_stay_themselves() -> None:
    done = convert(Tool.FLYWAY, {"V1__a.sql": "SELECT 1;\n", "V10__b.sql": "SELECT 1;\n", "V9__c.sql": "SELECT 1;\n"})
    assert [c.migration.version for c in done] == [1, 9, 10]


def test_diesel_folders_and_their_metadata() -> None:
    done = convert(
        Tool.DIESEL,
        {
            "00000000000000_diesel_initial_setup/up.sql": "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n",
            "00000000000000_diesel_initial_setup/down.sql": "DROP FUNCTION f();\n",
            "2024-01-01-000000_create_t/up.sql": "CREATE TABLE t (id int);\n",
            "2024-01-01-000000_create_t/down.sql": "DROP TABLE t;\n",
            "2024-01-02-000000_index/up.sql": "CREATE INDEX i ON t (id);\n",
            "2024-01-02-000000_index/metadata.toml": "run_in_transaction = false\n",
        },
    )
    assert [(c.source.key, c.filename, c.migration.directives.transaction) for c in done] == [
        ("00000000000000", "000-diesel_initial_setup.sql", True),
        ("20240101000000", "20240101000000-create_t.sql", True),
        ("20240102000000", "20240102000000-index.sql", False),
    ]


def test_diesel_metadata_without_the_key_means_no_transaction_as_in_diesel() -> None:
    [done] = convert(Tool.DIESEL, {"1_t/up.sql": "SELECT 1;\n", "1_t/metadata.toml": "other = 1\n"})
    assert not done.migration.directives.transaction


# --- refused, never guessed -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "files", "where", "words"),
    [
        (
            Tool.DBMATE,
            {"1_t.sql": "-- migrate:down\nDROP TABLE t;\n-- migrate:up\nCREATE TABLE t (id int);\n"},
            "1_t.sql:1",
            "comes before '-- migrate:up'",
        ),
        (
            Tool.DBMATE,
            {
                "1_t.sql": "-- migrate:up\nCREATE TABLE t (id int);\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n"
            },
            "1_t.sql:3",
            "second '-- migrate:up' marker (the first is on line 1)",
        ),
        (Tool.DBMATE, {"1_t.sql": "CREATE TABLE t (id int);\n"}, "1_t.sql", "no '-- migrate:up'"),
        (Tool.DBMATE, {"1_t.sql": "-- migrate:up\nSELECT 1;\n"}, "1_t.sql", "no '-- migrate:down'"),
        (Tool.DBMATE, {"1_t.sql": "SELECT 0;\n" + DBMATE_FILE}, "1_t.sql:1", "SQL before '-- migrate:up'"),
        (
            Tool.DBMATE,
            {"1_t.sql": "-- migrate:up transaction:maybe\nSELECT 1;\n-- migrate:down\nSELECT 1;\n"},
            "1_t.sql:1",
            "only transaction:true or false",
        ),
        (
            Tool.DBMATE,
            {"1_t.sql": "-- migrate:up transaction:false\nSELECT 1;\n-- migrate:down\nSELECT 1;\nSELECT 2;\n"},
            "1_t.sql:3",
            "the down part, in a transaction, has 2 statements",
        ),
        (
            Tool.DBMATE,
            {"1_a.sql": DBMATE_FILE, "001_b.sql": DBMATE_FILE},
            "1_a.sql",
            "becomes version 1, as 001_b.sql does",
        ),
        (
            Tool.DBMATE,
            {"1_t.sql": "-- migrate:up\nCREATE TABLE t (id int);\n-- ROLLBACK, by hand\n-- migrate:down\nSELECT 1;\n"},
            "1_t.sql:3",
            "would read as socialdb's rollback marker",
        ),
        (
            Tool.DBMATE,
            {
                "1_t.sql": "-- migrate:up\nCREATE TABLE t (id int);\nCREAT TABLE u (id int);\n-- migrate:down\nSELECT 1;\n"
            },
            "1_t.sql:3",
            "syntax error",
        ),
        (
            Tool.DBMATE,
            {"1_t.sql": "-- migrate:up\nCREATE TABLE t (id int);\n-- migrate:down\n\nSELEC 1;\n"},
            "1_t.sql:5",
            "syntax error",
        ),
        (
            Tool.NODE_PG_MIGRATE,
            {"1_t.sql": "CREATE TABLE t (id int);\n-- Down Migration\nDROP TABLE t;\n"},
            "1_t.sql:2",
            "a down marker but no up marker",
        ),
        (
            Tool.NODE_PG_MIGRATE,
            {"1_t.sql": "-- Up Migration\nSELECT 1;\n-- up migration\nSELECT 2;\n"},
            "1_t.sql:3",
            "second up marker",
        ),
        (Tool.NODE_PG_MIGRATE, {"1_t.js": "exports.up = () => {};\n"}, "1_t.js", "SQL migrations only"),
        (
            Tool.NODE_PG_MIGRATE,
            {"20240101120000000_a.sql": "SELECT 1;\n", "1800000000000_b.sql": "SELECT 1;\n"},
            "1800000000000_b.sql",
            "node-pg-migrate runs it after 20240101120000000_a.sql",
        ),
        (
            Tool.DBMATE,
            {"9_a.sql": DBMATE_FILE, "10_b.sql": DBMATE_FILE.replace(" t", " u")},
            "9_a.sql",
            "dbmate runs it after 10_b.sql",
        ),
        (Tool.GOLANG_MIGRATE, {"1_t.down.sql": "DROP TABLE t;\n"}, "1_t.down.sql", "without the up file"),
        (Tool.GOLANG_MIGRATE, {"1_t.sql": "SELECT 1;\n"}, "1_t.sql", "not a golang-migrate migration"),
        (Tool.FLYWAY, {"V1__a.sql": "SELECT 1;\n", "R__views.sql": "SELECT 1;\n"}, "R__views.sql", "repeatable"),
        (Tool.FLYWAY, {"V1__a.sql": "SELECT 1;\n", "V1.0__b.sql": "SELECT 1;\n"}, "V1__a.sql", "version 1 is also"),
        (Tool.FLYWAY, {"U1__a.sql": "SELECT 1;\n"}, "U1__a.sql", "without the V file"),
        (Tool.DIESEL, {"1_t/down.sql": "SELECT 1;\n"}, "1_t", "without up.sql"),
        (Tool.DIESEL, {"9_a/up.sql": "SELECT 1;\n", "10_b/up.sql": "SELECT 1;\n"}, "9_a/up.sql", "diesel runs it"),
        (Tool.DIESEL, {"1_t/up.sql": "SELECT 1;\n", "1_t/metadata.toml": "run_in_transaction = [\n"}, "1_t/", "TOML"),
    ],
)
def test_refused_naming_the_file_and_line(tool: Tool, files: dict[str, str], where: str, words: str) -> None:
    refused = _refused(tool, files)
    assert str(refused).startswith(where) and words in str(refused)


# --- properties ---------------------------------------------------------------------------------

_STATEMENTS = st.lists(
    st.sampled_from(["CREATE TABLE t (id int);", "SELECT 1;", "-- a comment", "", "DROP TABLE t;"]), max_size=6
).map(lambda lines: "\n".join(["SELECT 0;", *lines]))


@given(
    st.integers(min_value=0, max_value=2**63 - 1),
    _STATEMENTS,
    st.one_of(st.none(), _STATEMENTS),
    st.booleans(),
)
def test_dbmate_parts_round_trip(version: int, up: str, down: str | None, blank_line: bool) -> None:
    """Whatever the parts, the converted file has them, as socialdb's own parser splits them."""
    gap = "\n" if blank_line else ""
    text = f"-- migrate:up\n{up}\n{gap}-- migrate:down\n{down or ''}\n"
    [done] = convert(Tool.DBMATE, {f"{version}_t.sql": text})
    assert done.migration.version == version
    expected = parse_migration("1-t.sql", up if down is None else f"{up}\n-- ROLLBACK\n{down}")
    assert [s.sql for s in done.migration.up_statements] == [s.sql for s in expected.up_statements]
    assert [s.sql for s in done.migration.down_statements or ()] == [s.sql for s in expected.down_statements or ()]
    assert parse_migration(done.filename, done.text).checksum == done.migration.checksum


_FLYWAY_VERSION = st.lists(st.integers(min_value=0, max_value=120), min_size=1, max_size=3).filter(
    lambda parts: parts[0] > 0
)


@given(st.lists(_FLYWAY_VERSION, min_size=1, max_size=8, unique_by=lambda p: flyway_parts(".".join(map(str, p)))))
def test_flyway_versions_keep_flyways_order(versions: list[list[int]]) -> None:
    parts = [flyway_parts(".".join(map(str, v))) for v in versions]
    numbers = flyway_versions(parts)
    assert sorted(parts) == sorted(parts, key=lambda p: numbers[p])
    assert len(set(numbers.values())) == len(parts)


@given(st.text(max_size=30))
def test_a_normal_name_is_a_socialdb_name(raw: str) -> None:
    parse_migration(f"1-{normal_name(raw)}.sql", "SELECT 1;\n")


# --- the folder, read and written ---------------------------------------------------------------


def test_written_through_a_temporary_folder_and_idempotent(tmp_path: Path) -> None:
    source = tmp_path / "db"
    source.mkdir()
    (source / "1_t.sql").write_text(DBMATE_FILE)
    (source / "README.md").write_text("not a migration")
    converted = convert(Tool.DBMATE, read_folder(Tool.DBMATE, source))
    target = tmp_path / "out"
    assert write(converted, target).written == ("001-t.sql",)
    assert write(converted, target).unchanged == ("001-t.sql",)
    assert [m.filename for m in load_migrations(target)] == ["001-t.sql"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", "out"]  # no staging folder left


def test_a_target_file_with_other_text_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "002-u.sql").write_text("SELECT 2;\n")
    (target / "001-t.sql").write_text("SELECT 1;\n")
    converted = convert(Tool.DBMATE, {"1_t.sql": DBMATE_FILE, "2_u.sql": DBMATE_FILE})
    with pytest.raises(MigrationFileError, match="001-t.sql: is there already with other text"):
        write(converted, target)
    (target / "001-t.sql").unlink()
    (target / "001-other.sql").write_text("SELECT 1;\n")
    with pytest.raises(MigrationFileError, match="001-other.sql: holds version 1, which 1_t.sql becomes"):
        planned(converted, target)
    assert sorted(p.name for p in target.iterdir()) == ["001-other.sql", "002-u.sql"]


def test_flyway_subfolders_are_refused(tmp_path: Path) -> None:
    (tmp_path / "more").mkdir()
    with pytest.raises(MigrationFileError, match="a subfolder: Flyway reads it too"):
        read_folder(Tool.FLYWAY, tmp_path)


def test_the_folder_is_named_as_given_and_the_target_must_be_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialdb.migrate.importing import run

    monkeypatch.chdir(tmp_path)
    _folder = Path("db")
    _folder.mkdir()
    (_folder / "1_t.sql").write_text("-- migrate:up\nSELEC 1;\n-- migrate:down\n")
    with pytest.raises(MigrationFileError, match=r"^db/1_t.sql:2: .*syntax error"):
        run(Tool.DBMATE, _folder, Path("out"))
    with pytest.raises(MigrationFileError, match=r"^db/new: is \(inside\) the dbmate folder"):
        run(Tool.DBMATE, _folder, _folder / "new")
    with pytest.raises(MigrationFileError, match=r"^nowhere: folder not found"):
        run(Tool.DBMATE, Path("nowhere"), Path("out"))
    (_folder / "1_t.sql").unlink()
    with pytest.raises(MigrationFileError, match=r"^db: no dbmate migration found"):
        run(Tool.DBMATE, _folder, Path("out"))
    assert not Path("out").exists()


def test_a_new_target_folder_gets_the_usual_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out"
    write(convert(Tool.DBMATE, {"1_t.sql": DBMATE_FILE}), target)
    assert target.stat().st_mode & 0o777 == 0o777 & ~_umask()


def _umask() -> int:
    import os

    mask = os.umask(0o022)
    os.umask(mask)
    return mask
