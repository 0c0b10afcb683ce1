"""`migrate verify` and `migrate status --format json`: gates for CI (issue 13)."""

from __future__ import annotations

import json
from datetime import datetime
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


def test_status_as_json(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", FILES)
    runner.up(empty_db_url, folder, to=2)
    code, out, err = run("migrate", "status", "--database-url", empty_db_url, "--dir", str(folder), "--format", "json")
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert [(r["version"], r["name"], r["file"], r["state"]) for r in rows] == [
        (1, "a", "001-a.sql", "applied"),
        (2, "b", "002-b.sql", "applied"),
        (3, "c", "003-c.sql", "pending"),
    ]
    assert datetime.fromisoformat(rows[0]["executed_at"]).utcoffset() is not None
    assert isinstance(rows[0]["execution_ms"], int) and rows[0]["detail"] is None
    assert (rows[2]["executed_at"], rows[2]["execution_ms"]) == (None, None)


def test_plan_of_a_given_file_and_offline(tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", FILES)
    extra = write_migrations(
        tmp_path / "x", {"009-x.sql": "ALTER TABLE a ADD COLUMN b uuid DEFAULT gen_random_uuid();\n"}
    )
    code, out, err = run(
        "migrate", "plan", "--offline", "--dir", str(folder), str(extra / "009-x.sql"), "--format", "json"
    )
    assert (code, err) == (0, "")
    plan = json.loads(out)
    assert (plan["database"], plan["server_version"]) == (False, 180000)
    [migration] = plan["migrations"]
    [statement] = migration["statements"]
    [relation] = statement["relations"]
    assert (relation["name"], relation["levels"], relation["effect"], relation["blocks"]) == (
        "public.a",
        ["ACCESS EXCLUSIVE", "SHARE"],
        "rewrite",
        "reads and writes",
    )
    code, out, _ = run(
        "migrate", "plan", "--offline", "--dir", str(folder), "--server-version", "15", "--format", "markdown"
    )
    assert code == 0 and out.startswith("Plan for PostgreSQL 15 (no database)\n")
    assert "**003-c.sql: one transaction; lock_timeout 1s, statement_timeout off**" in out
