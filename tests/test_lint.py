"""`socialdb lint`: Squawk over each part of each migration, with reasoned waivers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialdb.cli import app
from socialdb.migrate import lint
from socialdb.scripts.files import load_migrations
from tests.helpers import write_migrations

FIXTURES = Path(__file__).parent / "fixtures" / "lint"
WAIVE_TIMEOUT = (FIXTURES / "clean" / "lint-waivers.toml").read_text()


def folder_of(path: Path, files: dict[str, str], waivers: str = WAIVE_TIMEOUT) -> Path:
    folder = write_migrations(path, files)
    (folder / "lint-waivers.toml").write_text(waivers)
    return folder


def open_rules(folder: Path) -> list[tuple[str, str, int]]:
    return [(f.rule, f.part, f.line) for f in lint.lint_paths([folder]) if f.waived_by is None]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["lint", *args])
    return result.exit_code, result.stdout, result.stderr


def test_project_migrations_lint_clean_with_reasoned_waivers() -> None:
    code, out, _ = run()
    assert code == 0, out
    assert out.strip().splitlines()[-1].startswith("0 finding(s), ")
    findings = lint.lint_paths([Path("src/socialdb/migrate/migrations")])
    assert findings and all(f.waived_by for f in findings)


def test_bad_fixtures_fail_and_name_each_rule() -> None:
    code, out, _ = run(str(FIXTURES / "bad"))
    assert code == 1
    for where, rule in [
        ("001-add-required-field.sql:2", "adding-required-field"),
        ("002-blocking-index.sql:2", "require-concurrent-index-creation"),
        ("003-change-type.sql:2", "changing-column-type"),
        ("004-drop-column.sql:2", "ban-drop-column"),
    ]:
        assert any(line.startswith(f"{where}: {rule} (up): ") for line in out.splitlines()), (rule, out)


def test_clean_fixture_passes() -> None:
    code, out, _ = run(str(FIXTURES / "clean"))
    assert (code, out.strip()) == (0, "0 finding(s), 1 waived")


def test_json_format() -> None:
    code, out, _ = run(str(FIXTURES / "bad" / "004-drop-column.sql"), "--format", "json")
    assert code == 1
    items = json.loads(out)
    assert ("004-drop-column.sql", 2, "ban-drop-column", "up", None) in [
        (i["file"], i["line"], i["rule"], i["part"], i["waived_by"]) for i in items
    ]
    assert all(i["message"] for i in items)


def test_down_part_is_linted_on_its_own_with_true_lines(tmp_path: Path) -> None:
    folder = folder_of(
        tmp_path / "m",
        {
            "001-x.sql": "ALTER TABLE products ADD COLUMN note text;\n\n-- ROLLBACK\n\nALTER TABLE products DROP COLUMN note;\n"
        },
    )
    assert open_rules(folder) == [("ban-drop-column", "down", 5)]


def test_transaction_assumption_follows_the_directive(tmp_path: Path) -> None:
    body = "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_products_sku ON products (sku);\n"
    in_tx = folder_of(tmp_path / "a", {"001-x.sql": body})
    out_of_tx = folder_of(tmp_path / "b", {"001-x.sql": "-- socialdb: transaction=off\n" + body})
    assert "ban-concurrent-index-creation-in-transaction" in {rule for rule, _, _ in open_rules(in_tx)}
    assert open_rules(out_of_tx) == []


def test_the_runner_lock_timeout_counts_unless_a_file_turns_it_off(tmp_path: Path) -> None:
    body = "ALTER TABLE products ADD COLUMN note text;\n"
    assert open_rules(folder_of(tmp_path / "a", {"001-x.sql": body})) == []
    off = folder_of(tmp_path / "b", {"001-x.sql": "-- socialdb: lock_timeout=off\n" + body})
    assert ("require-lock-timeout", "up", 2) in open_rules(off)


def test_waivers_apply_per_rule_file_and_part(tmp_path: Path) -> None:
    folder = folder_of(
        tmp_path / "m",
        {
            "001-a.sql": "ALTER TABLE products DROP COLUMN sku;\n-- ROLLBACK\nALTER TABLE products DROP COLUMN x;\n",
            "002-b.sql": "ALTER TABLE products DROP COLUMN category;\n",
        },
        WAIVE_TIMEOUT
        + '[[waiver]]\nrule = "ban-drop-column"\nfiles = ["001-a.sql"]\npart = "up"\nreason = "sku was never read"\n',
    )
    findings = [f for f in lint.lint_paths([folder]) if f.rule == "ban-drop-column"]
    assert [(f.file, f.part, f.waived_by) for f in findings] == [
        ("001-a.sql", "up", "sku was never read"),
        ("001-a.sql", "down", None),
        ("002-b.sql", "up", None),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[waiver]]\nrule = "*"\nreason = "all"\n', "no blanket waivers"),
        ('[[waiver]]\nreason = "no rule"\n', "no blanket waivers"),
        ('[[waiver]]\nrule = "ban-drop-column"\n', "one-line reason"),
        ('[[waiver]]\nrule = "ban-drop-column"\nreason = """two\nlines"""\n', "one-line reason"),
        ('[[waiver]]\nrule = "ban-drop-column"\nreason = "x"\npart = "sideways"\n', "part must be up or down"),
        ('[[waiver]]\nrule = "ban-drop-column"\nreason = "x"\nfile = "001-a.sql"\n', "unknown keys ['file']"),
        ("exclude_rules = ['ban-drop-column']\n", "unknown keys"),
    ],
)
def test_bad_waiver_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "lint-waivers.toml"
    path.write_text(text)
    with pytest.raises(lint.LintError, match=message.replace("[", r"\[").replace("]", r"\]")):
        lint.load_waivers(path)


def test_new_migration_template_parses_and_lints_clean(tmp_path: Path) -> None:
    folder = write_migrations(tmp_path / "m", {"007-existing.sql": "SELECT 1;\n"})
    result = CliRunner().invoke(app, ["migrate", "new", "add-product-weight", "--dir", str(folder)])
    assert result.exit_code == 0
    assert result.stdout.strip() == str(folder / "008-add-product-weight.sql")
    assert [m.version for m in load_migrations(folder)] == [7, 8]
    assert [f for f in lint.lint_paths([folder / "008-add-product-weight.sql"]) if not f.waived_by] == []
    bad = CliRunner().invoke(app, ["migrate", "new", "Bad Name", "--dir", str(folder)])
    assert bad.exit_code == 1 and "NNN-name.sql" in bad.stderr


def test_missing_squawk_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(lint.sys, "executable", str(tmp_path / "python"))
    code, _, err = run(str(FIXTURES / "clean"))
    assert code == 1
    assert err.strip() == "error: squawk not found: install it with `pip install squawk-cli` (or `socialdb[lint]`)"


# What a managed server (no superuser) refuses, each with the words its finding must use.
_SUPERUSER_ONLY = [
    ("CREATE FUNCTION f() RETURNS int LANGUAGE sql SET app.user_id = '' AS 'SELECT 1';", "SET app.user_id"),
    ("ALTER FUNCTION f() SET app.tenant = 'x';", "SET app.tenant"),
    ("ALTER ROLE someone SET app.user_id = 'x';", "SET app.user_id"),
    ("ALTER DATABASE somedb SET app.user_id = 'x';", "SET app.user_id"),
    ("CREATE ROLE r SUPERUSER;", "SUPERUSER"),
    ("CREATE ROLE r NOLOGIN BYPASSRLS;", "BYPASSRLS"),
    ("ALTER ROLE r REPLICATION;", "REPLICATION"),
    ("ALTER SYSTEM SET work_mem = '1GB';", "ALTER SYSTEM"),
    ("CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f();", "event trigger"),
    ("COPY products FROM '/tmp/products.csv';", "server file"),
    ("CREATE EXTENSION postgis;", "extension postgis is not trusted"),
    ("LOAD 'auto_explain';", "LOAD"),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'lib', 'f';", "LANGUAGE c is not trusted"),
    (
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET log_min_duration_statement = 0 AS 'SELECT 1';",
        "setting log_min",
    ),
    ("ALTER ROLE socialdb_app SET log_statement = 'all';", "setting log_statement"),
    ("SET session_replication_role = replica;", "setting session_replication_role"),
    ("ALTER TABLE users DISABLE TRIGGER ALL;", "system triggers"),
    ("CREATE PUBLICATION p FOR ALL TABLES;", "publication"),
    ("CREATE PUBLICATION p FOR TABLES IN SCHEMA public;", "publication"),
    ("GRANT SET ON PARAMETER app.user_id TO socialdb_app;", "on a parameter"),
    ("CHECKPOINT;", "CHECKPOINT"),
]


@pytest.mark.parametrize(("statement", "words"), _SUPERUSER_ONLY)
def test_what_needs_a_superuser_is_found_in_either_part(tmp_path: Path, statement: str, words: str) -> None:
    for text, part, line in [
        (f"SELECT 1;\n{statement}\n-- ROLLBACK\nSELECT 1;\n", "up", 2),
        (f"SELECT 1;\n-- ROLLBACK\n{statement}\n", "down", 3),
    ]:
        folder = write_migrations(tmp_path / part, {"001-x.sql": text})
        found = [f for f in lint.lint_paths([folder]) if f.rule == "needs-superuser"]
        assert [(f.line, f.part) for f in found] == [(line, part)] and words in found[0].message, found


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = pg_catalog, public, pg_temp AS 'SELECT 1';",
        "CREATE EXTENSION IF NOT EXISTS unaccent;",
        "CREATE ROLE r NOLOGIN NOSUPERUSER NOBYPASSRLS;",
        "COPY products TO STDOUT;",
        "SELECT set_config('app.user_id', 'x', true);",
        "SET app.user_id = 'x';",
        "SET LOCAL lock_timeout = '1s';",
        "ALTER TABLE users DISABLE TRIGGER USER;",
        "CREATE PUBLICATION p FOR TABLE users;",
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS 'BEGIN RETURN 1; END';",
    ],
)
def test_what_a_database_owner_may_run_is_not_found(tmp_path: Path, statement: str) -> None:
    folder = write_migrations(tmp_path, {"001-x.sql": f"{statement}\n-- ROLLBACK\nSELECT 1;\n"})
    assert [f for f in lint.lint_paths([folder]) if f.rule == "needs-superuser"] == []
