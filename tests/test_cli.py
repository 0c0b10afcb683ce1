"""The CLI, in-process (Typer's runner): exit codes and output."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from socialdb.cli import app
from socialdb.migrate import runner as library
from tests.helpers import LATEST, NEXT, history, write_migrations

cli = CliRunner()


def run(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args), env={"DATABASE_URL": None, "SOCIALDB_DEBUG": "", **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def test_up_prints_each_migration_with_its_duration(empty_db_url: str) -> None:
    code, out, err = run("migrate", "up", "--database-url", empty_db_url)
    assert (code, err) == (0, "")
    applied = [line for line in out.splitlines() if line.startswith("applied ")]
    assert len(applied) == LATEST
    assert applied[0].startswith("applied 001-create-users-table.sql in ") and applied[0].endswith(" ms")
    assert re.fullmatch(rf"{LATEST} migration\(s\) applied in \d+\.\d s", out.splitlines()[-1])  # the summary


def test_status_table(db_url: str) -> None:
    code, out, _ = run("migrate", "status", "--database-url", db_url)
    assert code == 0
    rows = [line for line in out.splitlines() if line.rstrip(" │").endswith("applied")]
    assert len(rows) == LATEST and f"{LATEST:03d}" in rows[-1]


def test_down_defaults_to_one(db_url: str) -> None:
    code, out, _ = run("migrate", "down", "--database-url", db_url)
    assert code == 0 and f"rolled back {LATEST:03d}-" in out
    code, out, _ = run("migrate", "status", "--database-url", db_url)
    assert "pending" in [line.split("│")[-2].strip() for line in out.splitlines() if f"{LATEST:03d}" in line]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("frobnicate",), "No such command 'frobnicate'."),
        (("migrate", "sideways"), "No such command 'sideways'."),
        (("migrate", "down", "0"), "Invalid value for 'steps': 0 is not in the range x>=1."),
        (("migrate", "up", "--lock-timeout", "soon"), "--lock-timeout: invalid duration 'soon'"),
        (("migrate", "up", "--lock-timeout", ""), "--lock-timeout: invalid duration ''"),
        (("migrate", "down", "--lock-wait", ""), "--lock-wait: invalid duration ''"),
        (("migrate", "resolve", "2", "--retry", "--statement-timeout", ""), "--statement-timeout: invalid duration ''"),
        (("migrate", "up", "--lock-mode", "bogus"), "Invalid value for '--lock-mode': "),
        (("migrate", "status", "--lock-mode", "table"), "No such option: --lock-mode"),
        (("migrate", "down", "2", "--to", "1"), "Invalid value: give N or --to V, not both"),
        (("migrate", "up", "--database-url", ""), "--database-url is empty: give a URL"),
        (("migrate", "status", "--database-url", " "), "--database-url is empty: give a URL"),
        (("db", "url", "--database-url", ""), "--database-url is empty: give a URL"),
        (("migrate", "status", "--dir", ""), "Invalid value for '--dir': empty: give a folder of migrations"),
        (("migrate", "new", "x", "--dir", ""), "Invalid value for '--dir': empty: give a folder of migrations"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: tuple[str, ...], message: str) -> None:
    code, _, err = run(*args)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {message}"), err
    assert "Traceback" not in err and "Usage:" not in err


@pytest.mark.parametrize("command", [("migrate", "up"), ("migrate", "status"), ("db", "url"), ("seed",)])
def test_an_empty_database_url_variable_never_falls_back(command: tuple[str, ...], tmp_path: Path) -> None:
    # A deploy script with an unset variable must not migrate the embedded server (or anything else).
    home = tmp_path / "home"
    code, out, err = run(*command, env={"DATABASE_URL": "", "SOCIALDB_HOME": str(home)})
    assert (code, out) == (2, "")
    assert err == "error: DATABASE_URL is set but empty: give it a URL, or unset it to use the embedded server\n"
    assert not home.exists()  # no embedded server was started
    code, _, err = run(*command, env={"SOCIALDB_HOME": ""})
    assert code == 2 and err.startswith("error: SOCIALDB_HOME is set but empty")


def test_up_to_and_down_to(db_url: str) -> None:
    code, out, err = run("migrate", "down", "--to", str(LATEST - 2), "--database-url", db_url)
    assert (code, err) == (0, "")
    rolled_back = [line.split()[2][:4] for line in out.splitlines() if line.startswith("rolled back ")]
    assert rolled_back == [f"{LATEST:03d}-", f"{LATEST - 1:03d}-"]  # LATEST - 2 stays applied
    assert out.splitlines()[-1] == "2 migration(s) rolled back"
    code, out, _ = run("migrate", "up", "--to", str(LATEST - 1), "--database-url", db_url)
    assert code == 0 and re.fullmatch(r"1 migration\(s\) applied in \d+\.\d s", out.splitlines()[-1])
    code, out, _ = run("migrate", "down", "--to", str(LATEST), "--database-url", db_url)
    assert code == 0
    assert out.splitlines() == [
        f"nothing to roll back: no applied migration is newer than version {LATEST}",
        "0 migration(s) rolled back",
    ]


@pytest.mark.parametrize("command", ["up", "down"])
def test_a_target_that_names_no_file_is_a_usage_error(db_url: str, command: str) -> None:
    code, _, err = run("migrate", command, "--to", str(LATEST + 7), "--database-url", db_url)
    assert code == 2
    assert err == f"error: --to {LATEST + 7}: no migration file has this version (versions run from 1 to {LATEST})\n"


def test_status_shows_timestamp_versions_whole(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "20250801120000-create-a.sql").write_text("CREATE TABLE a (id int);\n-- ROLLBACK\nDROP TABLE a;\n")
    assert run("migrate", "up", "--database-url", empty_db_url, "--dir", str(folder))[0] == 0
    code, out, _ = run("migrate", "new", "add-b", "--dir", str(folder))
    assert code == 0 and len(Path(out.strip()).name.split("-")[0]) == 14
    code, out, _ = run("migrate", "status", "--database-url", empty_db_url, "--dir", str(folder))
    assert code == 0
    rows = [line for line in out.splitlines() if "20250801120000" in line or "add-b" in line]
    assert "applied" in rows[0] and "create-a" in rows[0] and "pending" in rows[1]


def test_rolling_back_more_than_applied_is_a_usage_error(db_url: str) -> None:
    code, _, err = run("migrate", "down", str(LATEST + 1), "--database-url", db_url)
    assert code == 2 and f"only {LATEST} applied" in err


def test_malformed_url_is_masked(tmp_path: Path) -> None:
    code, out, err = run("migrate", "up", "--database-url", "postgresql://app:hunter2@db:notaport/x")
    assert code == 2
    assert "hunter2" not in out + err
    assert (
        err.strip()
        == "error: invalid database URL postgresql://app:***@db:notaport/x: port 'notaport' is not a number from 1 to 65535"
    )


def test_unreachable_url_is_one_masked_line() -> None:
    code, out, err = run("migrate", "status", env={"DATABASE_URL": "postgresql://app:hunter2@127.0.0.1:1/x"})
    assert code == 1
    assert "hunter2" not in out + err
    assert err.startswith("error: cannot connect to postgresql://app:***@127.0.0.1:1/x:")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_failed_migration_is_one_line_without_traceback(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(library.default_directory(), folder)
    (folder / f"{NEXT}-broken.sql").write_text("CREATE TABLE a (id int);\nSELECT 1/0;\n-- ROLLBACK\nDROP TABLE a;\n")
    code, _, err = run("migrate", "up", "--database-url", db_url, "--dir", str(folder))
    assert code == 1
    assert err.strip().splitlines() == [f"error: {NEXT}-broken.sql:2: division by zero (SQLSTATE 22012)"]
    result = cli.invoke(app, ["migrate", "up", "--database-url", db_url, "--dir", str(folder), "--debug"])
    assert result.exit_code == 1 and isinstance(result.exception, Exception)
    assert type(result.exception).__name__ == "MigrationFailed"


def test_edited_migration_names_the_file(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(library.default_directory(), folder)
    path = folder / "002-create-client-accounts.sql"
    # In the up part: a harmless comment is still an edit (a rollback part may be corrected:
    # tests/test_history_split.py).
    path.write_text("-- a harmless comment is still an edit\n" + path.read_text())
    code, _, err = run("migrate", "up", "--database-url", db_url, "--dir", str(folder))
    assert code == 1 and err.startswith("error: 002-create-client-accounts.sql: changed since it was applied")


def test_seed_twice_gives_twenty_products_and_a_real_hash(db_url: str) -> None:
    from argon2 import PasswordHasher

    assert run("seed", "--database-url", db_url)[0] == 0
    code, out, _ = run("seed", "--database-url", db_url)
    assert code == 0 and "0 product(s) created" in out
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM products").fetchone() == (20,)
        row = conn.execute("SELECT password_hash FROM users WHERE email = 'demo@socialselling.com'").fetchone()
    assert row is not None and row[0].startswith("$argon2id$")
    assert PasswordHasher().verify(row[0], "Demo123!")


def test_seed_refuses_production(db_url: str) -> None:
    code, _, err = run("seed", "--database-url", db_url, env={"SOCIALDB_ENV": "production"})
    assert code == 1 and "SOCIALDB_ENV=production" in err
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_seed_on_an_unmigrated_database_says_what_to_do(empty_db_url: str) -> None:
    code, _, err = run("seed", "--database-url", empty_db_url)
    assert code == 1 and "run `socialdb migrate up` first" in err


def test_db_url_masks_the_password() -> None:
    code, out, _ = run("db", "url", "--database-url", "postgresql://app:hunter2@db.internal:6432/social")
    assert (code, out.strip()) == (0, "postgresql://app:***@db.internal:6432/social")


def test_an_unexpected_error_is_still_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise ValueError("boom\nsecond line")

    monkeypatch.setattr(library, "status", broken)
    code, _, err = run("migrate", "status", "--database-url", "postgresql://app:hunter2@db/x")
    assert code == 1
    assert err.strip().splitlines() == ["error: unexpected ValueError: boom (rerun with --debug for the traceback)"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["schema", "docs", "--out", ""], "Invalid value for '--out': empty"),
        (["schema", "docs", "--check", "--database-url", ""], "--database-url is empty"),  # the default --out parses
        (["migrate", "plan", "missing.sql"], "Invalid value for 'files': File 'missing.sql' does not exist."),
        (["migrate", "plan", "."], "Invalid value for 'files': File '.' is a directory."),
        (
            ["schema", "diff", "--scratch-url", "", "--database-url", "postgresql://u:s3cret@127.0.0.1:1/x"],
            "--scratch-url is empty",
        ),
    ],
)
def test_empty_or_missing_paths_are_usage_errors_naming_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)  # `--out ""` once meant this folder: nothing may be written here
    result = CliRunner().invoke(app, args, env={"DATABASE_URL": None})
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert "s3cret" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_shell_completion_is_offered() -> None:
    result = CliRunner().invoke(app, ["--show-completion", "bash"], prog_name="socialdb")
    assert result.exit_code == 0, result.output
    assert "_socialdb_completion" in result.stdout and "complete " in result.stdout


def test_an_unedited_template_is_refused_before_anything_runs(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "001-create-a.sql").write_text("CREATE TABLE a (id int);\n-- ROLLBACK\nDROP TABLE a;\n")
    code, out, _ = run("migrate", "new", "add-b", "--dir", str(folder))
    assert code == 0
    code, _, err = run("migrate", "up", "--database-url", empty_db_url, "--dir", str(folder))
    assert code == 1 and err.strip() == "error: 002-add-b.sql:5: still `migrate new`'s template: write the change"
    assert history(empty_db_url) == []  # 001 did not run either
    path = Path(out.strip())
    path.write_text(path.read_text().replace("SELECT 'replace this statement with the change' AS todo;", "SELECT 1;"))
    assert run("migrate", "up", "--database-url", empty_db_url, "--dir", str(folder))[0] == 0


def test_status_shows_an_unreadable_file_and_every_other(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "001-a.sql").write_text("CREATE TABLE a (id int);\n-- ROLLBACK\nDROP TABLE a;\n")
    assert run("migrate", "up", "--database-url", empty_db_url, "--dir", str(folder))[0] == 0
    (folder / "002-b.sql").write_text("CREATE TABEL b (id int);\n-- ROLLBACK\nDROP TABLE b;\n")
    (folder / "003-c.sql").write_text("CREATE TABLE c (id int);\n-- ROLLBACK\nDROP TABLE c;\n")
    code, out, _ = run("migrate", "status", "--database-url", empty_db_url, "--dir", str(folder))
    assert code == 0
    states = {line.split("│")[2].strip(): line.split("│")[5].strip() for line in out.splitlines() if "│ 00" in line}
    assert states == {"a": "applied", "b": "unreadable", "c": "pending"}
    assert '002-b.sql: line 1: syntax error: syntax error at or near "TABEL"' in out
    (folder / "001-a.sql").write_text("CREATE TABEL a (id int);\n")  # an applied file broken since
    code, out, _ = run("migrate", "status", "--database-url", empty_db_url, "--dir", str(folder))
    assert "│ 001     │ a" in out and "missing" not in out


# -- status and plan as data (issue 13) --

THREE_FILES = {
    "001-a.sql": "CREATE TABLE a (id int);\n-- ROLLBACK\nDROP TABLE a;\n",
    "002-b.sql": "CREATE TABLE b (id int);\n-- ROLLBACK\nDROP TABLE b;\n",
    "003-c.sql": "CREATE TABLE c (id int);\n-- ROLLBACK\nDROP TABLE c;\n",
}


def test_status_as_json(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", THREE_FILES)
    library.up(empty_db_url, folder, to=2)
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
    folder = write_migrations(tmp_path / "m", THREE_FILES)
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
