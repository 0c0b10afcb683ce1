"""Where a customer's first message spends its time, ours against the spec's (issue 22, migration 048).

Per message that opens a conversation (one by one, one connection, autocommit), for the spec's
schema, ours with 044's function (048's rollback applied) and ours with 048's (its up part):

- WAL: records, full-page images and bytes, from pg_stat_wal (the whole server: run it on a
  server nothing else writes to) and the insert position's advance;
- heap row versions written per table (pg_stat_user_tables: inserts, updates, of which HOT),
  and the index entries they imply (each insert and non-HOT update adds one to every index of
  its table; a HOT update adds none);
- server CPU per message (/proc of the backend), and the time of the trigger functions
  (pg_stat_user_functions; the server needs track_functions = all);
- with auto_explain (log_analyze, log_triggers, log_nested_statements) on a second pass: the
  time of each statement inside the function and of every trigger, foreign keys' included,
  from the server's log (the server's `log_destination` must be stderr to a file: LOG_FILE);
- lock waits: pg_stat_activity sampled every 10 ms during 8 pgbench clients (all first contacts).

Run against a quiet server after `socialdb bench generate` there (it writes conversations and
messages into the benchmark databases; 048's up part is left applied at the end):
    uv run python -m tools.probes.probe_first_contact ADMIN_URL LOG_FILE
"""

from __future__ import annotations

import collections
import re
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from socialdb.app import operations as ops
from socialdb.bench import pgbench, workload
from socialdb.bench.run import OURS, SPEC, url_for
from socialdb.scripts.files import default_directory
from tools.probes.probe_ingest_counts import backend_cpu_s, parts

N = 1000
EXPLAINED = 200
ROUNDS = 3
MIGRATION = "048-first-contact-in-one-statement.sql"
_WAL = "SELECT wal_records, wal_fpi, wal_bytes, pg_current_wal_insert_lsn() - '0/0'::pg_lsn FROM pg_stat_wal"
_TABLES = (
    "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
    " WHERE relname IN ('conversations', 'messages') ORDER BY relname"
)
_INDEXES = (
    "SELECT c.relname, count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
    " WHERE c.relname IN ('conversations', 'messages') AND c.relnamespace = 'public'::regnamespace GROUP BY 1"
)
_FUNCTIONS = "SELECT funcname, calls, total_time, self_time FROM pg_stat_user_functions ORDER BY funcname"
Conn = psycopg.Connection[Any]


def _messages(sample: workload.Sample, tag: str, n: int) -> list[tuple[Any, ops.IncomingMessage]]:
    """`n` first contacts: each on a sampled conversation's account, with a conversation id never seen."""
    out = []
    for i in range(n):
        _, account, seller = sample.conversations[i % len(sample.conversations)]
        message = ops.IncomingMessage(
            account, f"probe-{tag}-{i}", "cliente", f"probe-{tag}-{i}", "customer", datetime.now(UTC), "Oi, tudo bem?"
        )
        out.append((seller, message))
    return out


def _send(conn: Conn, schema: str, items: list[tuple[Any, ops.IncomingMessage]]) -> None:
    for seller, message in items:
        if schema == "socialdb":
            ops.ingest_message(conn, seller, message)
        else:
            conn.execute(workload.SPEC_INGEST, ops.ingest_parameters(None, message))


def _snapshot(url: str) -> tuple[tuple[int, ...], dict[str, tuple[int, int, int]], dict[str, tuple[int, float, float]]]:
    time.sleep(1.2)  # PostgreSQL 15 flushes a backend's table and function counts at most once a second
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        wal = conn.execute(_WAL).fetchone()
        assert wal is not None
        tables = {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in conn.execute(_TABLES)}
        functions = {r[0]: (int(r[1]), float(r[2]), float(r[3])) for r in conn.execute(_FUNCTIONS)}
    return tuple(int(v) for v in wal), tables, functions


def costs(url: str, schema: str, sample: workload.Sample, tag: str) -> dict[str, float]:
    """Per first contact: WAL, row versions, index entries, server CPU, trigger functions' time."""
    items = _messages(sample, tag, N)
    with psycopg.connect(url, autocommit=True) as conn:
        indexes = {r[0]: int(r[1]) for r in conn.execute(_INDEXES)}
    before = _snapshot(url)
    with psycopg.connect(url, autocommit=True, prepare_threshold=2) as conn:
        if schema == "socialdb":
            conn.execute("SET ROLE socialdb_app")
        cpu = backend_cpu_s(conn.info.backend_pid)
        started = time.perf_counter()
        _send(conn, schema, items)
        elapsed = time.perf_counter() - started
        cpu = backend_cpu_s(conn.info.backend_pid) - cpu
    after = _snapshot(url)
    out = {
        "WAL records": (after[0][0] - before[0][0]) / N,
        "WAL full-page images": (after[0][1] - before[0][1]) / N,
        "WAL bytes": (after[0][3] - before[0][3]) / N,
        "server CPU us": cpu / N * 1e6,
        "wall us (one connection)": elapsed / N * 1e6,
    }
    entries = 0.0
    for table in ("conversations", "messages"):
        ins, upd, hot = (a - b for a, b in zip(after[1][table], before[1][table], strict=True))
        out[f"{table}: inserted"] = ins / N
        out[f"{table}: updated (non-HOT)"] = (upd - hot) / N
        out[f"{table}: updated (HOT)"] = hot / N
        entries += (ins + upd - hot) * indexes[table] / N
    out["index entries (GIN: one insert into its pending list)"] = entries
    for name, (calls, total, _) in after[2].items():
        was = before[2].get(name, (0, 0.0, 0.0))
        if calls > was[0]:
            out[f"function {name}: calls"] = (calls - was[0]) / N
            out[f"function {name}: us"] = (total - was[1]) * 1000 / N
    return out


_STATEMENT = re.compile(r"duration: ([\d.]+) ms\s+plan:\s+Query Text: (.*?)(?=\n\S|\Z)", re.S)
_TRIGGER = re.compile(r"Trigger (.+?)(?: on \w+)?: time=([\d.]+) calls=(\d+)")


def explained(url: str, schema: str, sample: workload.Sample, tag: str, log: Path) -> dict[str, float]:
    """Per first contact, from auto_explain: each statement's and trigger's time (us), the function's inner ones."""
    items = _messages(sample, tag, EXPLAINED)
    start = log.stat().st_size
    with psycopg.connect(url, autocommit=True) as conn:
        for setting in ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
                        "SET auto_explain.log_analyze = on", "SET auto_explain.log_triggers = on",
                        "SET auto_explain.log_nested_statements = on", "SET auto_explain.log_timing = on"):  # fmt: skip
            conn.execute(setting.encode())
        if schema == "socialdb":
            conn.execute("SET ROLE socialdb_app")
        _send(conn, schema, items)
    time.sleep(0.5)
    with log.open(encoding="utf-8", errors="replace") as f:
        f.seek(start)
        text = f.read()
    out: dict[str, float] = collections.defaultdict(float)
    for duration, query in _STATEMENT.findall(text):
        first = " ".join(query.split())[:70]
        out[f"statement: {first}"] += float(duration) * 1000 / EXPLAINED
        for name, ms, _calls in _TRIGGER.findall(query):
            out[f"trigger: {name}"] += float(ms) * 1000 / EXPLAINED
    return dict(out)


def lock_waits(executable: Path, url: str, schema: str, targets: int, seed: int) -> dict[str, float]:
    """pgbench, 8 clients, 8 s, every message a first contact: the share of its backends' samples by wait."""
    stop = threading.Event()
    seen: collections.Counter[str] = collections.Counter()

    def sampler() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.is_set():
                for event_type, event in conn.execute(
                    "SELECT coalesce(wait_event_type, 'CPU'), coalesce(wait_event, '') FROM pg_stat_activity"
                    " WHERE datname = %s AND application_name = 'pgbench' AND state = 'active'",
                    (conn.info.dbname,),
                ):
                    seen[f"{event_type} {event}".strip()] += 1
                time.sleep(0.01)

    thread = threading.Thread(target=sampler)
    thread.start()
    job = pgbench.Job(executable, url, schema, 8, 8, targets, seed, 1.0)
    summary = pgbench.run(job, "first contact")[1]
    stop.set()
    thread.join()
    total = sum(seen.values()) or 1
    out = {f"wait {key}": count / total for key, count in seen.most_common(8)}
    out["pgbench tps"] = summary.tps
    return out


def main() -> None:
    admin_url, log = sys.argv[1], Path(sys.argv[2])
    up, down = parts(default_directory() / MIGRATION)
    urls = {"spec": url_for(admin_url, SPEC), "ours": url_for(admin_url, OURS)}
    sample = workload.sample(urls["ours"])
    ids = workload.platform_conversation_ids(urls["ours"], [c for c, _, _ in sample.conversations])
    targets = min(pgbench.create_targets(u, sample.conversations, ids) for u in urls.values())
    executable = pgbench.find()
    variants = [("spec", None), ("ours 044", down), ("ours 048", up)]
    results: dict[str, dict[str, list[float]]] = {name: collections.defaultdict(list) for name, _ in variants}
    for round_ in range(ROUNDS):
        for name, sql in variants[round_ % 3 :] + variants[: round_ % 3]:
            schema, url = ("spec", urls["spec"]) if sql is None else ("socialdb", urls["ours"])
            if sql is not None:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(sql.encode())
            tag = f"{round_}-{name.replace(' ', '-')}"
            found = costs(url, schema, sample, tag)
            if round_ == 0:
                found |= explained(url, schema, sample, tag + "-x", log)
            if executable is not None:
                found |= lock_waits(executable, url, schema, targets, 500_000 + 10 * round_ + len(name))
            for key, value in found.items():
                results[name][key].append(value)
            print(f"round {round_}, {name}: done", flush=True)
    with psycopg.connect(urls["ours"], autocommit=True) as conn:
        conn.execute(up.encode())
    keys = list(dict.fromkeys(k for r in results.values() for k in r))
    print("| per first contact | " + " | ".join(results) + " |")
    for key in keys:
        cells = [statistics.median(r[key]) if r.get(key) else None for r in results.values()]
        print(f"| {key} | " + " | ".join("" if c is None else f"{c:,.2f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
