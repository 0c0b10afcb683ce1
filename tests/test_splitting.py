"""Splitting SQL with PostgreSQL's parser: pure, no database."""

from __future__ import annotations

import pytest

from socialdb.errors import MigrationFileError
from socialdb.scripts.splitting import split

FUNCTION = """-- header
CREATE FUNCTION f() RETURNS int
LANGUAGE plpgsql AS $$
BEGIN
  RETURN 1;  -- a semicolon inside a body
END;
$$;

SELECT 'a;b';
"""


def test_function_bodies_are_one_statement_and_lines_are_kept() -> None:
    statements = split(FUNCTION, "001-f.sql", first_line=10)
    assert [s.line for s in statements] == [11, 18]
    assert statements[0].sql.endswith("$$")
    assert statements[1].sql == "SELECT 'a;b'"


def test_position_maps_to_the_file_line() -> None:
    statement = split(FUNCTION, "001-f.sql", first_line=1)[0]
    position = statement.sql.index("RETURN 1") + 1
    assert statement.line_of(position) == 5
    assert statement.line_of(None) == 2


def test_syntax_error_names_file_and_line() -> None:
    with pytest.raises(MigrationFileError) as caught:
        split("SELECT 1;\n\nCREATE TABEL t (id int);\n", "005-typo.sql", first_line=4)
    assert caught.value.line == 6
    assert str(caught.value).startswith("005-typo.sql:6: syntax error")


@pytest.mark.parametrize(
    ("sql", "outside"),
    [
        ("CREATE INDEX CONCURRENTLY i ON t (a)", True),
        ("CREATE INDEX i ON t (a)", False),
        ("DROP INDEX CONCURRENTLY i", True),
        ("REINDEX INDEX CONCURRENTLY i", True),
        ("VACUUM t", True),
        ("ANALYZE t", False),
        ("ALTER TABLE p DETACH PARTITION c CONCURRENTLY", True),
        ("REFRESH MATERIALIZED VIEW CONCURRENTLY v", False),
        ("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ VACUUM t $$", False),
    ],
)
def test_statements_that_cannot_run_in_a_transaction(sql: str, outside: bool) -> None:
    assert split(sql, "x.sql", 1)[0].needs_no_transaction is outside
