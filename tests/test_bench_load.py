"""The benchmark's load: both schemas get the same rows and a built daily summary."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from socialdb.bench import generate, pgbench, rounds, run, workload
from socialdb.db import drop_database

# Per category: groups, events and value, from each schema's summary.
_TOTALS = """
SELECT event_category, count(*), sum(event_count), sum(total_value)
FROM analytics_daily_summary GROUP BY event_category ORDER BY event_category
"""
_ROLLUP_TOTALS = """
SELECT event_category, sum(event_count), sum(total_value)
FROM analytics_daily_rollup GROUP BY event_category ORDER BY event_category
"""


@pytest.fixture
def loaded(server_url: str) -> Iterator[tuple[str, str]]:
    run.generate_data(server_url, 0.001, lambda _message: None, lambda _table, _done, _total: None)
    try:
        yield run.url_for(server_url, run.OURS), run.url_for(server_url, run.SPEC)
    finally:
        for name in (run.OURS, run.SPEC):
            drop_database(server_url, name)


def test_both_summaries_are_built_from_the_same_events(loaded: tuple[str, str]) -> None:
    ours_url, spec_url = loaded
    with psycopg.connect(ours_url) as ours, psycopg.connect(spec_url) as spec:
        events = [c.execute("SELECT count(*) FROM analytics_events").fetchone() for c in (ours, spec)]
        ours_totals = ours.execute(_TOTALS).fetchall()
        rollup_totals = ours.execute(_ROLLUP_TOTALS).fetchall()
        spec_totals = spec.execute(_TOTALS).fetchall()
    assert events[0] == events[1] and events[0] is not None and events[0][0] > 0
    # The load runs with triggers off: a summary left empty would make the dashboard look fast.
    assert ours_totals and ours_totals == spec_totals
    assert rollup_totals == [(category, count, value) for category, _groups, count, value in spec_totals]


def test_rounds_interleave_the_schemas_and_give_each_round_s_events_a_day_of_their_own(
    loaded: tuple[str, str],
) -> None:
    ours_url, spec_url = loaded
    context = rounds.Context({"socialdb": ours_url, "spec": spec_url}, workload.sample(ours_url), 0.05, 0, 50, None, 0)
    done = rounds.run_rounds(context, 2, lambda _message: None)
    operations = [op.name for op in rounds.operations(50) if not op.needs_pgbench]
    assert [(m.round, m.operation, m.schema) for m in done.measures] == rounds.schedule(operations, 2)
    assert all(m.calls > 0 for m in done.measures)
    assert len(done.round_seconds) == 2 and any("over 2 rounds" in key for key in done.notes)
    for url in (ours_url, spec_url):
        with psycopg.connect(url) as conn:
            days = conn.execute(
                "SELECT (now() AT TIME ZONE 'UTC')::date - (occurred_at AT TIME ZONE 'UTC')::date, count(*)"
                " FROM analytics_events WHERE value = 49.90 AND event_type = 'sale' AND occurred_at > now() - interval '3 days'"
                " GROUP BY 1 ORDER BY 1"
            ).fetchall()
        assert days == [(1, 500), (2, 500)]  # the same work each round, on a day of its own


def test_pgbench_runs_the_ingest_on_both_schemas_and_ours_stays_exact(loaded: tuple[str, str]) -> None:
    executable = pgbench.find()
    if executable is None:
        pytest.skip("no pgbench on this machine")
    ours_url, spec_url = loaded
    s = workload.sample(ours_url)
    for schema, url in (("socialdb", ours_url), ("spec", spec_url)):
        ids = workload.platform_conversation_ids(url, [c for c, _, _ in s.conversations])
        targets = pgbench.create_targets(url, s.conversations, ids)
        with psycopg.connect(url) as conn:
            before = conn.execute("SELECT count(*) FROM messages").fetchone()
        measure, summary = pgbench.run(pgbench.Job(executable, url, schema, 2, 1, targets, 5), "pgbench ingest")
        with psycopg.connect(url) as conn:
            after = conn.execute("SELECT count(*) FROM messages").fetchone()
            drift = conn.execute(_UNREAD_DRIFT).fetchone()
        assert before is not None and after is not None and drift is not None
        assert summary.transactions > 0 and summary.failed == 0
        assert after[0] - before[0] == summary.transactions == measure.calls  # one message per transaction
        assert len(measure.latencies_ms) == summary.transactions and measure.rate == pytest.approx(summary.tps)
        if schema == "socialdb":
            assert drift[0] == 0  # unread_count equals the unread customer messages, every conversation


def test_first_contacts_open_conversations_on_both_schemas_and_ours_stays_exact(loaded: tuple[str, str]) -> None:
    ours_url, spec_url = loaded
    s = workload.sample(ours_url)
    executable = pgbench.find()
    for schema, url in (("socialdb", ours_url), ("spec", spec_url)):
        with psycopg.connect(url) as conn:
            before = conn.execute(_COUNTS).fetchone()
        measure = workload.webhook_ingest(url, schema, s, 0.2, 2, f"fc-test-{schema}", 1.0)
        transactions = 0
        if executable is not None:
            ids = workload.platform_conversation_ids(url, [c for c, _, _ in s.conversations])
            targets = pgbench.create_targets(url, s.conversations, ids)
            job = pgbench.Job(executable, url, schema, 2, 1, targets, 6, 1.0)
            transactions = pgbench.run(job, "first contact")[1].transactions
        with psycopg.connect(url) as conn:
            after = conn.execute(_COUNTS).fetchone()
            drift = conn.execute(_UNREAD_DRIFT).fetchone()
        assert before is not None and after is not None and drift is not None and measure.calls > 0
        assert measure.operation == "webhook ingest, 2 connections, 100% first contact"
        # Every message opened a conversation of its own: as many new conversations as messages.
        assert after[0] - before[0] == after[1] - before[1] == measure.calls + transactions
        if schema == "socialdb":
            assert drift[0] == 0


_COUNTS = "SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages)"
_UNREAD_DRIFT = """
SELECT count(*) FROM conversations c
WHERE unread_count <> (SELECT count(*) FROM messages m
                       WHERE m.conversation_id = c.id AND m.sender_type = 'customer' AND NOT m.is_read)
"""


def test_the_load_drops_and_rebuilds_a_partitioned_table_s_index_once(empty_db_url: str) -> None:
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (k int, at date) PARTITION BY RANGE (at)")
        conn.execute("CREATE TABLE t_2026 PARTITION OF t FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')")
        conn.execute("CREATE TABLE plain (k int)")
        conn.execute("CREATE INDEX t_k ON t (k)")
        conn.execute("CREATE INDEX plain_k ON plain (k)")
        definitions = generate._drop_secondary_indexes(conn)
        assert sorted(definitions) == [
            "CREATE INDEX plain_k ON public.plain USING btree (k)",
            "CREATE INDEX t_k ON public.t USING btree (k)",
        ]
        assert conn.execute("SELECT count(*) FROM pg_index").fetchone() != (0,)
        for definition in definitions:
            conn.execute(definition.encode())
        built = conn.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
            " JOIN pg_class c ON c.oid = i.indexrelid WHERE t.relname IN ('t', 't_2026', 'plain') ORDER BY 1"
        ).fetchall()
    assert built == [("plain_k", True), ("t_2026_k_idx", True), ("t_k", True)]
