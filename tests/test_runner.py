"""The runner library against a real PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest

from socialdb.errors import (
    ChecksumMismatchError,
    MigrationFailed,
    MigrationFileError,
    MissingMigrationError,
    NoRollbackError,
    UsageError,
)
from socialdb.migrate import runner
from socialdb.scripts import events
from socialdb.scripts import history as history_table
from socialdb.scripts.events import as_lines
from socialdb.scripts.files import checksum, default_directory
from socialdb.scripts.options import RunOptions
from tests.catalog import snapshot
from tests.helpers import LATEST, NEXT, as_migrator, history, tables, write_migrations

STAMPED = {
    "20250801120000-create-a.sql": "CREATE TABLE a (id int);\n-- ROLLBACK\nDROP TABLE a;\n",
    "20250802093000-create-b.sql": "CREATE TABLE b (id int);\n-- ROLLBACK\nDROP TABLE b;\n",
}


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    """A copy of the packaged migrations to edit."""
    target = tmp_path / "migrations"
    shutil.copytree(default_directory(), target)
    return target


def test_up_applies_every_migration_in_order_and_records_them(empty_db_url: str) -> None:
    reported: list[events.Event] = []
    done = runner.up(empty_db_url, report=reported.append)
    assert [o.migration.version for o in done] == list(range(1, LATEST + 1))
    starts = [(e.version, e.index, e.total) for e in reported if isinstance(e, events.Applying)]
    assert starts == [(v, v, LATEST) for v in range(1, LATEST + 1)]
    assert [e.file for e in reported if isinstance(e, events.Applied)] == [o.migration.filename for o in done]
    assert str(reported[0]) == "applying 001-create-users-table.sql"
    assert str(reported[1]).startswith("applied 001-create-users-table.sql in ") and str(reported[1]).endswith(" ms")
    assert history(empty_db_url) == [(v, "applied") for v in range(1, LATEST + 1)]
    with psycopg.connect(empty_db_url) as conn:
        checksums = conn.execute("SELECT file, checksum, execution_ms FROM migrations ORDER BY version").fetchall()
    assert checksums[0][0] == "001-create-users-table.sql" and len(checksums[0][1]) == 64
    assert all(ms >= 0 for _, _, ms in checksums)
    assert runner.up(empty_db_url) == []  # a second run has nothing to do


def test_status_shows_every_migration(db_url: str, migrations_dir: Path) -> None:
    (migrations_dir / f"{NEXT}-add-x.sql").write_text("CREATE TABLE x (id int);\n-- ROLLBACK\nDROP TABLE x;\n")
    rows = runner.status(db_url, migrations_dir)
    assert [(r.version, r.state) for r in rows][-2:] == [(LATEST, "applied"), (LATEST + 1, "pending")]
    assert rows[0].executed_at is not None and rows[0].execution_ms is not None


def test_down_one_then_up_round_trips_the_schema(db_url: str) -> None:
    before = snapshot(db_url)
    done = runner.down(db_url, 1)
    assert [o.migration.version for o in done] == [LATEST]
    assert snapshot(db_url) != before
    assert history(db_url)[-1] == (LATEST - 1, "applied")
    runner.up(db_url)
    assert snapshot(db_url) == before


def test_down_all_then_up_round_trips_the_schema(db_url: str) -> None:
    migrator = as_migrator(db_url)  # the role that migrated the template: 027's defaults are its own
    before = snapshot(db_url)
    done = runner.down(migrator, LATEST)
    assert [o.migration.version for o in done] == list(range(LATEST, 0, -1))
    assert tables(db_url) == {"migrations"}
    assert history(db_url) == []
    runner.up(migrator)
    assert snapshot(db_url) == before


def test_syntax_error_applies_nothing_and_names_file_and_line(db_url: str, migrations_dir: Path) -> None:
    (migrations_dir / f"{NEXT}-broken.sql").write_text(
        "CREATE TABLE ok_table (id int);\n\nALTER TABLE products ADD COLUMN x int;\nCREATE TABEL nope (id int);\n"
    )
    with pytest.raises(MigrationFileError) as caught:
        runner.up(db_url, migrations_dir)
    assert str(caught.value).startswith(f"{NEXT}-broken.sql:4: syntax error")
    assert "ok_table" not in tables(db_url)
    assert len(history(db_url)) == LATEST


def test_runtime_error_rolls_back_the_whole_migration(db_url: str, migrations_dir: Path) -> None:
    (migrations_dir / f"{NEXT}-bad.sql").write_text(
        "CREATE TABLE ok_table (id int);\nINSERT INTO ok_table VALUES (1);\n\nSELECT no_such_column\n  FROM products;\n"
        "-- ROLLBACK\nDROP TABLE ok_table;\n"
    )
    (migrations_dir / f"{LATEST + 2:03d}-later.sql").write_text(
        "CREATE TABLE later (id int);\n-- ROLLBACK\nDROP TABLE later;\n"
    )
    with pytest.raises(MigrationFailed) as caught:
        runner.up(db_url, migrations_dir)
    assert str(caught.value).startswith(f'{NEXT}-bad.sql:4: column "no_such_column" does not exist (SQLSTATE 42703)')
    assert {"ok_table", "later"} & tables(db_url) == set()
    assert len(history(db_url)) == LATEST


def test_error_in_the_rollback_section_names_its_line(db_url: str, migrations_dir: Path) -> None:
    (migrations_dir / f"{NEXT}-x.sql").write_text(
        "CREATE TABLE x (id int);\n-- ROLLBACK\nDROP TABLE x;\nDROP TABLE nope;\n"
    )
    runner.up(db_url, migrations_dir)
    with pytest.raises(MigrationFailed, match=rf"^{NEXT}-x.sql:4: table \"nope\" does not exist"):
        runner.down(db_url, 1, migrations_dir)
    assert "x" in tables(db_url)
    assert history(db_url)[-1] == (LATEST + 1, "applied")


def test_edited_applied_migration_is_refused(db_url: str, migrations_dir: Path) -> None:
    path = migrations_dir / "004-create-products.sql"
    path.write_text(path.read_text().replace("CREATE INDEX idx_products_category", "CREATE INDEX idx_products_cat"))
    (migrations_dir / f"{NEXT}-x.sql").write_text("CREATE TABLE x (id int);\n")
    with pytest.raises(ChecksumMismatchError, match="^004-create-products.sql: changed since it was applied"):
        runner.up(db_url, migrations_dir)
    with pytest.raises(ChecksumMismatchError):
        runner.down(db_url, 1, migrations_dir)
    assert "x" not in tables(db_url)


def test_line_ending_changes_are_not_edits(db_url: str, migrations_dir: Path) -> None:
    path = migrations_dir / "004-create-products.sql"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert {r.state for r in runner.status(db_url, migrations_dir)} == {"applied"}


def test_missing_applied_migration_is_refused(db_url: str, migrations_dir: Path) -> None:
    (migrations_dir / "012-create-functions-triggers.sql").unlink()
    with pytest.raises(MissingMigrationError, match="^012-create-functions-triggers.sql: applied"):
        runner.up(db_url, migrations_dir)
    assert [r.state for r in runner.status(db_url, migrations_dir) if r.version == 12] == ["missing"]


def test_down_refuses_a_migration_without_rollback_before_changing_anything(db_url: str, migrations_dir: Path) -> None:
    # `up` refuses a pending file with no rollback (test_config.py): this one lost its rollback
    # after it was applied. Its up part is the same, so it stays applied, judged by its history.
    one_way = migrations_dir / f"{NEXT}-one-way.sql"
    one_way.write_text("CREATE TABLE one_way (id int);\n-- ROLLBACK\nDROP TABLE one_way;\n")
    (migrations_dir / f"{LATEST + 2:03d}-two-way.sql").write_text(
        "CREATE TABLE two_way (id int);\n-- ROLLBACK\nDROP TABLE two_way;\n"
    )
    runner.up(db_url, migrations_dir)
    one_way.write_text("CREATE TABLE one_way (id int);")
    with pytest.raises(NoRollbackError, match=f"{NEXT}-one-way.sql"):
        runner.down(db_url, 2, migrations_dir)
    assert {"one_way", "two_way"} <= tables(db_url)  # the newest was not rolled back either
    assert len(history(db_url)) == LATEST + 2


def test_concurrently_in_a_transactional_migration_is_refused(db_url: str, migrations_dir: Path) -> None:
    (migrations_dir / f"{NEXT}-idx.sql").write_text(
        "CREATE TABLE t (a int);\n\nCREATE INDEX CONCURRENTLY t_a ON t (a);\n"
    )
    with pytest.raises(MigrationFileError, match=rf"^{NEXT}-idx.sql:3: .*'-- socialdb: transaction=off'"):
        runner.up(db_url, migrations_dir)
    assert "t" not in tables(db_url)


def test_concurrently_in_a_transactional_rollback_is_refused_by_up(db_url: str, migrations_dir: Path) -> None:
    (migrations_dir / f"{NEXT}-idx.sql").write_text(
        "CREATE INDEX t_a ON products (sku);\n-- ROLLBACK\n\nDROP INDEX CONCURRENTLY t_a;\n"
    )
    with pytest.raises(MigrationFileError, match=rf"^{NEXT}-idx.sql:4: .*'-- socialdb: transaction=off'"):
        runner.up(db_url, migrations_dir)
    assert len(history(db_url)) == LATEST


def test_the_spec_runner_bug_is_gone(db_url: str, migrations_dir: Path) -> None:
    # The spec's runner executed the whole file on `up`, ROLLBACK section included.
    (migrations_dir / f"{NEXT}-x.sql").write_text("CREATE TABLE x (id int);\n-- ROLLBACK\nDROP TABLE x;\n")
    runner.up(db_url, migrations_dir)
    assert "x" in tables(db_url)


def test_up_to_and_down_to_a_version(db_url: str) -> None:
    lines: list[str] = []
    reported: list[events.Event] = []
    done = runner.down(db_url, to=LATEST - 2, report=reported.append)
    assert [o.migration.version for o in done] == [LATEST, LATEST - 1]  # LATEST - 2 stays applied
    assert [(type(e), e.version) for e in reported] == [
        (events.RollingBack, LATEST),
        (events.RolledBack, LATEST),
        (events.RollingBack, LATEST - 1),
        (events.RolledBack, LATEST - 1),
    ]
    assert [(e.index, e.total) for e in reported if isinstance(e, events.RollingBack)] == [(1, 2), (2, 2)]
    newest = done[0].migration.filename
    assert str(reported[0]) == f"rolling back {newest}" and str(reported[1]).startswith(f"rolled back {newest} in ")
    assert history(db_url)[-1] == (LATEST - 2, "applied")
    assert [o.migration.version for o in runner.up(db_url, to=LATEST - 1)] == [LATEST - 1]
    assert history(db_url)[-1] == (LATEST - 1, "applied")
    assert runner.up(db_url, to=LATEST - 1, report=as_lines(lines.append)) == []
    assert lines[-1] == f"nothing to apply: the database is up to date up to version {LATEST - 1}"
    assert runner.down(db_url, to=LATEST, report=as_lines(lines.append)) == []  # newer than everything applied
    assert lines[-1] == f"nothing to roll back: no applied migration is newer than version {LATEST}"
    assert len(history(db_url)) == LATEST - 1


def test_a_target_version_that_names_no_file_is_refused(db_url: str) -> None:
    for call in (lambda: runner.up(db_url, to=LATEST + 5), lambda: runner.down(db_url, to=LATEST + 5)):
        with pytest.raises(UsageError, match=f"--to {LATEST + 5}: no migration file has this version"):
            call()
    with pytest.raises(UsageError, match="not both"):
        runner.down(db_url, 2, to=1)
    assert len(history(db_url)) == LATEST


def test_down_refuses_an_irreversible_migration_before_changing_anything(db_url: str, migrations_dir: Path) -> None:
    (migrations_dir / f"{NEXT}-one-way.sql").write_text("-- socialdb: rollback=none\nCREATE TABLE one_way (id int);\n")
    (migrations_dir / f"{LATEST + 2:03d}-two-way.sql").write_text(
        "CREATE TABLE two_way (id int);\n-- ROLLBACK\nDROP TABLE two_way;\n"
    )
    runner.up(db_url, migrations_dir)
    for call in (
        lambda: runner.down(db_url, 2, migrations_dir),
        lambda: runner.down(db_url, None, migrations_dir, to=1),
    ):
        with pytest.raises(NoRollbackError, match=f"^{NEXT}-one-way.sql: irreversible .*rollback=none"):
            call()
    assert {"one_way", "two_way"} <= tables(db_url)
    assert len(history(db_url)) == LATEST + 2
    assert [o.migration.version for o in runner.down(db_url, 1, migrations_dir)] == [LATEST + 2]  # the newer one may go


def test_an_empty_rollback_is_refused_before_up_runs_anything(db_url: str, migrations_dir: Path) -> None:
    # It used to be applied, and `down` then reported a rollback it did not do and deleted the history row.
    (migrations_dir / f"{NEXT}-x.sql").write_text("CREATE TABLE x (id int);\n\n-- ROLLBACK\n-- todo\n")
    with pytest.raises(MigrationFileError, match=f"^{NEXT}-x.sql:3: '-- ROLLBACK' is followed by no SQL statement"):
        runner.up(db_url, migrations_dir)
    unreadable = [r for r in runner.status(db_url, migrations_dir) if r.state == "unreadable"]
    assert [r.file for r in unreadable] == [f"{NEXT}-x.sql"]  # status shows it, and the rest (issue 24)
    assert str(unreadable[0].detail).startswith("line 3: '-- ROLLBACK' is followed by no SQL statement")
    assert "x" not in tables(db_url) and len(history(db_url)) == LATEST


def test_a_syntax_error_in_the_rollback_is_found_by_up(db_url: str, migrations_dir: Path) -> None:
    (migrations_dir / f"{NEXT}-x.sql").write_text("CREATE TABLE x (id int);\n-- ROLLBACK\nDROP TABEL x;\n")
    with pytest.raises(MigrationFileError, match=f"^{NEXT}-x.sql:3: syntax error"):
        runner.up(db_url, migrations_dir)
    assert "x" not in tables(db_url) and len(history(db_url)) == LATEST


def test_down_refuses_when_an_applied_file_is_missing(db_url: str, migrations_dir: Path) -> None:
    (migrations_dir / "003-create-oauth-tokens.sql").unlink()
    before = snapshot(db_url)
    with pytest.raises(MissingMigrationError, match="^003-create-oauth-tokens.sql: applied .* the file is missing"):
        runner.down(db_url, 1, migrations_dir)
    with pytest.raises(MissingMigrationError, match="^003-create-oauth-tokens.sql"):
        runner.down(db_url, None, migrations_dir, to=LATEST - 1)
    assert snapshot(db_url) == before and len(history(db_url)) == LATEST


def test_timestamp_versions_are_applied_recorded_and_rolled_back(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", STAMPED)
    assert [o.migration.version for o in runner.up(empty_db_url, folder)] == [20250801120000, 20250802093000]
    assert history(empty_db_url) == [(20250801120000, "applied"), (20250802093000, "applied")]
    assert [(r.version, r.state) for r in runner.status(empty_db_url, folder)][-1] == (20250802093000, "applied")
    runner.down(empty_db_url, None, folder, to=20250801120000)
    assert tables(empty_db_url) == {"migrations", "a"}


def test_a_history_table_from_before_64_bit_versions_is_upgraded(empty_db_url: str, tmp_path: Path) -> None:
    # A database migrated by a release before issue 11: its history table says `version integer`.
    new_ddl = history_table.ddl()
    old_ddl = new_ddl.replace("version bigint NOT NULL UNIQUE", "version integer NOT NULL UNIQUE")
    assert old_ddl != new_ddl
    first = "CREATE TABLE t (id int);\n-- ROLLBACK\nDROP TABLE t;\n"
    folder = write_migrations(tmp_path / "m", {"001-create-t.sql": first, **STAMPED})
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(old_ddl.encode())
        conn.execute("CREATE TABLE t (id int)")
        conn.execute(
            "INSERT INTO migrations (version, name, file, checksum, execution_ms) VALUES (1, 'create-t', %s, %s, 3)",
            ("001-create-t.sql", checksum(first)),
        )
    assert version_type(empty_db_url) == "integer"
    lines: list[str] = []
    done = runner.up(empty_db_url, folder, report=as_lines(lines.append))
    assert lines[0] == "upgraded the history table: migrations.version is now bigint (64-bit versions)"
    assert [o.migration.version for o in done] == [20250801120000, 20250802093000]
    assert history(empty_db_url) == [(1, "applied"), (20250801120000, "applied"), (20250802093000, "applied")]
    assert version_type(empty_db_url) == "bigint"
    lines.clear()
    runner.up(empty_db_url, folder, report=as_lines(lines.append))
    assert lines == ["nothing to apply: the database is up to date"]  # upgraded once
    assert [o.migration.version for o in runner.down(empty_db_url, 3, folder)] == [20250802093000, 20250801120000, 1]


def version_type(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'migrations'::regclass AND attname = 'version'"
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_a_bad_lock_mode_reaching_the_library_is_a_usage_error(db_url: str) -> None:
    bogus = RunOptions(lock_mode="bogus")
    for call in (
        lambda: runner.up(db_url, options=bogus),
        lambda: runner.down(db_url, 1, options=bogus),
        lambda: runner.resolve(db_url, 1, "retry", options=bogus),
    ):
        with pytest.raises(UsageError, match="^lock mode 'bogus': use advisory or table$"):
            call()
    assert len(history(db_url)) == LATEST


def test_a_database_migrated_before_the_regroup_shows_every_migration_applied(empty_db_url: str) -> None:
    """The migrations moved to socialdb/migrate/migrations byte for byte: the history rows a
    database got before the move (tests/fixtures) still match every file."""
    recorded = json.loads((Path(__file__).parent / "fixtures" / "history-before-regroup.json").read_text())
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        history_table.ensure_table(conn)
        for row in recorded:
            conn.execute(
                "INSERT INTO migrations (version, name, file, checksum, execution_ms) VALUES (%s, %s, %s, %s, 1)",
                (row["version"], row["file"].split("-", 1)[1].removesuffix(".sql"), row["file"], row["checksum"]),
            )
    states = {row.version: row.state for row in runner.status(empty_db_url)}
    assert {v: states[v] for v in (r["version"] for r in recorded)} == {r["version"]: "applied" for r in recorded}
