"""Opening connections, with errors that name the server but never the password."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

from socialdb.errors import ConnectError
from socialdb.settings import mask_url, scrub, validate_url

APPLICATION_NAME = "socialdb"
CONNECT_TIMEOUT_S = 10


def connect(url: str, *, autocommit: bool = False, purpose: str = "") -> psycopg.Connection[TupleRow]:
    """Open a connection; `purpose` shows in pg_stat_activity.application_name (e.g. 'socialdb lock')."""
    validate_url(url)
    name = f"{APPLICATION_NAME} {purpose}".strip()
    try:
        return psycopg.connect(
            url,
            autocommit=autocommit,
            application_name=name,
            connect_timeout=CONNECT_TIMEOUT_S,
            # No server-side prepared statements: PgBouncer in transaction mode cannot route them.
            prepare_threshold=None,
        )
    except psycopg.Error as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        reason = scrub("; ".join(lines) or type(exc).__name__, url)
        raise ConnectError(f"cannot connect to {mask_url(url)}: {reason}") from None
