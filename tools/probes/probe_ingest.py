"""Webhook ingest, interleaved with the spec's schema, and what the unread trigger costs (docs/performance.md).

Ours goes through seller_ingest_message (migration 025), one statement in autocommit; the
spec's schema runs the same upsert-and-insert as a plain statement. One line switches
the statement-level unread trigger off, to price it (the counters it keeps are then
wrong for that line's messages). The variant that writes the conversation only when its
username changes was measured by this file as of commit d9bd30b and not adopted. Run
after `socialdb bench run` (it writes messages into the benchmark databases):
    uv run python -m tools.probes.probe_ingest
"""

from __future__ import annotations

import psycopg

from socialdb import embedded
from socialdb.bench import workload
from socialdb.bench.run import OURS, SPEC, url_for
from socialdb.settings import embedded_dir

SECONDS = 8.0


def rate(url: str, schema: str, sample: workload.Sample, connections: int, tag: str) -> str:
    m = workload.webhook_ingest(url, schema, sample, SECONDS, connections, tag)
    return f"{m.rows / m.seconds:,.0f} messages/s"


def main() -> None:
    admin_url = embedded.start(embedded_dir())  # the server `socialdb bench run` used
    ours_url, spec_url = url_for(admin_url, OURS), url_for(admin_url, SPEC)
    sample = workload.sample(ours_url)
    for round_ in range(2):
        for connections in (1, 8):
            tag = f"probe-{round_}-{connections}"
            line = f"round {round_}, {connections} connection(s)"
            print(f"{line}, spec schema:", rate(spec_url, "spec", sample, connections, f"{tag}-spec"))
            print(f"{line}, ours:", rate(ours_url, "socialdb", sample, connections, f"{tag}-ours"))
            with psycopg.connect(ours_url, autocommit=True) as conn:
                conn.execute("ALTER TABLE messages DISABLE TRIGGER message_increment_unread")
                try:
                    print(
                        f"{line}, ours, unread trigger off:",
                        rate(ours_url, "socialdb", sample, connections, f"{tag}-off"),
                    )
                finally:
                    conn.execute("ALTER TABLE messages ENABLE TRIGGER message_increment_unread")


if __name__ == "__main__":
    main()
