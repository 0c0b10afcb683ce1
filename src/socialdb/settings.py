"""Where the database is, and how to show its URL without its password.

Order: `--database-url`, else `DATABASE_URL`, else the embedded server. A setting
given but empty (`--database-url ""`, `DATABASE_URL=`) is an error, never a fallback:
a deploy script with an unset variable must not migrate another database.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from socialdb.errors import DatabaseUrlError, UsageError

MASK = "***"
EMBEDDED_DIR = Path(".socialdb")
# userinfo in a URI: scheme://user:password@
_URI_PASSWORD = re.compile(r"(?P<head>^[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@?#]*:)(?P<pw>[^@/?#]*)(?=@)")
_PARAM_PASSWORD = re.compile(r"(?P<head>(?:^|[\s?&])password\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|[^\s&]*)", re.IGNORECASE)


class LockMode(StrEnum):
    """How a run holds the migration lock (docs/runner.md)."""

    ADVISORY = "advisory"  # a session advisory lock on a connection of its own
    TABLE = "table"  # a lease row in migrations_lock; works through PgBouncer transaction pooling


def lock_mode(value: str) -> LockMode:
    """The LockMode named by `value`; UsageError naming it otherwise."""
    try:
        return LockMode(value)
    except ValueError:
        raise UsageError(f"lock mode {value!r}: use {' or '.join(m.value for m in LockMode)}") from None


@dataclass(frozen=True)
class DatabaseTarget:
    url: str
    source: str  # "--database-url", "DATABASE_URL" or "embedded"


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


def resolve_target(explicit: str | None, environ: Mapping[str, str] | None = None) -> DatabaseTarget | None:
    """The configured database, or None when the embedded server should be used."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        if not explicit.strip():
            raise DatabaseUrlError(
                "--database-url is empty: give a URL, or leave it out for DATABASE_URL or the embedded server"
            )
        validate_url(explicit)
        return DatabaseTarget(explicit, "--database-url")
    from_env = env.get("DATABASE_URL")
    if from_env is None:
        return None
    if not from_env.strip():
        raise DatabaseUrlError("DATABASE_URL is set but empty: give it a URL, or unset it to use the embedded server")
    validate_url(from_env)
    return DatabaseTarget(from_env, "DATABASE_URL")


def embedded_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The embedded server's data folder: `./.socialdb`, or SOCIALDB_HOME."""
    env = os.environ if environ is None else environ
    home = env.get("SOCIALDB_HOME")
    if home is not None and not home.strip():
        raise UsageError(f"SOCIALDB_HOME is set but empty: give it a folder, or unset it to use {EMBEDDED_DIR}")
    return Path(home or EMBEDDED_DIR).resolve()


def is_production(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("SOCIALDB_ENV", "").strip().lower() == "production"
