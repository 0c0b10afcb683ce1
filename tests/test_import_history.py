"""`socialdb migrate import` with a database (issue 24 item 3): another tool's history table
adopted, then `socialdb migrate up` continues without re-running anything.

Every applied migration below creates a table, so running it again would fail: a run that
passes ran none of them twice.

Where each history table comes from:
- dbmate and node-pg-migrate: their real tables, made by running the tools (npm packages
  dbmate 2.36.0 and node-pg-migrate 9.0.0 with pg 8; .ci/run installs them, and these tests
  skip with the reason when they are absent), and, always, the DDL they produced, captured
  below (`pg_dump -s -t TABLE` after `dbmate --no-dump-schema up` and
  `DATABASE_URL=... node-pg-migrate up`, on PostgreSQL 18).
- golang-migrate, Flyway and Diesel: built from their documented layouts, cited at each DDL
  (docs/runner.md, "Coming from another tool").
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from typer.testing import CliRunner

from socialdb.bench.migrate_up import dbmate_url
from socialdb.cli import app
from socialdb.errors import HistoryError
from socialdb.migrate import runner
from socialdb.migrate.importing import Tool, run
from socialdb.migrate.importing.tools import flyway_checksum
from tests.helpers import tables

# dbmate 2.36.0 (pkg/driver/postgres), as pg_dump shows the table it made:
DBMATE_DDL = """
CREATE TABLE public.schema_migrations (version character varying NOT NULL);
ALTER TABLE ONLY public.schema_migrations ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);
"""
# node-pg-migrate 9.0.0 (runner.ts: `CREATE TABLE pgmigrations (id SERIAL PRIMARY KEY,
# name varchar(255) NOT NULL, run_on timestamp NOT NULL)`); each row: the file name without
# .sql, and NOW() of the run.
NODE_DDL = """
CREATE TABLE public.pgmigrations (
  id integer NOT NULL, name character varying(255) NOT NULL, run_on timestamp without time zone NOT NULL
);
CREATE SEQUENCE public.pgmigrations_id_seq AS integer START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
ALTER SEQUENCE public.pgmigrations_id_seq OWNED BY public.pgmigrations.id;
ALTER TABLE ONLY public.pgmigrations ALTER COLUMN id SET DEFAULT nextval('public.pgmigrations_id_seq'::regclass);
ALTER TABLE ONLY public.pgmigrations ADD CONSTRAINT pgmigrations_pkey PRIMARY KEY (id);
"""
# golang-migrate v4, database/postgres/postgres.go, ensureVersionTable: `CREATE TABLE IF NOT
# EXISTS schema_migrations (version bigint not null primary key, dirty boolean not null)`;
# SetVersion truncates it and inserts the one current version.
GOLANG_DDL = "CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null)"
# Flyway, createMetaDataTable.sql for PostgreSQL (flyway-database-postgresql).
FLYWAY_DDL = """
CREATE TABLE flyway_schema_history (
  installed_rank INT NOT NULL, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL,
  script VARCHAR(1000) NOT NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL,
  installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL,
  CONSTRAINT flyway_schema_history_pk PRIMARY KEY (installed_rank)
);
CREATE INDEX flyway_schema_history_s_idx ON flyway_schema_history (success);
"""
# Diesel, diesel_migrations/src/migration/setup_migration_table.sql.
DIESEL_DDL = """
CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
  version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)
"""


def _sql(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


def _rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query.encode()).fetchall()


def _folder(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _ours(url: str) -> list[tuple[object, ...]]:
    return _rows(url, "SELECT version, file, state FROM migrations ORDER BY version")


def _continue(url: str, target: Path) -> list[str]:
    """`socialdb migrate up` on the imported folder: the files it ran."""
    return [o.migration.filename for o in runner.up(url, target)]


# --- golang-migrate ----------------------------------------------------------------------------

GOLANG_FILES = {
    "000001_create_a.up.sql": "CREATE TABLE a (id int);\n",
    "000001_create_a.down.sql": "DROP TABLE a;\n",
    "000002_create_b.up.sql": "CREATE TABLE b (id int);\n",
    "000002_create_b.down.sql": "DROP TABLE b;\n",
    "000003_create_c.up.sql": "CREATE TABLE c (id int);\n",
    "000003_create_c.down.sql": "DROP TABLE c;\n",
}


def test_golang_migrate_history_is_adopted_and_up_continues(empty_db_url: str, tmp_path: Path) -> None:
    source = _folder(tmp_path / "gm", GOLANG_FILES)
    _sql(empty_db_url, GOLANG_DDL, "INSERT INTO schema_migrations VALUES (2, false)", "CREATE TABLE a (id int)")
    _sql(empty_db_url, "CREATE TABLE b (id int)")
    target = tmp_path / "out"
    done = run(Tool.GOLANG_MIGRATE, source, target, empty_db_url)
    assert done.written.written == ("001-create_a.sql", "002-create_b.sql", "003-create_c.sql")
    assert done.adopted is not None and done.adopted.recorded == (1, 2)
    assert _continue(empty_db_url, target) == ["003-create_c.sql"]
    again = run(Tool.GOLANG_MIGRATE, source, target, empty_db_url)  # idempotent, after up too
    assert again.written.written == () and again.adopted is not None and again.adopted.recorded == ()
    assert again.adopted.already == (1, 2)
    assert _rows(empty_db_url, "SELECT version, dirty FROM schema_migrations") == [(2, False)]  # left as it was
    runner.down(empty_db_url, to=0, directory=target)  # the converted rollbacks run
    assert _rows(empty_db_url, "SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b', 'c')") == [(0,)]


def test_a_dirty_golang_migrate_history_is_refused_and_nothing_written(empty_db_url: str, tmp_path: Path) -> None:
    source = _folder(tmp_path / "gm", GOLANG_FILES)
    _sql(empty_db_url, GOLANG_DDL, "INSERT INTO schema_migrations VALUES (2, true)")
    with pytest.raises(HistoryError, match=r"^schema_migrations: dirty at version 2: golang-migrate stopped midway"):
        run(Tool.GOLANG_MIGRATE, source, tmp_path / "out", empty_db_url)
    assert not (tmp_path / "out").exists()
    assert _rows(empty_db_url, "SELECT to_regclass('migrations')") == [(None,)]  # not even socialdb's table


def test_golang_migrate_with_two_rows_is_refused(empty_db_url: str, tmp_path: Path) -> None:
    source = _folder(tmp_path / "gm", GOLANG_FILES)
    _sql(empty_db_url, GOLANG_DDL, "INSERT INTO schema_migrations VALUES (1, false), (2, false)")
    with pytest.raises(HistoryError, match="2 rows; golang-migrate keeps exactly one"):
        run(Tool.GOLANG_MIGRATE, source, tmp_path / "out", empty_db_url)


def test_a_current_version_without_its_file_is_refused(empty_db_url: str, tmp_path: Path) -> None:
    source = _folder(tmp_path / "gm", GOLANG_FILES)
    _sql(empty_db_url, GOLANG_DDL, "INSERT INTO schema_migrations VALUES (7, false)")
    with pytest.raises(HistoryError, match="version 7 is the current one but no file of the folder has it"):
        run(Tool.GOLANG_MIGRATE, source, tmp_path / "out", empty_db_url)


def test_another_tools_table_of_the_same_name_is_refused(empty_db_url: str, tmp_path: Path) -> None:
    source = _folder(tmp_path / "db", {"1_a.sql": "-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\n"})
    _sql(empty_db_url, GOLANG_DDL)
    with pytest.raises(
        HistoryError, match=r"schema_migrations has columns \(dirty, version\), not dbmate's \(version\)"
    ):
        run(Tool.DBMATE, source, tmp_path / "out", empty_db_url)
    with pytest.raises(HistoryError, match="no table pgmigrations: is this the database node-pg-migrate migrated"):
        run(Tool.NODE_PG_MIGRATE, _folder(tmp_path / "n", {"1_a.sql": "SELECT 1;\n"}), tmp_path / "o", empty_db_url)


# --- Flyway ----------------------------------------------------------------------------------------

FLYWAY_FILES = {
    "V1__create_a.sql": "CREATE TABLE a (id int);\n",
    "U1__create_a.sql": "DROP TABLE a;\n",
    "V1.1__create_b.sql": "CREATE TABLE b (id int);\n",
    "V1.10__create_c.sql": "CREATE TABLE c (id int);\n",
}


def _flyway(url: str, *rows: str) -> None:
    _sql(
        url,
        FLYWAY_DDL,
        "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum,"
        " installed_by, execution_time, success) VALUES " + ", ".join(rows),
    )


def test_flyway_history_is_adopted_in_flyways_order(empty_db_url: str, tmp_path: Path) -> None:
    source = _folder(tmp_path / "fw", FLYWAY_FILES)
    _flyway(
        empty_db_url,
        "(0, NULL, '<< Flyway Schema Creation >>', 'SCHEMA', '\"public\"', NULL, 'me', 0, true)",
        f"(1, '1', 'create a', 'SQL', 'V1__create_a.sql', {_crc('V1__create_a.sql')}, 'me', 7, true)",
        "(2, '1.1', 'create b', 'SQL', 'V1.1__create_b.sql', NULL, 'me', 3, true)",  # none kept: nothing to compare
        "(3, NULL, 'views', 'SQL', 'R__views.sql', 789, 'me', 1, true)",
    )
    _sql(empty_db_url, "CREATE TABLE a (id int)", "CREATE TABLE b (id int)")
    target = tmp_path / "out"
    done = run(Tool.FLYWAY, source, target, empty_db_url)
    assert done.adopted is not None and done.adopted.recorded == (100, 101)
    assert _rows(empty_db_url, "SELECT version, execution_ms FROM migrations ORDER BY version") == [(100, 7), (101, 3)]
    assert _continue(empty_db_url, target) == ["110-create_c.sql"]


def _crc(name: str) -> int:
    return flyway_checksum(FLYWAY_FILES[name])


def test_flyway_checksum_is_crc32_of_the_lines_signed() -> None:
    # The CRC-32 check value of "123456789" is 0xCBF43926, stored by Flyway as a signed int.
    assert flyway_checksum("123456789") == 0xCBF43926 - 2**32
    assert flyway_checksum("\ufeff123\r\n456\n789\n") == 0xCBF43926 - 2**32  # line ends and BOM do not count
    assert flyway_checksum("123456788") != flyway_checksum("123456789")


def test_a_flyway_file_changed_since_it_ran_is_refused(empty_db_url: str, tmp_path: Path) -> None:
    edited = {**FLYWAY_FILES, "V1__create_a.sql": "CREATE TABLE a (id bigint);\n"}
    source = _folder(tmp_path / "fw", edited)
    _flyway(empty_db_url, f"(1, '1', 'create a', 'SQL', 'V1__create_a.sql', {_crc('V1__create_a.sql')}, 'me', 7, true)")
    with pytest.raises(HistoryError, match=r"installed_rank 1: V1__create_a.sql is not the file Flyway ran"):
        run(Tool.FLYWAY, source, tmp_path / "out", empty_db_url)
    assert not (tmp_path / "out").exists()
    assert "migrations" not in tables(empty_db_url) or _rows(empty_db_url, "SELECT count(*) FROM migrations") == [(0,)]


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("(1, '1', 'create a', 'SQL', 'V1__create_a.sql', 1, 'me', 7, false)", "installed_rank 1: a failed row"),
        ("(1, '1', 'create a', 'UNDO_SQL', 'U1__create_a.sql', 1, 'me', 7, true)", "a row of type UNDO_SQL"),
        ("(1, '1', 'base', 'BASELINE', '<< Flyway Baseline >>', NULL, 'me', 0, true)", "a row of type BASELINE"),
        ("(1, '2', 'gone', 'SQL', 'V2__gone.sql', 1, 'me', 7, true)", "2 is recorded as applied but no file"),
    ],
)
def test_flyway_rows_that_cannot_be_read_for_certain_are_refused(
    empty_db_url: str, tmp_path: Path, row: str, words: str
) -> None:
    source = _folder(tmp_path / "fw", FLYWAY_FILES)
    _flyway(empty_db_url, row)
    with pytest.raises(HistoryError, match=words):
        run(Tool.FLYWAY, source, tmp_path / "out", empty_db_url)
    assert not (tmp_path / "out").exists()


# --- Diesel --------------------------------------------------------------------------------------


def test_diesel_history_is_adopted(empty_db_url: str, tmp_path: Path) -> None:
    source = _folder(
        tmp_path / "migrations",
        {
            "00000000000000_diesel_initial_setup/up.sql": "CREATE TABLE setup (id int);\n",
            "00000000000000_diesel_initial_setup/down.sql": "DROP TABLE setup;\n",
            "2024-01-01-000000_create_a/up.sql": "CREATE TABLE a (id int);\n",
            "2024-01-01-000000_create_a/down.sql": "DROP TABLE a;\n",
            "2024-01-02-000000_create_b/up.sql": "CREATE TABLE b (id int);\n",
            "2024-01-02-000000_create_b/down.sql": "DROP TABLE b;\n",
        },
    )
    _sql(empty_db_url, DIESEL_DDL, "INSERT INTO __diesel_schema_migrations (version) VALUES ('00000000000000')")
    _sql(empty_db_url, "INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000')")
    _sql(empty_db_url, "CREATE TABLE setup (id int)", "CREATE TABLE a (id int)")
    target = tmp_path / "out"
    done = run(Tool.DIESEL, source, target, empty_db_url)
    assert done.adopted is not None and done.adopted.recorded == (0, 20240101000000)
    assert _continue(empty_db_url, target) == ["20240102000000-create_b.sql"]


# --- dbmate and node-pg-migrate, from the DDL they produced ---------------------------------------

DBMATE_FILES = {
    "20240101120000_create_a.sql": "-- migrate:up\nCREATE TABLE a (id int);\n\n-- migrate:down\nDROP TABLE a;\n",
    "20240102120000_index_a.sql": "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n\n"
    "-- migrate:down\nDROP INDEX a_id;\n",
}
NODE_FILES = {
    "1700000000000_create-a.sql": "-- Up Migration\nCREATE TABLE a (id int);\n\n-- Down Migration\nDROP TABLE a;\n",
    "1700000000001_create-b.sql": "-- Up Migration\nCREATE TABLE b (id int);\n-- Down Migration\nDROP TABLE b;\n",
}
PENDING = {
    Tool.DBMATE: ("20240103120000_create_c.sql", "-- migrate:up\nCREATE TABLE c (id int);\n-- migrate:down\n"),
    Tool.NODE_PG_MIGRATE: ("1700000000002_create-c.sql", "-- Up Migration\nCREATE TABLE c (id int);\n"),
}


def test_dbmate_captured_history_is_adopted(empty_db_url: str, tmp_path: Path) -> None:
    source = _folder(tmp_path / "db", DBMATE_FILES)
    _sql(empty_db_url, DBMATE_DDL, "CREATE TABLE a (id int)", "CREATE INDEX a_id ON a (id)")
    _sql(empty_db_url, "INSERT INTO schema_migrations VALUES ('20240101120000'), ('20240102120000')")
    _folder(source, dict([PENDING[Tool.DBMATE]]))
    _adopted_then_up(empty_db_url, Tool.DBMATE, source, tmp_path / "out", "20240103120000-create_c.sql")


def test_node_pg_migrate_captured_history_is_adopted(empty_db_url: str, tmp_path: Path) -> None:
    source = _folder(tmp_path / "migrations", NODE_FILES)
    _sql(empty_db_url, NODE_DDL, "CREATE TABLE a (id int)", "CREATE TABLE b (id int)")
    _sql(empty_db_url, "INSERT INTO pgmigrations (name, run_on) VALUES ('1700000000000_create-a', NOW())")
    _sql(empty_db_url, "INSERT INTO pgmigrations (name, run_on) VALUES ('1700000000001_create-b', NOW())")
    _folder(source, dict([PENDING[Tool.NODE_PG_MIGRATE]]))
    _adopted_then_up(empty_db_url, Tool.NODE_PG_MIGRATE, source, tmp_path / "out", "1700000000002-create-c.sql")


def _adopted_then_up(url: str, tool: Tool, source: Path, target: Path, pending: str) -> None:
    table = "schema_migrations" if tool is Tool.DBMATE else "pgmigrations"
    before = _rows(url, f"SELECT * FROM {table} ORDER BY 1")
    done = run(tool, source, target, url)
    assert done.adopted is not None and len(done.adopted.recorded) == 2
    assert [row[2] for row in _ours(url)] == ["applied", "applied"]
    assert _continue(url, target) == [pending]
    again = run(tool, source, target, url)
    assert again.written.written == () and again.adopted is not None and again.adopted.recorded == ()
    assert _rows(url, f"SELECT * FROM {table} ORDER BY 1") == before  # the old table is left as it was


def test_a_file_in_the_history_but_missing_on_disk_is_refused(empty_db_url: str, tmp_path: Path) -> None:
    source = _folder(tmp_path / "db", DBMATE_FILES)
    _sql(empty_db_url, DBMATE_DDL, "INSERT INTO schema_migrations VALUES ('20240101120000'), ('20231231000000')")
    with pytest.raises(HistoryError, match="20231231000000 is recorded as applied but no file of the folder is it"):
        run(Tool.DBMATE, source, tmp_path / "out", empty_db_url)


def test_other_rows_in_socialdbs_history_are_refused(empty_db_url: str, tmp_path: Path) -> None:
    source = _folder(tmp_path / "db", DBMATE_FILES)
    _sql(empty_db_url, DBMATE_DDL, "INSERT INTO schema_migrations VALUES ('20240101120000')", "CREATE TABLE a (id int)")
    other = _folder(
        tmp_path / "other", {"20240101120000-something-else.sql": "-- socialdb: rollback=none\nSELECT 1;\n"}
    )
    runner.up(empty_db_url, other)
    with pytest.raises(HistoryError, match="version 20240101120000: socialdb's history already has 20240101120000-so"):
        run(Tool.DBMATE, source, tmp_path / "out", empty_db_url)
    assert not (tmp_path / "out").exists()


# --- the command ---------------------------------------------------------------------------------


def test_the_command_says_what_it_did_and_then_that_there_is_nothing_to_do(empty_db_url: str, tmp_path: Path) -> None:
    source = _folder(tmp_path / "db", DBMATE_FILES)
    _sql(empty_db_url, DBMATE_DDL, "CREATE TABLE a (id int)", "INSERT INTO schema_migrations VALUES ('20240101120000')")
    args = ["migrate", "import", "--from", "dbmate", str(source), "--dir", str(tmp_path / "out")]
    first = CliRunner().invoke(app, [*args, "--database-url", empty_db_url], env={"DATABASE_URL": None})
    assert first.exit_code == 0, first.output
    assert (
        "wrote 2 file(s)" in first.stdout
        and "recorded 1 migration(s) as applied from schema_migrations" in first.stdout
    )
    second = CliRunner().invoke(app, [*args, "--database-url", empty_db_url], env={"DATABASE_URL": None})
    assert second.exit_code == 0 and "nothing to do: already imported" in second.stdout


def test_the_command_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    source = _folder(tmp_path / "db", {"1_t.sql": "-- migrate:down\nSELECT 1;\n-- migrate:up\nSELECT 1;\n"})
    args = ["migrate", "import", "--from", "dbmate", str(source), "--dir", str(tmp_path / "out")]
    result = CliRunner().invoke(app, args, env={"DATABASE_URL": None, "SOCIALDB_DEBUG": ""})
    assert result.exit_code == 1 and result.stdout == ""
    where = source / "1_t.sql"
    expected = f"{where}:1: '-- migrate:down' comes before '-- migrate:up' (line 3): dbmate refuses this file too"
    assert result.stderr == f"error: {expected}\n"
    missing_dir = CliRunner().invoke(app, args[:-2], env={"DATABASE_URL": None})
    assert missing_dir.exit_code == 2 and "give --dir" in missing_dir.stderr
    assert not (tmp_path / "out").exists()


# --- dbmate and node-pg-migrate, run for real -----------------------------------------------------


def _npm_tool(name: str) -> Path:
    """The tool from SOCIALDB_NPM_TOOLS (a node_modules/.bin that .ci/run fills), else on PATH."""
    folder = os.environ.get("SOCIALDB_NPM_TOOLS")
    found = Path(folder) / name if folder else None
    if found is None or not found.exists():
        on_path = shutil.which(name)
        found = Path(on_path) if on_path else None
    if found is None:
        pytest.skip(f"{name} not installed: `npm install dbmate@2.36.0 node-pg-migrate@9.0.0 pg@8` (as .ci/run does)")
    return found


def _node_url(url: str) -> str:
    """A libpq URL as node-postgres takes it: the socket folder in `host`."""
    params = {k: str(v) for k, v in conninfo_to_dict(url).items()}
    password = f":{quote(params['password'], safe='')}" if params.get("password") else ""
    host = params.get("host", "localhost")
    where = f"localhost:{params.get('port', '5432')}/{params['dbname']}"
    socket = f"?host={quote(host, safe='/')}" if host.startswith("/") else ""
    return f"postgresql://{quote(params.get('user', ''), safe='')}{password}@{where}{socket}"


def _ran(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )
    assert done.returncode == 0, f"{command[0]}: {done.stdout} {done.stderr}"


def test_a_real_dbmate_history_is_adopted(empty_db_url: str, tmp_path: Path) -> None:
    dbmate = _npm_tool("dbmate")
    source = _folder(tmp_path / "db" / "migrations", DBMATE_FILES)
    _ran(
        [str(dbmate), "--url", dbmate_url(empty_db_url), "--migrations-dir", str(source), "--no-dump-schema", "up"],
        tmp_path,
    )
    # What dbmate made: the layout captured in DBMATE_DDL.
    assert _rows(
        empty_db_url,
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_name = 'schema_migrations'",
    ) == [("version", "character varying", "NO")]
    assert _rows(empty_db_url, "SELECT version FROM schema_migrations ORDER BY 1") == [
        ("20240101120000",),
        ("20240102120000",),
    ]
    _folder(source, dict([PENDING[Tool.DBMATE]]))
    _adopted_then_up(empty_db_url, Tool.DBMATE, source, tmp_path / "out", "20240103120000-create_c.sql")


def test_a_real_node_pg_migrate_history_is_adopted(empty_db_url: str, tmp_path: Path) -> None:
    tool = _npm_tool("node-pg-migrate")
    source = _folder(tmp_path / "migrations", NODE_FILES)
    _ran([str(tool), "up", "--migrations-dir", str(source)], tmp_path, {"DATABASE_URL": _node_url(empty_db_url)})
    assert _rows(
        empty_db_url,
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_name = 'pgmigrations' ORDER BY ordinal_position",
    ) == [("id", "integer", "NO"), ("name", "character varying", "NO"), ("run_on", "timestamp without time zone", "NO")]
    assert _rows(empty_db_url, "SELECT id, name FROM pgmigrations ORDER BY id") == [
        (1, "1700000000000_create-a"),
        (2, "1700000000001_create-b"),
    ]
    _folder(source, dict([PENDING[Tool.NODE_PG_MIGRATE]]))
    _adopted_then_up(empty_db_url, Tool.NODE_PG_MIGRATE, source, tmp_path / "out", "1700000000002-create-c.sql")


def test_a_history_table_of_another_name_and_schema(empty_db_url: str, tmp_path: Path) -> None:
    source = _folder(tmp_path / "gm", GOLANG_FILES)
    _sql(empty_db_url, "CREATE SCHEMA legacy", GOLANG_DDL.replace("schema_migrations", "legacy.versions"))
    _sql(empty_db_url, "INSERT INTO legacy.versions VALUES (1, false)", "CREATE TABLE a (id int)")
    done = run(Tool.GOLANG_MIGRATE, source, tmp_path / "out", empty_db_url, "legacy.versions")
    assert done.adopted is not None and (done.adopted.table, done.adopted.recorded) == ("legacy.versions", (1,))
    assert _continue(empty_db_url, tmp_path / "out") == ["002-create_b.sql", "003-create_c.sql"]
