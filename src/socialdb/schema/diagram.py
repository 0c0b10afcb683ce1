"""The entity-relationship diagram: Mermaid (in the README, drawn by the code host) and
Graphviz `dot` (schema.svg).

Both show the tables (not views, not partitions) with their columns, and one arrow per
foreign key, from the referencing column to the referenced one (a composite key is drawn
between its first columns; the rest is the tenant key `user_id`, which every such key
carries). The SVG carries the sha256 of the dot source it was drawn from, so whether it
is current can be told without Graphviz, and an SVG drawn by another Graphviz version from
the same source counts as current.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass

from socialdb.errors import GraphvizError
from socialdb.schema.model import Catalog, ConstraintKind, Relation

DOT_TIMEOUT_S = 60
SOURCE_MARK = "<!-- socialdb schema docs: dot source sha256 "
_HEADER_COLOUR = "#dbe8f5"
_SHORT_TYPES = {"timestamp with time zone": "timestamptz", "timestamp without time zone": "timestamp"}


@dataclass(frozen=True)
class Link:
    """A foreign key as the diagram draws it: between the first columns of each side."""

    table: str
    column: str
    parent: str
    parent_column: str
    optional: bool  # the referencing column may be NULL
    columns: tuple[str, ...]


def short_type(type_: str) -> str:
    for long, short in _SHORT_TYPES.items():
        type_ = type_.replace(long, short)
    return type_


def drawn(catalog: Catalog) -> tuple[Relation, ...]:
    """The tables the diagrams show."""
    return tuple(t for t in catalog.tables if t.partition_of is None)


def links(catalog: Catalog) -> list[Link]:
    shown = {t.qualified for t in drawn(catalog)}
    found = []
    for table in drawn(catalog):
        nullable = {c.name for c in table.columns if not c.not_null}
        for key in table.constraints:
            if key.kind == ConstraintKind.FOREIGN_KEY and key.references in shown and key.columns:
                first, parent_first = key.columns[0], key.referenced_columns[0]
                optional = any(c in nullable for c in key.columns)
                found.append(
                    Link(table.name, first, key.references.split(".", 1)[1], parent_first, optional, key.columns)
                )
    return sorted(found, key=lambda link: (link.table, link.column, link.parent))


def _markers(table: Relation) -> dict[str, list[str]]:
    """Column name -> PK / FK / UK, from the table's constraints."""
    marks: dict[str, list[str]] = {c.name: [] for c in table.columns}
    tags = {ConstraintKind.PRIMARY_KEY: "PK", ConstraintKind.FOREIGN_KEY: "FK", ConstraintKind.UNIQUE: "UK"}
    for key in sorted(table.constraints, key=lambda k: list(tags).index(k.kind) if k.kind in tags else 9):
        tag = tags.get(key.kind)
        if tag is None or (tag == "UK" and len(key.columns) != 1):
            continue
        for column in key.columns:
            if tag not in marks[column]:
                marks[column].append(tag)
    return marks


# Mermaid ----------------------------------------------------------------------------------

_MERMAID_WORD = re.compile(r"[^A-Za-z0-9_\-\[\]]")


def mermaid(catalog: Catalog) -> str:
    """An `erDiagram` block (without the fence)."""
    lines = ["erDiagram"]
    for table in drawn(catalog):
        marks = _markers(table)
        lines.append(f"    {table.name} {{")
        for column in table.columns:
            type_ = _MERMAID_WORD.sub("", re.sub(r"\(.*?\)", "", short_type(column.type)).replace(" ", "_"))
            keys = f" {', '.join(marks[column.name])}" if marks[column.name] else ""
            lines.append(f"        {type_} {column.name}{keys}")
        lines.append("    }")
    for link in links(catalog):
        parent_side = "o|" if link.optional else "||"
        lines.append(f'    {link.table} }}o--{parent_side} {link.parent} : "{", ".join(link.columns)}"')
    return "\n".join(lines)


# Graphviz ---------------------------------------------------------------------------------


def dot_source(catalog: Catalog) -> str:
    lines = [
        "digraph schema {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=12, nodesep=0.3, ranksep=1.1, bgcolor="white",'
        '         labelloc=b, label="Arrows go from a foreign key to the column it references.'
        '  ?: may be NULL.  PK: primary key, FK: foreign key, UK: unique."];',
        '  node [shape=plain, fontname="Helvetica", fontsize=11];',
        '  edge [dir=back, arrowtail=normal, color="#4a6a8a", penwidth=1.2];',
    ]
    lines += [_node(table) for table in drawn(catalog)]
    # Drawn parent -> child so that referenced tables stand left; the arrow (at the tail) points at the parent.
    # Each row has two ports: `name.w` on its first cell, `name.e` on its last, so lines end at the table's edge.
    lines += [f'  "{k.parent}":"{k.parent_column}.e":e -> "{k.table}":"{k.column}.w":w;' for k in links(catalog)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node(table: Relation) -> str:
    marks = _markers(table)
    rows = [
        f'<TR><TD BGCOLOR="{_HEADER_COLOUR}" COLSPAN="3"><B>{_html(table.name)}</B></TD></TR>',
        *(
            f'<TR><TD PORT="{_html(c.name)}.w" ALIGN="LEFT">{_html(c.name)}</TD>'
            f'<TD ALIGN="LEFT"><FONT COLOR="#555555">{_html(short_type(c.type))}'
            f"{'' if c.not_null else '?'}</FONT></TD>"
            f'<TD PORT="{_html(c.name)}.e" ALIGN="LEFT">{_keys(marks[c.name])}</TD></TR>'
            for c in table.columns
        ),
    ]
    table_html = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">' + "".join(rows) + "</TABLE>"
    return f'  "{table.name}" [label=<{table_html}>];'


def _keys(marks: list[str]) -> str:
    return f'<FONT COLOR="#8a4a00">{" ".join(marks)}</FONT>' if marks else " "


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def svg_source_hash(svg: str) -> str | None:
    """The dot source hash an SVG of ours was drawn from, if it says."""
    start = svg.find(SOURCE_MARK)
    if start < 0:
        return None
    return svg[start + len(SOURCE_MARK) :].split(" ", 1)[0]


def render_svg(source: str) -> str:
    """Draw `source` with Graphviz's dot; the SVG, marked with the source's hash, without the version comment."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizError(
            "Graphviz's dot not found: install Graphviz to draw schema.svg"
            " (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"
        )
    try:
        done = subprocess.run(
            [dot, "-Tsvg"], input=source, capture_output=True, text=True, timeout=DOT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"dot did not finish drawing the schema within {DOT_TIMEOUT_S} s") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise GraphvizError(f"dot failed drawing the schema (exit {done.returncode}): {reason}")
    svg = re.sub(r"<!-- Generated by graphviz version [^>]*-->\n", "", done.stdout)
    mark = f"{SOURCE_MARK}{source_hash(source)} -->\n"
    head, sep, rest = svg.partition("?>\n")
    return f"{head}{sep}{mark}{rest}" if sep else mark + svg
