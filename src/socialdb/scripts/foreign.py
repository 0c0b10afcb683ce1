"""Files written for another migration tool, recognised so that none is misread: a dbmate or
node-pg-migrate file has its rollback after a marker socialdb does not use, so read as a
socialdb file its down SQL would run as part of up (issue 24). Each is refused with one line
naming the tool and `socialdb migrate import`, which converts the folder (and adopts its
history). Pure: names and lines in, a message out.
"""

from __future__ import annotations

import re

# Patterns as text, compiled on first use (re's cache): a no-op `up` reads no file's lines and
# every name it reads is socialdb's, so it compiles none (issue 24, start-up).
# (pattern over a file name, tool as `--from` names it, how to convert it by hand)
_NAMES = [
    (
        r"^\d+_[\w.-]+\.(up|down)\.sql$",
        "golang-migrate",
        "each .up.sql / .down.sql pair is one NNN-name.sql, the down part after '-- ROLLBACK'",
    ),
    (
        r"^[VU]\d+(?:[._]\d+)*__.+\.sql$|^R__.+\.sql$",
        "flyway",
        "a V file is NNN-name.sql, its U file's SQL after '-- ROLLBACK'; R__ files have no socialdb kind",
    ),
    (
        r"^\d{14}_[\w.-]+\.sql$",
        "dbmate",
        "YYYYmmddHHMMSS-name.sql (a dash, not an underscore), '-- ROLLBACK' for '-- migrate:down'",
    ),
    (
        r"^\d+_[\w.-]+\.sql$",
        "node-pg-migrate",
        "NNN-name.sql (a dash, not an underscore), '-- ROLLBACK' for '-- Down Migration'",
    ),
]
# (pattern over a line, tool, the marker's conversion); node-pg-migrate's is its own (sqlMigration.ts)
_MARKERS = [
    (r"^--\s*migrate:(up|down)\b", "dbmate", "'-- ROLLBACK' for '-- migrate:down'"),
    (
        r"^--[\s-]*(up|down)\s+migration",
        "node-pg-migrate",
        "'-- ROLLBACK' for '-- Down Migration'",
    ),
]
_IMPORT = "convert the folder with `socialdb migrate import --from {tool} DIR --dir NEW`"
DIESEL_HINT = "a Diesel migration folder (up.sql and down.sql): socialdb reads NNN-name.sql files; " + _IMPORT.format(
    tool="diesel"
)


def by_name(filename: str) -> str | None:
    """Why a file name is another tool's, or None."""
    for pattern, tool, conversion in _NAMES:
        if re.match(pattern, filename):
            label = "Flyway" if tool == "flyway" else tool
            return f"a {label} file name: socialdb reads NNN-name.sql files; {_IMPORT.format(tool=tool)} ({conversion})"
    return None


def by_marker(lines: list[str]) -> tuple[int, str] | None:
    """(1-based line, why) of the first line that marks a part in another tool's format, or None."""
    for index, line in enumerate(lines):
        if not line.lstrip().startswith("--"):
            continue  # every marker is a comment: most lines are not (a no-op `up` reads every file)
        for pattern, tool, conversion in _MARKERS:
            if re.match(pattern, line.strip(), re.IGNORECASE):
                return index + 1, (
                    f"{line.strip()!r} is {tool}'s marker: read as socialdb's, its rollback would run as part"
                    f" of up; {_IMPORT.format(tool=tool)} (or write {conversion})"
                )
    return None
