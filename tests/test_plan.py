"""Comparing files with history: pure."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from socialdb.errors import (
    ChecksumMismatchError,
    FailedMigrationError,
    MissingMigrationError,
    NoRollbackError,
    OutOfOrderError,
    UsageError,
)
from socialdb.planner import live
from socialdb.scripts import standing
from socialdb.scripts.files import Migration, parse_migration
from socialdb.scripts.standing import HistoryRow

NOW = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def mig(version: int, body: str = "SELECT 1;\n-- ROLLBACK\nSELECT 2;\n") -> Migration:
    return parse_migration(f"{version:03d}-m{version}.sql", body)


def row(m: Migration, state: str = "applied", checksum: str | None = None) -> HistoryRow:
    error = "boom" if state == "failed" else None
    return HistoryRow(m.version, m.name, m.filename, checksum or m.checksum, NOW, 5, state, None, error)


def test_status_states() -> None:
    a, b, c = mig(1), mig(2), mig(3)
    gone = mig(4)
    rows = standing.status([a, b, c], [row(a), row(b, checksum="0" * 64), row(gone)])
    assert [(r.version, r.state) for r in rows] == [(1, "applied"), (2, "changed"), (3, "pending"), (4, "missing")]


def test_pending_refuses_changed_missing_failed_and_out_of_order() -> None:
    a, b, c = mig(1), mig(2), mig(3)
    assert standing.pending([a, b, c], [row(a)]) == [b, c]
    with pytest.raises(ChecksumMismatchError, match="001-m1.sql: changed since it was applied"):
        standing.pending([a, b], [row(a, checksum="f" * 64)])
    with pytest.raises(MissingMigrationError, match="002-m2.sql: applied .* the file is missing"):
        standing.pending([a], [row(a), row(b)])
    with pytest.raises(FailedMigrationError, match="resolve 2"):
        standing.pending([a, b], [row(a), row(b, "failed")])
    with pytest.raises(OutOfOrderError, match="002-m2.sql is pending but version 3"):  # exit 1, not usage
        standing.pending([a, b, c], [row(a), row(c)])


def test_rollbacks_newest_first_and_checked_before_running() -> None:
    a, b, c = mig(1), mig(2), mig(3)
    assert standing.rollbacks([a, b, c], [row(a), row(b), row(c)], 2) == [c, b]
    with pytest.raises(UsageError, match="only 3 applied"):
        standing.rollbacks([a, b, c], [row(a), row(b), row(c)], 4)
    with pytest.raises(UsageError):
        standing.rollbacks([a], [row(a)], 0)
    no_down = mig(4, "SELECT 1;\n")
    with pytest.raises(NoRollbackError, match="004-m4.sql: has no '-- ROLLBACK' section"):
        standing.rollbacks([a, no_down], [row(a), row(no_down)], 2)


def test_a_partitioned_relations_size_is_its_partitions_sum(db_url: str) -> None:
    """relpages is -1 for a partitioned table or index: its size must be its partitions' sum,
    never negative (issue 23)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        seller = conn.execute(
            "INSERT INTO users (email, password_hash, name) VALUES ('p@x.com', 'h', 'P') RETURNING id"
        ).fetchone()
        assert seller is not None
        conn.execute(
            "INSERT INTO analytics_events (user_id, event_type, event_category, occurred_at)"
            " SELECT %s, 'view', 'engagement', now() - g * interval '1 hour' FROM generate_series(1, 2000) AS g",
            (seller[0],),
        )
        conn.execute("ANALYZE analytics_events")
        with conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            facts = live.facts(conn)
        leaves = conn.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_partition_tree('analytics_events') AS t"
            " JOIN pg_class AS c ON c.oid = t.relid JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE t.isleaf AND c.relkind = 'r'"
        ).fetchall()
    parent = facts.relations["public.analytics_events"]
    parts = [facts.relations[name] for (name,) in leaves]
    assert parent.rows == sum(p.rows or 0 for p in parts) and parent.rows is not None and parent.rows >= 2000
    assert parent.bytes == sum(p.bytes or 0 for p in parts) and parent.bytes > 0
    sizes = [r.bytes for r in facts.relations.values() if r.bytes is not None]
    assert sizes and min(sizes) >= 0  # partitioned indexes too
