"""`migrate verify`: the gate for CI (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from typer.testing import CliRunner

from socialdb.cli import app
from socialdb.migrate import runner
from tests.helpers import write_migrations

FILES = {
    "001-a.sql": "CREATE TABLE a (id int);\n-- ROLLBACK\nDROP TABLE a;\n",
    "002-b.sql": "CREATE TABLE b (id int);\n-- ROLLBACK\nDROP TABLE b;\n",
    "003-c.sql": "CREATE TABLE c (id int);\n-- ROLLBACK\nDROP TABLE c;\n",
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"DATABASE_URL": None, "SOCIALDB_DEBUG": ""})
    return result.exit_code, result.stdout, result.stderr


def verify(url: str, folder: Path, *extra: str) -> tuple[int, str, str]:
    return run("migrate", "verify", "--database-url", url, "--dir", str(folder), *extra)


def test_verify_is_silent_when_files_and_history_agree(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", FILES)
    assert verify(empty_db_url, folder) == (0, "", "")  # never migrated: all pending, in order
    runner.up(empty_db_url, folder, to=2)
    assert verify(empty_db_url, folder) == (0, "", "")
    code, out, err = verify(empty_db_url, folder, "--format", "json")
    assert (code, json.loads(out), err) == (0, {"ok": True, "problems": []}, "")


def test_verify_never_creates_the_history_table(empty_db_url: str, tmp_path: Path) -> None:
    verify(empty_db_url, write_migrations(tmp_path / "m", FILES))
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('migrations')").fetchone() == (None,)


def test_verify_fails_on_a_changed_a_missing_and_an_out_of_order_file(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", {k: v for k, v in FILES.items() if k != "002-b.sql"})
    runner.up(empty_db_url, folder)
    write_migrations(folder, {"002-b.sql": FILES["002-b.sql"]})  # pending, below the newest applied
    (folder / "001-a.sql").write_text("-- edited\n" + FILES["001-a.sql"])  # the up part: history
    (folder / "003-c.sql").unlink()
    code, out, err = verify(empty_db_url, folder)
    assert code == 1
    assert out.splitlines() == [
        "001-a.sql: changed: edited since it was applied",
        "002-b.sql: out-of-order: pending, but version 3 is already applied",
        "003-c.sql: missing: applied, but the file is gone",
    ]
    assert err == "error: 3 migration file(s) disagree with the database's history\n"
    code, out, _ = verify(empty_db_url, folder, "--format", "json")
    assert code == 1
    assert json.loads(out) == {
        "ok": False,
        "problems": [
            {"version": 1, "file": "001-a.sql", "state": "changed", "detail": "edited since it was applied"},
            {
                "version": 2,
                "file": "002-b.sql",
                "state": "out-of-order",
                "detail": "pending, but version 3 is already applied",
            },
            {"version": 3, "file": "003-c.sql", "state": "missing", "detail": "applied, but the file is gone"},
        ],
    }


def test_verify_fails_on_a_migration_that_failed_midway(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", FILES)
    runner.up(empty_db_url, folder)
    with psycopg.connect(empty_db_url) as conn:
        conn.execute("UPDATE migrations SET state = 'failed', error = 'boom' WHERE version = 3")
    code, out, _ = verify(empty_db_url, folder)
    assert (code, out) == (1, "003-c.sql: failed: failed midway: boom\n")


def test_verify_reports_an_unreadable_file_like_every_command(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", {**FILES, "004-d.sql": "CREATE TABLE (;\n"})
    code, out, err = verify(empty_db_url, folder)
    assert (code, out) == (1, "")
    assert err.startswith("error: 004-d.sql:1: syntax error") and len(err.splitlines()) == 1
