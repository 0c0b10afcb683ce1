"""Properties of the migration file parser (hypothesis): texts survive format-then-parse, and no
input, however malformed, makes it fail with anything but the package's own error."""

from __future__ import annotations

import contextlib
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from socialdb.errors import MigrationFileError
from socialdb.scripts.files import format_migration, load_migrations, normalise, parse_filename, parse_migration

# Lines the format reserves: the rollback marker and the directives (docs/runner.md). A part
# holding one, even inside a string literal, is not a part the format can carry.
RESERVED = re.compile(r"^\s*--\s*(rollback\b|socialdb\s*:)", re.IGNORECASE | re.MULTILINE)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any text but NUL (which PostgreSQL cannot hold in a statement) and lone surrogates (not UTF-8).
chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
text = st.text(chars, max_size=40)
identifier = text.filter(bool).map(lambda s: '"' + s.replace('"', '""') + '"')
string = st.one_of(
    text.map(lambda s: "'" + s.replace("'", "''") + "'"),
    text.filter(lambda s: "$q$" not in s and not s.endswith("$")).map(lambda s: f"$q${s}$q$"),
)
literal = st.one_of(string, st.integers().map(str))
body_statement = st.builds(lambda t, v: f"INSERT INTO {t} VALUES ({v})", identifier, literal)
statement = st.one_of(
    st.builds(lambda t, v: f"CREATE TABLE {t} (id integer, note text DEFAULT {v})", identifier, literal),
    st.builds(lambda v, a: f"SELECT {v} AS {a}", literal, identifier),
    st.builds(lambda t, v: f"COMMENT ON TABLE {t} IS {v}", identifier, string),
    st.builds(
        lambda f, b: (
            f"CREATE FUNCTION {f}() RETURNS integer LANGUAGE plpgsql AS $body$\nBEGIN\n  {b};\n  RETURN 1;\nEND\n$body$"
        ),
        identifier,
        body_statement.filter(lambda s: "$body$" not in s),
    ),
)
comment = st.one_of(
    text.filter(lambda s: "\n" not in s and "\r" not in s).map(lambda s: f"-- {s}\n"),
    text.filter(lambda s: "*/" not in s and "/*" not in s).map(lambda s: f"/* {s} */"),
)
gap = st.lists(st.one_of(st.sampled_from([" ", "\n", "\n\n", "\t"]), comment), max_size=3).map("".join)


@st.composite
def part(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A part of a file: statements separated by semicolons, blank lines and comments."""
    statements = draw(st.lists(statement, min_size=1, max_size=4))
    pieces = [draw(gap)]
    for sql in statements:
        pieces += [sql, ";", draw(gap)]
    return "".join(pieces), statements


def _lines_of(text: str, statements: list[str], position: int = 0) -> list[int]:
    """Where each statement starts, 1-based, found in order from `position`."""
    lines = []
    for sql in statements:
        position = text.index(sql, position)
        lines.append(text.count("\n", 0, position) + 1)
        position += len(sql)
    return lines


@SETTINGS
@given(part(), st.one_of(st.none(), part()))
def test_up_and_down_survive_format_then_parse(up: tuple[str, list[str]], down: tuple[str, list[str]] | None) -> None:
    up_text, up_statements = up
    down_text, down_statements = down if down is not None else (None, [])
    assume(not RESERVED.search(up_text) and not (down_text and RESERVED.search(down_text)))
    text = format_migration(up_text, down_text)
    migration = parse_migration("001-property.sql", text)
    lf = normalise(text)  # CR and CRLF are read as LF, as checksums are
    assert migration.up == normalise(up_text)
    assert [s.sql for s in migration.up_statements] == [normalise(sql) for sql in up_statements]
    assert [s.line for s in migration.up_statements] == _lines_of(lf, [normalise(q) for q in up_statements])
    if down_text is None:
        assert migration.down is None and migration.down_statements is None
        return
    assert migration.down == normalise(down_text)
    assert [s.sql for s in migration.down_statements or ()] == [normalise(sql) for sql in down_statements]
    marker = normalise(up_text).count("\n") + 2
    assert migration.down_line == marker + 1
    after = len(normalise(up_text)) + 1
    expected = _lines_of(lf, [normalise(q) for q in down_statements], after)
    assert [s.line for s in migration.down_statements or ()] == expected


@SETTINGS
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_parser(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "001-bytes.sql").write_bytes(data)
        try:
            [migration] = load_migrations(Path(folder))
        except MigrationFileError:
            return
        assert migration.up_statements


@SETTINGS
@given(st.text(max_size=300))
@example("CREATE PROCEDURE")  # a syntax error without a position: it once raised TypeError
@example("SELECT 1;\x00")
def test_arbitrary_text_never_crashes_the_parser(value: str) -> None:
    with contextlib.suppress(MigrationFileError):
        parse_migration("001-text.sql", value)


@SETTINGS
@given(st.text(max_size=40))
def test_arbitrary_file_names_are_refused_or_read(name: str) -> None:
    try:
        version, rest = parse_filename(name)
    except MigrationFileError:
        return
    assert name == f"{name.split('-', 1)[0]}-{rest}.sql" and version >= 0
