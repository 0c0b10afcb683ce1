"""Webhook ingest driven by pgbench, a separate process (issue 15): the server's cost without Python's.

Each schema runs exactly the statement its Python workload sends (`ops.INGEST_STATEMENT`, ours, as
`socialdb_app`; `workload.SPEC_INGEST`, the spec's), prepared, one per transaction in autocommit.
pgbench's variables are numbers, so each parameter the Python side passes becomes an expression:
the conversation, its account and seller, and the message text come from a lookup table of the
sampled conversations (`bench.ingest_targets`, a scalar subquery on its primary key per value), the
message id is a random number, the time `now()`. As in the Python workload, each client writes to
conversations of its own (client c takes targets c + 1, c + 1 + clients, ...), so no two clients
wait on the same conversation row. Throughput is pgbench's own `tps` (without connection time);
latencies come from its per-transaction log (`-l`).

With a share of first contacts (issue 22), each transaction draws whether its message opens a
conversation (`\\set first`, out of 10,000): if so, the conversation parameter is a platform id
made of the message's number (`fc-` and `:m`), never seen, on the drawn target's account.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from socialdb.app import operations as ops
from socialdb.bench.generate import CUSTOMER_SAYS
from socialdb.bench.workload import SPEC_INGEST, Measure
from socialdb.embedded import psql_path
from socialdb.errors import SocialdbError

PG15 = Path("/usr/lib/postgresql/15/bin/pgbench")
TARGETS = "bench.ingest_targets"
TIMEOUT_MARGIN_S = 120
_LOOKUP = "(SELECT {column} FROM " + TARGETS + " WHERE n = :n)"
# Each parameter of the Python workload's statement, as pgbench sends it.
PARAMETERS = {
    "seller": _LOOKUP.format(column="seller"),
    "account": _LOOKUP.format(column="account"),
    "conversation": _LOOKUP.format(column="conversation"),
    "participant": "'cliente'",
    "username": "NULL",
    "message": ":m",
    "sender": "'customer'",
    "type": "'text'",
    "content": _LOOKUP.format(column="content"),
    "sent_at": "now()",
}
_CHOOSE = [
    "\\set n 1 + :client_id + :clients * random(0, :per - 1)",
    "\\set m random(1, 1000000000000000)",
]
# With first contacts: 1 for a message that opens a conversation, drawn out of 10,000.
_FIRST = "\\set first CASE WHEN random(1, 10000) <= {basis_points} THEN 1 ELSE 0 END"
FIRST_CONVERSATION = "CASE WHEN :first = 1 THEN 'fc-' || CAST(:m AS text) ELSE {lookup} END"


@dataclass(frozen=True)
class Summary:
    """What pgbench prints at the end of a run."""

    transactions: int
    failed: int
    latency_average_ms: float
    tps: float


def find(given: Path | None = None) -> Path | None:
    """pgbench: `given`, else the embedded server's (same version), else PostgreSQL 15's, else PATH's."""
    if given is not None:
        return given
    psql = psql_path()
    candidates = [Path(psql).with_name("pgbench")] if psql else []
    on_path = shutil.which("pgbench")
    candidates += [PG15, *([Path(on_path)] if on_path else [])]
    return next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


def script(schema: str, share: float = 0.0) -> str:
    """The pgbench script of one schema: the Python workload's statement, each parameter an expression;
    with a `share` of first contacts (0 to 1), that share of messages opens a conversation."""
    statement = ops.INGEST_STATEMENT if schema == "socialdb" else SPEC_INGEST
    parameters = dict(PARAMETERS)
    choose = list(_CHOOSE)
    if share:
        choose.append(_FIRST.format(basis_points=round(share * 10_000)))
        parameters["conversation"] = FIRST_CONVERSATION.format(lookup=PARAMETERS["conversation"])
    body = re.sub(r"%\((\w+)\)s", lambda m: parameters[m.group(1)], statement.strip())
    return "\n".join([*choose, " ".join(body.split()) + ";", ""])


def parse_summary(output: str) -> Summary:
    """pgbench's closing lines (PostgreSQL 13 to 18); a SocialdbError naming what is missing."""
    found: dict[str, str] = {}
    patterns = {
        "transactions": r"number of transactions actually processed: (\d+)",
        "failed": r"number of failed transactions: (\d+)",
        "latency": r"latency average = ([\d.]+) ms",
        "tps": r"tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)",
    }
    for key, pattern in patterns.items():
        match = re.search(pattern, output)
        if match:
            found[key] = match.group(1)
    missing = [key for key in ("transactions", "tps") if key not in found]
    if missing:
        raise SocialdbError(f"pgbench's output has no {' or '.join(missing)} line: {output.strip()[-200:]!r}")
    return Summary(int(found["transactions"]), int(found.get("failed", 0)), float(found.get("latency", 0)),
                   float(found["tps"]))  # fmt: skip


def parse_log(lines: Iterable[str]) -> list[float]:
    """Latencies in ms from pgbench's per-transaction log (`client transaction time_us script epoch us ...`);
    failed transactions (`failed`, `serialization`, `deadlock` in the time column) are left out."""
    latencies: list[float] = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 3 and fields[2].isdigit():
            latencies.append(int(fields[2]) / 1000)
    return latencies


def create_targets(url: str, conversations: list[tuple[UUID, UUID, UUID]], platform_ids: dict[UUID, str]) -> int:
    """The lookup table of the sampled conversations, numbered from 1 (first drawn first); returns how many."""
    unique = list(dict.fromkeys(conversations))
    rows = [
        (n, seller, account, platform_ids[conversation], CUSTOMER_SAYS[n % len(CUSTOMER_SAYS)])
        for n, (conversation, account, seller) in enumerate(unique, start=1)
    ]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TARGETS}")
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
        conn.execute(
            f"CREATE TABLE {TARGETS} (n integer PRIMARY KEY, seller uuid NOT NULL, account uuid NOT NULL,"
            " conversation text NOT NULL, content text NOT NULL)"
        )
        with conn.cursor() as cur, cur.copy(f"COPY {TARGETS} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'socialdb_app'").fetchone():
            conn.execute("GRANT USAGE ON SCHEMA bench TO socialdb_app")
            conn.execute(f"GRANT SELECT ON {TARGETS} TO socialdb_app")
        conn.execute(f"ANALYZE {TARGETS}")
    return len(rows)


@dataclass(frozen=True)
class Job:
    """One pgbench run: a schema's script on its database."""

    executable: Path
    url: str
    schema: str
    clients: int
    seconds: int
    targets: int
    seed: int
    share: float = 0.0  # of messages that open a conversation

    def command(self, script_path: Path, log_prefix: Path, conninfo: str) -> list[str]:
        threads = max(1, min(self.clients, os.cpu_count() or 1))
        return [
            str(self.executable), "-n", "-M", "prepared", "-f", str(script_path), "-c", str(self.clients),
            "-j", str(threads), "-T", str(self.seconds), f"--random-seed={self.seed}", "-l",
            f"--log-prefix={log_prefix}", "-D", f"clients={self.clients}",
            "-D", f"per={max(1, self.targets // self.clients)}", conninfo,
        ]  # fmt: skip


def run(job: Job, operation: str) -> tuple[Measure, Summary]:
    """Run pgbench once; the measure (pgbench's tps, the log's latencies) and pgbench's own summary."""
    params: dict[str, Any] = dict(conninfo_to_dict(job.url))
    password = params.pop("password", None)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PGOPTIONS")}
    if password:
        env["PGPASSWORD"] = str(password)
    if job.schema == "socialdb":
        env["PGOPTIONS"] = "-c role=socialdb_app"  # as the application, under RLS
    with tempfile.TemporaryDirectory(prefix="socialdb-pgbench-") as work:
        script_path = Path(work) / f"ingest-{job.schema}.sql"
        script_path.write_text(script(job.schema, job.share), encoding="utf-8")
        command = job.command(script_path, Path(work) / "log", make_conninfo("", **params))
        done = _execute(command, env, job.seconds + TIMEOUT_MARGIN_S)
        latencies = [ms for log in sorted(Path(work).glob("log.*")) for ms in parse_log(log.open(encoding="utf-8"))]
    summary = parse_summary(done)
    seconds = summary.transactions / summary.tps if summary.tps else float(job.seconds)
    return Measure(operation, job.schema, summary.transactions, summary.transactions, seconds, latencies), summary


def _execute(command: list[str], env: dict[str, str], timeout: float) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SocialdbError(f"pgbench did not finish within {timeout:.0f} s") from exc
    if done.returncode:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-2:]
        raise SocialdbError(f"pgbench failed (exit {done.returncode}): {' / '.join(last)}")
    return done.stdout


def version(executable: Path) -> str:
    """`pgbench --version`'s last word (e.g. 18.6), or "unknown version"."""
    try:
        done = subprocess.run([str(executable), "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown version"
    words = done.stdout.split()
    return words[2] if len(words) > 2 and done.returncode == 0 else "unknown version"
