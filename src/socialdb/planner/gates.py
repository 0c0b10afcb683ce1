"""What makes a lock plan fail a CI job (`migrate plan --fail-on`) and what counts as a large
table. Light on purpose: the CLI declares its options with these before any planning code loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FailOn(StrEnum):
    """`migrate plan --fail-on`: what makes the plan fail a CI job."""

    ACCESS_EXCLUSIVE_ON_LARGE = "access-exclusive-on-large"  # ACCESS EXCLUSIVE on a large table (unknown counts)
    BLOCKING_ON_LARGE = "blocking-on-large"  # any risk mark: reads or writes of a large table wait
    REWRITE = "rewrite"  # a table that exists now is rewritten
    UNKNOWN = "unknown"  # a statement the plan cannot classify


@dataclass(frozen=True)
class Thresholds:
    """A relation is large from this many estimated rows (or, never analysed, bytes)."""

    large_rows: int = 100_000
    large_bytes: int = 100 * 1024 * 1024
