"""Any team's migrations (issue 24): configuration and its precedence, another history table,
`init`, `repair`, `baseline`, `--allow-out-of-order`, `db create`, files with no rollback part,
and a no-op `up` that parses nothing."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from socialdb import config
from socialdb.cli import app
from socialdb.db import database_of, with_database
from socialdb.errors import (
    BaselineError,
    ConfigError,
    MigrationFileError,
    OutOfOrderError,
    RepairError,
    RunnerLockTimeout,
    SocialdbError,
    UsageError,
)
from socialdb.migrate import runner
from socialdb.migrate.lease import LOCK_KEY
from socialdb.scripts.events import as_lines
from socialdb.scripts.files import default_directory
from socialdb.scripts.options import HistoryTable, LockMode, RunOptions
from tests.helpers import join, tables, write_migrations

cli = CliRunner()
ACCOUNTS = "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n-- ROLLBACK\nDROP TABLE accounts;\n"
ORDERS = "CREATE TABLE orders (id bigint PRIMARY KEY);\n-- ROLLBACK\nDROP TABLE orders;\n"
NOTES = "CREATE TABLE notes (id bigint PRIMARY KEY);\n-- ROLLBACK\nDROP TABLE notes;\n"


def run(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args), env={"DATABASE_URL": None, "SOCIALDB_DEBUG": "", **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def rows(url: str, table: str = "migrations", schema: str | None = None) -> list[tuple[int, str]]:
    name = psycopg.sql.Identifier(table) if schema is None else psycopg.sql.Identifier(schema, table)
    with psycopg.connect(url) as conn:
        query = psycopg.sql.SQL("SELECT version, checksum FROM {} ORDER BY version").format(name)
        return [(int(v), str(c)) for v, c in conn.execute(query).fetchall()]


# -- precedence: defaults < config file < environment < flags -------------------------------


def test_precedence_file_then_environment_then_flag(tmp_path: Path) -> None:
    (tmp_path / "socialdb.toml").write_text('migrations_dir = "db/m"\nlock_timeout = "3s"\nlock_wait = "5s"\n')
    env = {"SOCIALDB_LOCK_TIMEOUT": "2s", "SOCIALDB_MIGRATIONS_DIR": "env-m"}
    from_file = config.resolve({}, {}, tmp_path)
    assert (from_file.directory, from_file.options.lock_timeout_ms) == (tmp_path / "db/m", 3000)
    from_env = config.resolve({}, env, tmp_path)
    assert (from_env.directory, from_env.options.lock_timeout_ms) == (tmp_path / "env-m", 2000)
    assert from_env.options.lock_wait_s == 5  # the file's, where the environment says nothing
    flagged = config.resolve({"lock_timeout": "1500ms", "migrations_dir": "flag-m"}, env, tmp_path)
    assert (flagged.directory, flagged.options.lock_timeout_ms) == (tmp_path / "flag-m", 1500)


def test_pyproject_table_is_found_from_a_subfolder_and_paths_are_the_files(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "shop"\n[tool.socialdb]\nhistory_table = "schema_history"\nlock_mode = "table"\n'
    )
    (tmp_path / "src").mkdir()
    found = config.resolve({}, {}, tmp_path / "src")
    assert found.config_file == tmp_path / "pyproject.toml"
    assert found.directory == tmp_path / "migrations"  # no migrations_dir: `migrations` beside the file
    assert (found.history, found.options.lock_mode) == (HistoryTable("schema_history"), LockMode.TABLE)
    assert not found.platform


def test_no_config_means_the_platforms_own_folder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n')  # the project's root: the search ends
    assert config.resolve({}, {}, tmp_path).platform
    assert config.resolve({}, {}, tmp_path).directory == default_directory()
    # This repository's own pyproject.toml has no [tool.socialdb]: the platform's folder stays its default.
    assert config.resolve({}, {}, Path(__file__).parent).platform


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('migration_dir = "m"\n', "unknown key 'migration_dir'"),
        ("lock_retries = '3'\n", "lock_retries must be a number"),
        ('lock_timeout = "soon"\n', "socialdb.toml: lock_timeout: invalid duration 'soon'"),
        ('lock_mode = "session"\n', "socialdb.toml: lock_mode: 'session': use advisory or table"),
        ("history_table = \n", "not valid TOML"),
        ('history_table = ""\n', "a name of 1 to 63 bytes"),
    ],
)
def test_a_bad_config_file_is_one_line_naming_it(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "socialdb.toml").write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        config.resolve({}, {}, tmp_path)


def test_bad_environment_values_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^SOCIALDB_LOCK_WAIT: invalid duration"):
        config.resolve({}, {"SOCIALDB_LOCK_WAIT": "forever"}, tmp_path)
    with pytest.raises(ConfigError, match="^SOCIALDB_MIGRATIONS_DIR is set but empty"):
        config.resolve({}, {"SOCIALDB_MIGRATIONS_DIR": " "}, tmp_path)
    with pytest.raises(ConfigError, match="SOCIALDB_LOCK_RETRIES='many': expected a whole number"):
        config.resolve({}, {"SOCIALDB_LOCK_RETRIES": "many"}, tmp_path)


def test_two_config_files_in_one_folder_are_refused(tmp_path: Path) -> None:
    (tmp_path / "socialdb.toml").write_text('migrations_dir = "m"\n')
    (tmp_path / "pyproject.toml").write_text('[tool.socialdb]\nmigrations_dir = "n"\n')
    with pytest.raises(ConfigError, match="both configure socialdb: keep one"):
        config.resolve({}, {}, tmp_path)


def test_another_history_table_with_the_platforms_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "socialdb.toml").write_text(f'migrations_dir = "{default_directory()}"\nhistory_table = "h"\n')
    with pytest.raises(ConfigError, match=r"socialdb.toml: history table h with the platform's own migrations"):
        config.resolve({}, {}, tmp_path)
    with pytest.raises(ConfigError, match="^SOCIALDB_HISTORY_SCHEMA: history table tools.migrations"):
        config.resolve({}, {"SOCIALDB_HISTORY_SCHEMA": "tools"}, Path(__file__).parent)
    with pytest.raises(ConfigError, match="platform's own migrations"):  # the library refuses it too
        runner.status("postgresql://nowhere/x", None, history=HistoryTable("h"))


def test_cli_reads_the_config_of_the_current_folder(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_migrations(tmp_path / "db", {"001-accounts.sql": ACCOUNTS})
    (tmp_path / "socialdb.toml").write_text('migrations_dir = "db"\nhistory_table = "Team History"\n')
    monkeypatch.chdir(tmp_path)
    code, out, err = run("migrate", "up", "--database-url", empty_db_url)
    assert (code, err) == (0, ""), err
    assert "applied 001-accounts.sql" in out
    assert [v for v, _ in rows(empty_db_url, "Team History")] == [1]
    assert "migrations" not in tables(empty_db_url)
    code, _, err = run("migrate", "status", "--database-url", empty_db_url, env={"SOCIALDB_LOCK_MODE": "x"})
    assert (code, err.strip()) == (2, "error: SOCIALDB_LOCK_MODE: 'x': use advisory or table")  # checked whole
    code, _, err = run("migrate", "up", "--database-url", empty_db_url, env={"SOCIALDB_LOCK_TIMEOUT": "soon"})
    assert code == 2 and err.startswith("error: SOCIALDB_LOCK_TIMEOUT: invalid duration 'soon'")
    code, _, err = run("migrate", "up", "--database-url", empty_db_url, "--dir", str(default_directory()))
    assert code == 2 and "history table Team History with the platform's own migrations" in err


def test_schema_diff_and_docs_follow_the_config_of_the_current_folder(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_migrations(tmp_path / "db", {"001-accounts.sql": ACCOUNTS, "002-orders.sql": ORDERS})
    (tmp_path / "socialdb.toml").write_text('migrations_dir = "db"\nhistory_table = "Team History"\n')
    monkeypatch.chdir(tmp_path)
    assert run("migrate", "up", "--database-url", empty_db_url)[0] == 0
    code, out, err = run("schema", "diff", "--database-url", empty_db_url)
    assert (code, err) == (0, ""), out + err  # the team's folder and history table, not the platform's
    assert "no drift: the database matches the migrations up to 002-orders.sql" in out
    _by_hand(empty_db_url, "ALTER TABLE orders ADD COLUMN note text")
    code, out, _ = run("schema", "diff", "--database-url", empty_db_url)
    assert code == 1 and "public.orders" in out and "Team History" not in out
    code, out, err = run("schema", "docs", "--database-url", empty_db_url, "--out", str(tmp_path / "docs"))
    assert code == 0, err
    written = (tmp_path / "docs" / "schema.sql").read_text()
    assert "CREATE TABLE public.orders" in written and "Team History" not in written


def test_schema_diff_sees_no_drift_in_a_history_kept_in_a_schema_of_its_own(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_migrations(tmp_path / "db", {"001-accounts.sql": ACCOUNTS})
    (tmp_path / "socialdb.toml").write_text('migrations_dir = "db"\nhistory_schema = "tool box"\n')
    # The runner keeps its history there, not makes it: made by hand, granted as its maker chose.
    _by_hand(empty_db_url, 'CREATE SCHEMA "tool box"; GRANT USAGE ON SCHEMA "tool box" TO PUBLIC')
    monkeypatch.chdir(tmp_path)
    assert run("migrate", "up", "--database-url", empty_db_url)[0] == 0
    code, out, err = run("schema", "diff", "--database-url", empty_db_url)
    assert (code, err) == (0, ""), out + err  # the scratch keeps its history there too: no "schema tool box"
    _by_hand(empty_db_url, 'CREATE TABLE "tool box".notes (id int)')
    code, out, _ = run("schema", "diff", "--database-url", empty_db_url)
    assert code == 1 and "tool box.notes" in out and "tool box.migrations" not in out


def test_a_hostile_history_name_is_an_identifier_not_sql(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", {"001-accounts.sql": ACCOUNTS, "002-orders.sql": ORDERS})
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute('CREATE SCHEMA "tool box"')
    table = HistoryTable('h"; DROP TABLE accounts; --', "tool box")
    runner.up(empty_db_url, folder, history=table)
    assert {"accounts", "orders"} <= tables(empty_db_url)
    assert [v for v, _ in rows(empty_db_url, table.name, table.schema)] == [1, 2]
    assert [r.state for r in runner.status(empty_db_url, folder, history=table)] == ["applied", "applied"]
    runner.down(empty_db_url, 1, folder, history=table)
    assert [v for v, _ in rows(empty_db_url, table.name, table.schema)] == [1]
    assert runner.status(empty_db_url, folder)[0].state == "pending"  # the default table knows nothing


# -- init -----------------------------------------------------------------------------------


def test_init_makes_a_project_whose_plain_first_migration_lints_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run("init")
    assert (code, err) == (0, ""), err
    assert (tmp_path / "socialdb.toml").is_file() and (tmp_path / "migrations/lint-waivers.toml").is_file()
    assert "reason" in (tmp_path / "migrations/lint-waivers.toml").read_text()
    assert not config.resolve({}, {}, tmp_path).platform
    (tmp_path / "migrations/001-create-accounts.sql").write_text(
        "CREATE TABLE accounts (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  email text NOT NULL\n);\n"
        "CREATE INDEX accounts_email ON accounts (email);\n-- ROLLBACK\nDROP TABLE accounts;\n"
    )
    code, out, err = run("lint")
    assert code == 0 and out.strip().splitlines()[-1].startswith("0 finding(s), "), out + err
    code, out, _ = run("migrate", "new", "add-orders")
    assert code == 0 and out.strip() == str(tmp_path / "migrations/002-add-orders.sql")
    code, _, err = run("init")
    assert (code, err.strip()) == (
        2,
        f"error: {tmp_path / 'socialdb.toml'} configures socialdb already: nothing written",
    )


# -- files with no rollback part ------------------------------------------------------------


def test_up_refuses_a_pending_file_with_no_rollback_before_any_change(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(
        tmp_path / "m", {"001-accounts.sql": ACCOUNTS, "002-orders.sql": "CREATE TABLE o (a int);\n"}
    )
    with pytest.raises(MigrationFileError, match=r"^002-orders.sql:1: no '-- ROLLBACK' part: .*rollback=none"):
        runner.up(empty_db_url, folder)
    assert tables(empty_db_url) == set()  # not even 001, nor the history table
    (folder / "002-orders.sql").write_text("-- socialdb: rollback=none\nCREATE TABLE o (a int);\n")
    assert len(runner.up(empty_db_url, folder)) == 2


# -- out of order -----------------------------------------------------------------------------


def test_out_of_order_is_refused_unless_allowed_and_status_and_plan_show_it(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", {"001-accounts.sql": ACCOUNTS, "003-notes.sql": NOTES})
    runner.up(empty_db_url, folder)
    write_migrations(folder, {"002-orders.sql": ORDERS})
    with pytest.raises(OutOfOrderError, match="002-orders.sql is pending but version 3.*--allow-out-of-order"):
        runner.up(empty_db_url, folder)
    late = [r for r in runner.status(empty_db_url, folder) if r.version == 2]
    assert late[0].state == "pending" and late[0].detail and late[0].detail.startswith("out of order")
    code, out, _ = run("migrate", "status", "--database-url", empty_db_url, "--dir", str(folder))
    assert code == 0 and "002-orders.sql: out of order: version 3 is applied" in out
    code, out, _ = run("migrate", "plan", "--allow-out-of-order", "--database-url", empty_db_url, "--dir", str(folder))
    assert code == 0 and "002-orders.sql runs out of order" in out
    code, _, err = run("migrate", "plan", "--database-url", empty_db_url, "--dir", str(folder))
    assert code == 1 and "--allow-out-of-order" in err
    assert [p.state for p in runner.verify(empty_db_url, folder)] == ["out-of-order"]
    assert runner.verify(empty_db_url, folder, allow_out_of_order=True) == []
    code, _, _ = run("migrate", "verify", "--allow-out-of-order", "--database-url", empty_db_url, "--dir", str(folder))
    assert code == 0
    notes: list[str] = []
    done = runner.up(empty_db_url, folder, report=as_lines(notes.append), allow_out_of_order=True)
    assert [o.migration.version for o in done] == [2]
    assert any("002-orders.sql runs out of order" in n for n in notes)


def test_two_concurrent_ups_out_of_order_apply_each_file_once(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", {"001-accounts.sql": ACCOUNTS, "009-notes.sql": NOTES})
    runner.up(empty_db_url, folder)
    write_migrations(
        folder, {f"00{n}-t{n}.sql": f"CREATE TABLE t{n} (a int);\n-- ROLLBACK\nDROP TABLE t{n};\n" for n in range(2, 8)}
    )
    results: list[int] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            results.append(len(runner.up(empty_db_url, folder, allow_out_of_order=True)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        join(thread)
    assert errors == [] and sorted(results) == [0, 6]
    assert [v for v, _ in rows(empty_db_url)] == [1, 2, 3, 4, 5, 6, 7, 9]


# -- repair -----------------------------------------------------------------------------------


def test_repair_shows_then_rerecords_a_changed_rollback_only_with_yes(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", {"001-accounts.sql": ACCOUNTS, "002-orders.sql": ORDERS})
    runner.up(empty_db_url, folder)
    before = rows(empty_db_url)
    (folder / "002-orders.sql").write_text(ORDERS.replace("DROP TABLE orders;", "DROP TABLE IF EXISTS orders;"))
    args = ("migrate", "repair", "--database-url", empty_db_url, "--dir", str(folder))
    code, out, err = run(*args)
    assert code == 1 and "002-orders.sql: rollback part changed since it was applied" in out
    assert "nothing was changed: rerun with --yes" in err
    assert rows(empty_db_url) == before
    code, out, err = run(*args, "--yes")
    assert (code, err) == (0, ""), err
    after = rows(empty_db_url)
    assert after[0] == before[0] and after[1] != before[1]
    assert run(*args)[1].strip() == "nothing to repair: every applied file is as recorded"


def test_repair_of_a_changed_up_part_needs_its_own_flag(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", {"001-accounts.sql": ACCOUNTS, "002-orders.sql": ORDERS})
    runner.up(empty_db_url, folder)
    before = rows(empty_db_url)
    (folder / "001-accounts.sql").write_text("-- reviewed\n" + ACCOUNTS)
    (folder / "002-orders.sql").write_text(ORDERS.replace("DROP TABLE orders;", "DROP TABLE orders CASCADE;"))
    args = ("migrate", "repair", "--yes", "--database-url", empty_db_url, "--dir", str(folder))
    code, out, err = run(*args)
    assert code == 1 and "001-accounts.sql: up part changed since it was applied" in out
    assert "--record-changed-up; nothing was re-recorded" in err
    assert rows(empty_db_url) == before  # not even 002's rollback
    with pytest.raises(RepairError):
        runner.repair(empty_db_url, folder, apply=True)
    code, _, err = run(*args, "--record-changed-up")
    assert (code, err) == (0, ""), err
    assert runner.verify(empty_db_url, folder) == []


# -- baseline ---------------------------------------------------------------------------------


def _by_hand(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


def test_baseline_records_a_database_made_by_hand_when_it_equals_the_migrations(
    empty_db_url: str, tmp_path: Path
) -> None:
    folder = write_migrations(
        tmp_path / "m", {"001-accounts.sql": ACCOUNTS, "002-orders.sql": ORDERS, "003-notes.sql": NOTES}
    )
    _by_hand(empty_db_url, ACCOUNTS.split("-- ROLLBACK")[0], ORDERS.split("-- ROLLBACK")[0])
    code, out, err = run("migrate", "baseline", "--to", "2", "--database-url", empty_db_url, "--dir", str(folder))
    assert (code, err) == (0, ""), err
    assert "2 migration(s) recorded as applied" in out
    assert [v for v, _ in rows(empty_db_url)] == [1, 2]
    assert [o.migration.version for o in runner.up(empty_db_url, folder)] == [3]
    with pytest.raises(BaselineError, match="already records 3 migration"):
        runner.baseline(empty_db_url, 2, folder)


def test_baseline_refuses_a_database_that_differs_naming_the_difference(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", {"001-accounts.sql": ACCOUNTS, "002-orders.sql": ORDERS})
    _by_hand(empty_db_url, "CREATE TABLE accounts (id bigint PRIMARY KEY, email varchar(80) NOT NULL)")
    password_url = empty_db_url  # the suite's URL; the message masks any password
    code, _, err = run("migrate", "baseline", "--to", "2", "--database-url", password_url, "--dir", str(folder))
    assert code == 1
    assert "differs from the migrations up to version 2" in err and "public.accounts" in err
    assert "public.orders" in err
    assert "migrations" not in tables(empty_db_url)  # nothing recorded


# -- db create --------------------------------------------------------------------------------


def test_db_create_and_create_database(server_url: str, tmp_path: Path) -> None:
    name = f"socialdb_create_{uuid.uuid4().hex[:8]}"
    url = with_database(server_url, name)
    try:
        code, out, err = run("db", "create", "--database-url", url)
        assert (code, err) == (0, "") and out.startswith("created ")
        code, out, _ = run("db", "create", "--database-url", url)
        assert (code, out.startswith("already exists: ")) == (0, True)
        other = with_database(server_url, name + "_b")
        folder = write_migrations(tmp_path / "m", {"001-accounts.sql": ACCOUNTS})
        code, out, err = run("migrate", "up", "--create-database", "--database-url", other, "--dir", str(folder))
        assert (code, err) == (0, ""), err
        assert out.startswith("created the database of ") and "accounts" in tables(other)
        code, _, err = run(
            "migrate", "up", "--database-url", with_database(server_url, name + "_c"), "--dir", str(folder)
        )
        assert code != 0 and "does not exist" in err
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            for db in (name, name + "_b"):
                conn.execute(
                    psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(db))
                )
    assert database_of(url) == name


# -- a no-op `up` -----------------------------------------------------------------------------


def test_a_no_op_up_parses_nothing_and_loads_neither_pglast_nor_rich(db_url: str) -> None:
    script = (
        "import sys\n"
        "from socialdb.cli import main\n"
        "sys.argv = ['socialdb', 'migrate', 'up', '--database-url', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pglast', 'rich'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, db_url], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr
    assert "nothing to apply" in done.stdout


def test_an_applied_file_is_judged_by_its_history_not_parsed(empty_db_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", {"001-accounts.sql": ACCOUNTS})
    runner.up(empty_db_url, folder)
    (folder / "002-orders.sql").write_text(ORDERS)
    # A rollback that no longer parses: its up part is the one applied, so `up` goes on; `down` refuses it.
    (folder / "001-accounts.sql").write_text(ACCOUNTS.replace("DROP TABLE accounts;", "DROP TABLE;"))
    assert [o.migration.version for o in runner.up(empty_db_url, folder)] == [2]
    with pytest.raises(MigrationFileError, match="^001-accounts.sql:3: syntax error"):
        runner.down(empty_db_url, 1, folder)


def test_an_up_to_date_database_answers_without_the_lock_and_a_pending_file_still_waits(
    empty_db_url: str, tmp_path: Path
) -> None:
    folder = write_migrations(tmp_path / "m", {"001-accounts.sql": ACCOUNTS})
    runner.up(empty_db_url, folder)
    with psycopg.connect(empty_db_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))  # another deploy's run
        said: list[str] = []
        assert runner.up(empty_db_url, folder, RunOptions(lock_wait_s=1), as_lines(said.append)) == []
        assert said == ["nothing to apply: the database is up to date"]
        (folder / "002-orders.sql").write_text(ORDERS)
        with pytest.raises(RunnerLockTimeout):
            runner.up(empty_db_url, folder, RunOptions(lock_wait_s=1))
    assert [o.migration.version for o in runner.up(empty_db_url, folder, to=2)] == [2]
    said.clear()
    assert runner.up(empty_db_url, folder, to=1, report=as_lines(said.append)) == []
    assert said == ["nothing to apply: the database is up to date up to version 1"]
    with pytest.raises(UsageError, match="7"):
        runner.up(empty_db_url, folder, to=7)


def _edited(folder: Path, url: str) -> None:
    (folder / "001-accounts.sql").write_text(ACCOUNTS.replace("email text", "email varchar"))


def _renamed(folder: Path, url: str) -> None:
    (folder / "001-accounts.sql").rename(folder / "001-users.sql")


def _gone(folder: Path, url: str) -> None:
    (folder / "002-orders.sql").unlink()


def _failed(folder: Path, url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE migrations SET state = 'failed', error = 'boom' WHERE version = 2")


def _hidden_diesel(folder: Path, url: str) -> None:
    """A hidden sub-folder of another tool: the full read refuses it, so the quick answer must not skip it."""
    (folder / ".2020-01-01-000000_x").mkdir()
    (folder / ".2020-01-01-000000_x" / "up.sql").write_text("DROP TABLE accounts;\n")


def _swapped(folder: Path, url: str) -> None:
    """Each file's text under the other's version: every checksum is in the history, none where it was."""
    one, two = (folder / "001-accounts.sql").read_text(), (folder / "002-orders.sql").read_text()
    (folder / "001-accounts.sql").write_text(two)
    (folder / "002-orders.sql").write_text(one)


@pytest.mark.parametrize(
    ("lie", "error"),
    [(_edited, "changed since"), (_renamed, "changed since"), (_gone, "file is missing"),
     (_failed, "failed midway"), (_swapped, "changed since"), (_hidden_diesel, "a Diesel migration folder")],
    ids=["edited", "renamed", "missing", "failed", "swapped", "hidden-diesel"],
)  # fmt: skip
def test_the_quick_answer_never_covers_a_folder_that_disagrees_with_the_history(
    empty_db_url: str, tmp_path: Path, lie: Callable[[Path, str], None], error: str
) -> None:
    folder = write_migrations(tmp_path / "m", {"001-accounts.sql": ACCOUNTS, "002-orders.sql": ORDERS})
    runner.up(empty_db_url, folder)
    lie(folder, empty_db_url)
    with pytest.raises(SocialdbError, match=error):
        runner.up(empty_db_url, folder)


def test_socialdb_config_names_the_file_and_a_missing_one_is_refused(tmp_path: Path) -> None:
    named = tmp_path / "elsewhere.toml"
    named.write_text('migrations_dir = "sql"\nlint_waivers = "sql/waivers.toml"\n')
    found = config.resolve({}, {"SOCIALDB_CONFIG": str(named)}, Path(__file__).parent)
    assert (found.directory, found.lint_waivers) == (tmp_path / "sql", tmp_path / "sql/waivers.toml")
    with pytest.raises(ConfigError, match="^SOCIALDB_CONFIG='nope.toml': no such file"):
        config.resolve({}, {"SOCIALDB_CONFIG": "nope.toml"}, tmp_path)


def test_db_create_failing_shows_no_password() -> None:
    code, out, err = run("db", "create", "--database-url", "postgresql://app:hunter2@127.0.0.1:9/shop")
    assert code == 1 and out == "" and "hunter2" not in err and err.startswith("error: cannot connect to ")


def test_uv_run_is_not_asked_to_compile_on_every_call() -> None:
    """uv 0.13 applies `[tool.uv] compile-bytecode` on every `uv run`: 2,857 files compiled again
    and a line on stderr per call (decision 147). CI compiles once, in its `uv sync`."""
    import tomllib

    root = Path(__file__).parent.parent
    settings = tomllib.loads((root / "pyproject.toml").read_text()).get("tool", {}).get("uv", {})
    assert "compile-bytecode" not in settings
    assert "uv sync --locked --compile-bytecode" in (root / ".ci/run").read_text()
