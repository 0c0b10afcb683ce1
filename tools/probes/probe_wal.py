"""WAL records written per webhook message, ours against the spec's schema (docs/performance.md).

Each message is one statement in autocommit; the WAL is this session's own, from
PostgreSQL 18's per-backend statistics (pg_stat_get_backend_wal), so other sessions on
the server do not blur it, and triggers and the commit record count on both sides.
(EXPLAIN (ANALYZE, WAL) would not do: a top-level INSERT's row trigger fires after the
plan's counters stop, while a function's inner statements fire theirs inside them.)
Ours is measured as shipped and with the three indexes migration 026 dropped put back
for the measurement (and dropped again). Run after `socialdb bench run` (it writes
messages into the benchmark databases):
    uv run python -m tools.probes.probe_wal
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

import psycopg

from socialdb import embedded
from socialdb.app import operations as ops
from socialdb.bench import workload
from socialdb.bench.run import OURS, SPEC, url_for
from socialdb.settings import embedded_dir

N = 500
DROPPED_BY_026 = (
    "CREATE INDEX idx_conversations_last_message ON conversations (last_message_at DESC)",
    "CREATE INDEX idx_conversations_status ON conversations (status)",
    "CREATE INDEX idx_messages_sent_at ON messages (sent_at DESC)",
)


_OWN_WAL = "SELECT wal_records, wal_fpi, wal_bytes FROM pg_stat_get_backend_wal(pg_backend_pid())"


def own_wal(conn: psycopg.Connection[Any]) -> tuple[int, int, int]:
    """This session's WAL so far: records, full-page images, bytes."""
    conn.execute("SELECT pg_stat_force_next_flush()")
    row = conn.execute(_OWN_WAL).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def wal_per_message(url: str, ours: bool, targets: list[tuple[Any, ...]], tag: str) -> tuple[float, float, float]:
    """(records, full-page images, bytes) per webhook message, one per target, one by one."""
    statement = ops.INGEST_STATEMENT if ours else workload.SPEC_INGEST  # the same statements the bench sends
    with psycopg.connect(url, autocommit=True) as conn:
        if ours:
            conn.execute("SET ROLE socialdb_app")
        before = own_wal(conn)
        for n, (account, conversation, seller) in enumerate(targets):
            message = ops.IncomingMessage(
                account, conversation, "cliente", f"{tag}-{time.time()}-{n}", "customer", datetime.now(UTC),
                "Oi, ainda tem?",
            )  # fmt: skip
            conn.execute(statement.encode(), ops.ingest_parameters(seller, message))
        after = own_wal(conn)
    n = len(targets)
    return (after[0] - before[0]) / n, (after[1] - before[1]) / n, (after[2] - before[2]) / n


def per_message(url: str, ours: bool, targets: list[tuple[Any, ...]], tag: str) -> str:
    records, fpi, _ = wal_per_message(url, ours, targets, tag)
    return f"{records:.1f} WAL records per message ({fpi * len(targets):.0f} full-page images in {len(targets)})"


def main() -> None:
    admin_url = embedded.start(embedded_dir())  # the server `socialdb bench run` used
    ours_url, spec_url = url_for(admin_url, OURS), url_for(admin_url, SPEC)
    with psycopg.connect(ours_url) as conn:
        rows = conn.execute("SELECT client_account_id, platform_conversation_id, user_id FROM conversations").fetchall()
    targets = random.Random(3).sample(rows, N)
    print("spec schema:              ", per_message(spec_url, False, targets, "wal-spec"))
    print("ours, as shipped:         ", per_message(ours_url, True, targets, "wal-ours"))
    with psycopg.connect(ours_url, autocommit=True) as conn:
        for statement in DROPPED_BY_026:
            conn.execute(statement.encode())
        try:
            print("ours, 026's indexes back: ", per_message(ours_url, True, targets, "wal-back"))
        finally:
            conn.execute("DROP INDEX idx_conversations_last_message, idx_conversations_status, idx_messages_sent_at")


if __name__ == "__main__":
    main()
