"""Files written for another migration tool, recognised so that none is misread: a dbmate or
node-pg-migrate file has its rollback after a marker socialdb does not use, so read as a
socialdb file its down SQL would run as part of up (issue 24). Each is refused with one line
naming the tool and the conversion. Pure: names and lines in, a message out.
"""

from __future__ import annotations

import re

# (pattern over a file name, tool, how to convert it)
_NAMES = [
    (
        re.compile(r"^\d+_[\w.-]+\.(up|down)\.sql$"),
        "golang-migrate",
        "join each .up.sql / .down.sql pair into one NNN-name.sql, the down part after '-- ROLLBACK'",
    ),
    (
        re.compile(r"^[VU]\d+(?:[._]\d+)*__.+\.sql$|^R__.+\.sql$"),
        "Flyway",
        "rename V<version>__<name>.sql to NNN-name.sql and add its rollback after '-- ROLLBACK'"
        " (a U file's SQL); repeatable R__ files have no socialdb equivalent",
    ),
    (
        re.compile(r"^\d{14}_[\w.-]+\.sql$"),
        "dbmate",
        "rename it YYYYmmddHHMMSS-name.sql (a dash, not an underscore)",
    ),
]
# (pattern over a line, tool, how to convert it)
_MARKERS = [
    (
        re.compile(r"^--\s*migrate:(up|down)\b", re.IGNORECASE),
        "dbmate",
        "drop '-- migrate:up' and write '-- ROLLBACK' for '-- migrate:down'",
    ),
    (
        re.compile(r"^--\s*(up|down)\s+migration\s*$", re.IGNORECASE),
        "node-pg-migrate",
        "drop '-- Up Migration' and write '-- ROLLBACK' for '-- Down Migration'",
    ),
]
DIESEL_HINT = (
    "a Diesel migration folder (up.sql and down.sql): make it one NNN-name.sql, the down part after '-- ROLLBACK'"
)


def by_name(filename: str) -> str | None:
    """Why a file name is another tool's, or None."""
    for pattern, tool, conversion in _NAMES:
        if pattern.match(filename):
            return f"a {tool} file name: socialdb reads NNN-name.sql files; {conversion}"
    return None


def by_marker(lines: list[str]) -> tuple[int, str] | None:
    """(1-based line, why) of the first line that marks a part in another tool's format, or None."""
    for index, line in enumerate(lines):
        if "--" not in line:  # every marker is a comment: most lines are passed over at once
            continue
        for pattern, tool, conversion in _MARKERS:
            if pattern.match(line.strip()):
                return index + 1, (
                    f"{line.strip()!r} is {tool}'s marker: read as socialdb's, its rollback would run as part"
                    f" of up; {conversion}"
                )
    return None
