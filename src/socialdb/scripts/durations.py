"""Durations as PostgreSQL's settings spell them: `500ms`, `1s`, `2min`, `1h`, `0` / `off`."""

from __future__ import annotations

import re

_UNITS_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000}
_PATTERN = re.compile(r"^(\d+)(ms|s|min|h)?$")


def parse_duration(text: str) -> int:
    """Return milliseconds; 0 means "no timeout". Raise ValueError naming the text."""
    value = text.strip().lower()
    if value in ("off", "0"):
        return 0
    match = _PATTERN.match(value)
    if match is None or match.group(2) is None:
        raise ValueError(f"invalid duration {text!r}: use a number with ms, s, min or h (e.g. 500ms, 1s), or off")
    return int(match.group(1)) * _UNITS_MS[match.group(2)]


def format_duration(ms: int) -> str:
    """The inverse of parse_duration, for messages and `SET` values."""
    if ms == 0:
        return "off"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"
