"""What 047's trigger (no event dated more than a day ahead) costs `record_events`.

One batch of SIZE events, as a `socialdb_app` login under a seller scope, with the trigger
enabled or disabled (toggled by the superuser between runs: disabled is the table as before
047), interleaved run by run. Per state, the medians of the server's execution time of the
statement (EXPLAIN (ANALYZE, TIMING OFF), rolled back) and of the whole call (committed).
Any migrated database, as a superuser; it adds a seller, a login and the committed events:
    uv run python -m tools.probes.probe_far_ahead URL [RUNS]
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from socialdb.app import calls, statements
from socialdb.app.operations import Event, record_events
from socialdb.app.tenant import seller

SIZE = 5000
TRIGGER = "analytics_events_not_far_ahead"


def main(url: str, runs: int) -> None:
    with psycopg.connect(url, autocommit=True) as admin:
        user, account = uuid.uuid4(), uuid.uuid4()
        admin.execute(
            "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'h', 'P')", (user, f"{user}@x")
        )
        admin.execute(
            "INSERT INTO client_accounts (id, user_id, platform, platform_account_id, username)"
            " VALUES (%s, %s, 'instagram', %s, 'p')",
            (account, user, str(account)),
        )
        role = f"probe_far_ahead_{uuid.uuid4().hex[:8]}"
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE socialdb_app").format(sql.Identifier(role)))
        params = conninfo_to_dict(url)
        params["user"] = role
        now = datetime.now(UTC)
        batch = [
            Event(user, account if n % 2 else None, "sale", "sales", now - timedelta(seconds=n), Decimal("10.50"))
            for n in range(SIZE)
        ]
        try:
            with psycopg.connect(make_conninfo("", **params)) as app:
                server: dict[str, list[float]] = {"off": [], "on": []}
                call: dict[str, list[float]] = {"off": [], "on": []}
                for r in range(runs + 1):  # the first round warms up
                    for state in ("off", "on") if r % 2 == 0 else ("on", "off"):
                        _toggle(admin, state)
                        executed, took = _server_ms(app, user, batch), _call_ms(app, user, batch)
                        if r:
                            server[state].append(executed)
                            call[state].append(took)
        finally:
            _toggle(admin, "on")
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    for name, figures in (("server, EXPLAIN ANALYZE", server), ("record_events call", call)):
        off, on = statistics.median(figures["off"]), statistics.median(figures["on"])
        print(f"{name}: disabled {off:.1f} ms, enabled {on:.1f} ms, ratio {on / off:.3f} ({runs} runs each)")


def _toggle(admin: psycopg.Connection[Any], state: str) -> None:
    verb = "ENABLE" if state == "on" else "DISABLE"
    admin.execute(sql.SQL(f"ALTER TABLE analytics_events {verb} TRIGGER {{}}").format(sql.Identifier(TRIGGER)))


def _server_ms(app: psycopg.Connection[Any], user: uuid.UUID, batch: list[Event]) -> float:
    statement = "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + statements.EVENTS
    with app.transaction():
        with seller(app, user):
            params = {"users": [e.user_id for e in batch], **calls.arrays(batch, calls.EVENT_ARRAYS)}
            row = app.execute(statement, params).fetchone()
        assert row is not None
        raise psycopg.Rollback()  # the events are not kept
    return float(row[0][0]["Execution Time"])


def _call_ms(app: psycopg.Connection[Any], user: uuid.UUID, batch: list[Event]) -> float:
    started = time.perf_counter()
    with app.transaction(), seller(app, user):
        record_events(app, batch)
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 21)
