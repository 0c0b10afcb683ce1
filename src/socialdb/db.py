"""What every layer shares to reach PostgreSQL: the connection type, connecting, database
URLs shown without their password, and creating or dropping a database.

Used by the platform's library, the migration tool, the CLI, the benchmark and the tests.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow

from socialdb.errors import ConnectError, DatabaseUrlError, UsageError

# The tool's connections are autocommit: `conn.transaction()` then means BEGIN ... COMMIT,
# never a savepoint inside a transaction left open by an earlier read.
Conn = psycopg.Connection[TupleRow]
# What the platform's calls accept: any row factory, autocommit or not.
AnyConn = psycopg.Connection[Any]

MASK = "***"
# userinfo in a URI: scheme://user:password@
_URI_PASSWORD = re.compile(r"(?P<head>^[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@?#]*:)(?P<pw>[^@/?#]*)(?=@)")
_PARAM_PASSWORD = re.compile(r"(?P<head>(?:^|[\s?&])password\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|[^\s&]*)", re.IGNORECASE)


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    masked = _URI_PASSWORD.sub(lambda m: m.group("head") + (MASK if m.group("pw") else ""), url)
    return _PARAM_PASSWORD.sub(lambda m: m.group("head") + MASK, masked)


def password_of(url: str) -> str | None:
    try:
        value = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        match = _URI_PASSWORD.search(url) or _PARAM_PASSWORD.search(url)
        value = match.group("pw") if match else None
    return str(value) if value else None


def scrub(text: str, url: str | None) -> str:
    """Remove the URL's password from any text (e.g. a driver's error message)."""
    if url is None:
        return text
    text = text.replace(url, mask_url(url))
    secret = password_of(url)
    return text.replace(secret, MASK) if secret else text


def validate_url(url: str) -> None:
    """Raise DatabaseUrlError, password masked, when libpq cannot parse `url`."""
    if not url.strip():
        raise DatabaseUrlError("empty database URL")
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as exc:
        reason = scrub(str(exc).strip().splitlines()[0], url)
        raise DatabaseUrlError(f"invalid database URL {mask_url(url)}: {reason}") from None
    for port in str(params.get("port") or "5432").split(","):
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise DatabaseUrlError(
                f"invalid database URL {mask_url(url)}: port {port!r} is not a number from 1 to 65535"
            )


APPLICATION_NAME = "socialdb"
CONNECT_TIMEOUT_S = 10


def connect(url: str, *, autocommit: bool = False, purpose: str = "") -> Conn:
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


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    params = conninfo_to_dict(url)
    params["dbname"] = name
    return make_conninfo("", **params)


def database_of(url: str) -> str:
    return str(conninfo_to_dict(url).get("dbname") or "")


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """Create `name` on the server of `server_url` (a copy of `template`, if given); returns its URL.

    A copy does not inherit the template's database privileges: PUBLIC's TEMPORARY, which
    migration 027 revoked on the template, is revoked on the copy too.
    """
    query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(query)
        if template:
            conn.execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
    return with_database(server_url, name)


MAINTENANCE_DATABASE = "postgres"  # where `db create` connects to create another


def ensure_database(url: str) -> bool:
    """Create the database `url` names when it does not exist (`db create`, `up --create-database`),
    connecting to the same server's `postgres` database as the same role; True when it was created."""
    name = database_of(url)
    if not name:
        raise UsageError(f"{mask_url(url)} names no database to create: add one, e.g. postgresql://host/mydb")
    with connect(with_database(url, MAINTENANCE_DATABASE), autocommit=True, purpose="db create") as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None:
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:  # created meanwhile by another run: it exists, as asked
            return False
    return True


def drop_database(server_url: str, name: str) -> None:
    """Drop `name` if it exists, ending its sessions."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
