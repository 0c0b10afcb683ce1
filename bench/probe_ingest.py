"""Webhook ingest with the conversation written only when its username changes (docs/performance.md).

The statement in socialdb.operations always writes the conversation row (ON CONFLICT DO
UPDATE, decision 29). The variant here updates it only when the username changes and
otherwise reads it back; on the race with a concurrent first message it finds no row,
and the caller would have to retry. This measures whether that is worth it, interleaved
with the spec's schema, and what the statement-level unread trigger costs (it is switched
off for one line; the counters it keeps are then wrong for that line's messages). Run after
`socialdb bench run` (it writes messages into the benchmark database):
    uv run python bench/probe_ingest.py
"""

from __future__ import annotations

import psycopg

from socialdb import embedded
from socialdb import operations as ops
from socialdb.bench import workload
from socialdb.bench.run import OURS, SPEC, url_for
from socialdb.settings import embedded_dir

SECONDS = 8.0

WRITE_ONLY_CHANGES = """
WITH upserted AS (
  INSERT INTO conversations (client_account_id, platform_conversation_id, participant_platform_id, participant_username)
  VALUES (%(account)s, %(conversation)s, %(participant)s, %(username)s)
  ON CONFLICT (client_account_id, platform_conversation_id)
  DO UPDATE SET participant_username = EXCLUDED.participant_username
    WHERE conversations.participant_username
      IS DISTINCT FROM coalesce(EXCLUDED.participant_username, conversations.participant_username)
  RETURNING id
), conversation AS (
  SELECT id FROM upserted
  UNION ALL
  SELECT id FROM conversations
  WHERE client_account_id = %(account)s AND platform_conversation_id = %(conversation)s
    AND NOT EXISTS (SELECT FROM upserted)
)
INSERT INTO messages (conversation_id, platform_message_id, sender_type, message_type, content, sent_at)
SELECT conversation.id, %(message)s, %(sender)s, %(type)s, %(content)s, %(sent_at)s
FROM conversation
ON CONFLICT (platform_message_id) DO NOTHING
RETURNING id
"""


def rate(url: str, schema: str, sample: workload.Sample, connections: int, tag: str) -> str:
    m = workload.webhook_ingest(url, schema, sample, SECONDS, connections, tag)
    return f"{m.rows / m.seconds:,.0f} messages/s"


def main() -> None:
    admin_url = embedded.start(embedded_dir())  # the server `socialdb bench run` used
    ours_url, spec_url = url_for(admin_url, OURS), url_for(admin_url, SPEC)
    sample = workload.sample(ours_url)
    statements = {"always writes (operations)": ops._INGEST_ONE, "writes only changes": WRITE_ONLY_CHANGES}
    for round_ in range(2):
        for connections in (1, 8):
            tag = f"probe-{round_}-{connections}"
            # The spec's schema alongside, for a ratio from the same minutes.
            print(
                f"round {round_}, {connections} connection(s), spec schema:",
                rate(spec_url, "spec", sample, connections, f"{tag}-spec"),
            )
            for name, statement in statements.items():
                ops._INGEST_ONE = statement  # the probe swaps the statement ingest_message sends
                print(
                    f"round {round_}, {connections} connection(s), {name}:",
                    rate(ours_url, "socialdb", sample, connections, f"{tag}-{name}"),
                )
            ops._INGEST_ONE = statements["always writes (operations)"]
            # What the statement-level unread trigger costs a one-message statement.
            with psycopg.connect(ours_url, autocommit=True) as conn:
                conn.execute("ALTER TABLE messages DISABLE TRIGGER message_increment_unread")
                try:
                    print(
                        f"round {round_}, {connections} connection(s), as shipped, unread trigger off:",
                        rate(ours_url, "socialdb", sample, connections, f"{tag}-off"),
                    )
                finally:
                    conn.execute("ALTER TABLE messages ENABLE TRIGGER message_increment_unread")


if __name__ == "__main__":
    main()
