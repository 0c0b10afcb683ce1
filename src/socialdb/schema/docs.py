"""docs/schema: README.md (with the Mermaid diagram), schema.svg and schema.sql, written or checked.

The files are a function of the catalog alone, so the same schema gives the same bytes.
The SVG is the one exception: its pixels depend on the Graphviz version that drew it, so it
carries the hash of the dot source it was drawn from, and that hash is what counts. Writing
leaves an SVG whose hash is current untouched (no churn when another Graphviz would draw it
differently), and checking needs no Graphviz at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from socialdb.schema import catalog as catalog_reader
from socialdb.schema import diagram, dump, markdown, scratch
from socialdb.schema.model import Catalog

README, SVG, SQL = "README.md", "schema.svg", "schema.sql"
FILES = (README, SVG, SQL)


class DocsMode(StrEnum):
    WRITE = "write"  # bring the files up to date
    CHECK = "check"  # change nothing; say which files differ


@dataclass(frozen=True)
class Docs:
    """The generated files' contents; the SVG as its dot source, drawn only when needed."""

    readme: str
    sql: str
    dot: str


def build(catalog: Catalog) -> Docs:
    return Docs(readme=markdown.render(catalog), sql=dump.render(catalog), dot=diagram.dot_source(catalog))


def from_migrations(server_url: str, directory: Path | None = None) -> Catalog:
    """The catalog of a scratch database on `server_url` with every migration applied."""
    with scratch.migrated(server_url, directory=directory) as url:
        return catalog_reader.read(url)


def sync(docs: Docs, out: Path, mode: DocsMode) -> list[str]:
    """WRITE: the files written (those that changed). CHECK: one line per file that differs."""
    if mode == DocsMode.CHECK:
        return check(docs, out)
    return write(docs, out)


def write(docs: Docs, out: Path) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in ((README, docs.readme), (SQL, docs.sql)):
        if _read(out / name) != text:
            (out / name).write_text(text, encoding="utf-8")
            written.append(str(out / name))
    if _svg_problem(docs, out) is not None:
        (out / SVG).write_text(diagram.render_svg(docs.dot), encoding="utf-8")
        written.append(str(out / SVG))
    return written


def check(docs: Docs, out: Path) -> list[str]:
    problems = [_text_problem(out / name, text) for name, text in ((README, docs.readme), (SQL, docs.sql))]
    problems.append(_svg_problem(docs, out))
    return [p for p in problems if p is not None]


def _text_problem(path: Path, expected: str) -> str | None:
    found = _read(path)
    if found is None:
        return f"{path} is missing"
    if found == expected:
        return None
    return f"{path} differs from what the migrations produce: {first_difference(expected, found)}"


def _svg_problem(docs: Docs, out: Path) -> str | None:
    found = _read(out / SVG)
    if found is None:
        return f"{out / SVG} is missing"
    drawn_from, now = diagram.svg_source_hash(found), diagram.source_hash(docs.dot)
    if drawn_from != now:
        return f"{out / SVG} was drawn from another schema (dot source {str(drawn_from)[:12]}, now {now[:12]})"
    return None


def first_difference(expected: str, found: str) -> str:
    """`line N: expected `...`, found `...``, lines cut to 100 characters."""
    old, new = expected.splitlines(), found.splitlines()
    for number, (want, have) in enumerate(zip(old, new, strict=False), start=1):
        if want != have:
            return f"line {number}: expected `{want[:100]}`, found `{have[:100]}`"
    number = min(len(old), len(new)) + 1
    if len(old) > len(new):
        return f"line {number}: expected `{old[number - 1][:100]}`, found the end of the file"
    if len(new) > len(old):
        return f"line {number}: expected the end of the file, found `{new[number - 1][:100]}`"
    return "line endings or a final newline differ"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
