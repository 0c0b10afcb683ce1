"""docs/schema: generated from the catalog, committed, and kept true (`socialdb schema docs [--check]`).

- every table, view, column and function has a comment (migration 030);
- the committed README.md, schema.sql and schema.svg are what the migrations make, on
  PostgreSQL 18 and 15 alike;
- schema.sql loads into an empty database and reads back as the same catalog;
- both diagrams draw each foreign key between the right columns;
- `--check` names each stale file and exits 1; a missing `dot` is one clear line.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from socialdb.cli import app
from socialdb.errors import GraphvizError
from socialdb.schema import catalog, diagram, diff, docs, dump
from socialdb.schema.catalog import unqualified_view
from socialdb.schema.model import Catalog, ConstraintKind
from tests.conftest import Databases

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "docs" / "schema"
HAS_DOT = diagram.shutil.which("dot") is not None


@pytest.fixture(scope="module")
def schema(databases: Databases, template_name: str) -> Catalog:
    url = databases.create(template=template_name)
    try:
        return catalog.read(url)
    finally:
        databases.drop(url)


def test_every_table_view_column_and_function_has_a_comment(schema: Catalog) -> None:
    missing = [r.qualified for r in schema.relations if not r.comment]
    missing += [f"{r.qualified}.{c.name}" for r in schema.relations for c in r.columns if not c.comment]
    missing += [f.signature for f in schema.functions if not f.comment]
    assert missing == []


def test_the_committed_docs_are_what_the_migrations_make(schema: Catalog) -> None:
    """What CI's `socialdb schema docs --check` checks on the embedded server, here on the suite's server too."""
    assert docs.check(docs.build(schema), COMMITTED) == []


def test_the_same_schema_gives_the_same_bytes(schema: Catalog, databases: Databases, template_name: str) -> None:
    url = databases.create(template=template_name)
    try:
        again = docs.build(catalog.read(url))
    finally:
        databases.drop(url)
    assert again == docs.build(schema)
    assert not re.search(r"\b(oid|OID)\b|PostgreSQL 1[0-9]|socialdb_test_", again.readme + again.sql + again.dot)


def test_a_view_reads_the_same_as_postgresql_15_prints_it() -> None:
    """PostgreSQL 15 qualifies a single-table view's columns; 16 and later do not."""
    pg15 = " SELECT t.user_id,\n    t.total\n   FROM t\n  WHERE (t.user_id = app_user_id());"
    pg18 = " SELECT user_id,\n    total\n   FROM t\n  WHERE (user_id = app_user_id());"
    assert unqualified_view(pg15) == pg18
    joined = " SELECT a.x,\n    b.y\n   FROM (a\n     JOIN b ON ((a.id = b.id)));"
    assert unqualified_view(joined) == joined  # two tables: the qualifiers are meaning


def test_schema_sql_loads_back_into_the_same_catalog(schema: Catalog, empty_db_url: str) -> None:
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(dump.render(schema).encode())
    differences = diff.compare(schema, catalog.read(empty_db_url))
    # A CHECK written `a BETWEEN 1 AND 2 AND b` is stored as ((a >= 1) AND (a <= 2)) AND b and printed with
    # the inner parentheses; read back, the ANDs are one list. Same condition: only such lines may differ.
    regrouped = [d for d in differences if d.what == "definition of constraint" and _bare(d.expected) == _bare(d.found)]
    assert [str(d) for d in differences if d not in regrouped] == []
    assert len(regrouped) <= 3


def _bare(text: str) -> str:
    return re.sub(r"[()\s]", "", text)


def test_both_diagrams_draw_each_foreign_key_between_its_columns(schema: Catalog) -> None:
    mermaid, dot = diagram.mermaid(schema), diagram.dot_source(schema)
    keys = [(t, k) for t in schema.tables for k in t.constraints if k.kind == ConstraintKind.FOREIGN_KEY]
    assert len(keys) >= 15
    for table, key in keys:
        assert key.references is not None
        parent = key.references.split(".", 1)[1]
        assert f"{table.name} }}o--" in mermaid and f'{parent} : "{", ".join(key.columns)}"' in mermaid
        edge = f'"{parent}":"{key.referenced_columns[0]}.e":e -> "{table.name}":"{key.columns[0]}.w":w;'
        assert edge in dot, f"{table.name}.{key.name}"
    assert '"conversations":"id.e":e -> "messages":"conversation_id.w":w;' in dot


def test_check_names_each_stale_file(schema: Catalog, tmp_path: Path) -> None:
    built = docs.build(schema)
    (tmp_path / "README.md").write_text(built.readme.replace("## Tables", "## Tablez"), encoding="utf-8")
    (tmp_path / "schema.sql").write_text(built.sql, encoding="utf-8")
    line = built.readme.splitlines().index("## Tables") + 1
    assert docs.check(built, tmp_path) == [
        f"{tmp_path}/README.md differs from what the migrations produce:"
        f" line {line}: expected `## Tables`, found `## Tablez`",
        f"{tmp_path}/schema.svg is missing",
    ]


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_write_draws_the_svg_once_and_then_leaves_it(schema: Catalog, tmp_path: Path) -> None:
    built = docs.build(schema)
    assert sorted(Path(p).name for p in docs.write(built, tmp_path)) == ["README.md", "schema.sql", "schema.svg"]
    svg = (tmp_path / "schema.svg").read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "<svg" in svg and "Generated by graphviz" not in svg
    assert diagram.svg_source_hash(svg) == diagram.source_hash(built.dot)
    for table in diagram.drawn(schema):
        assert f">{table.name}</text>" in svg
    # Drawn by another Graphviz from the same source: still current, not redrawn.
    (tmp_path / "schema.svg").write_text(svg.replace("<svg", "<svg data-other-graphviz='1'"), encoding="utf-8")
    assert docs.write(built, tmp_path) == [] and docs.check(built, tmp_path) == []


def test_a_missing_dot_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(GraphvizError, match=r"^Graphviz's dot not found: install Graphviz .*apt-get install graphviz"):
        diagram.render_svg("digraph { a }")


def test_the_cli_checks_writes_and_checks_again(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "schema"
    base = ["schema", "docs", "--database-url", db_url, "--out", str(out)]
    runner = CliRunner()
    stale = runner.invoke(app, [*base, "--check"])
    assert stale.exit_code == 1
    assert stale.stderr.splitlines() == [
        f"{out}/README.md is missing",
        f"{out}/schema.sql is missing",
        f"{out}/schema.svg is missing",
        f"error: {out} is out of date: run `socialdb schema docs` and commit the result",
    ]
    if HAS_DOT:
        written = runner.invoke(app, base)
        assert written.exit_code == 0, written.output
        assert written.stdout.splitlines()[-1] == "3 file(s) written"
        assert runner.invoke(app, [*base, "--check"]).stdout == f"{out} is up to date\n"
    monkeypatch.setenv("PATH", "/nonexistent")
    (out / "schema.svg").unlink(missing_ok=True)
    no_dot = runner.invoke(app, base)
    assert no_dot.exit_code == 1
    assert no_dot.stderr.startswith("error: Graphviz's dot not found") and len(no_dot.stderr.splitlines()) == 1
