"""Settings from the environment: which database, where the embedded server lives, production or not.

Order: `--database-url`, else `DATABASE_URL`, else the embedded server. A setting
given but empty (`--database-url ""`, `DATABASE_URL=`) is an error, never a fallback:
a deploy script with an unset variable must not migrate another database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from socialdb.db import validate_url
from socialdb.errors import DatabaseUrlError, UsageError

EMBEDDED_DIR = Path(".socialdb")


@dataclass(frozen=True)
class DatabaseTarget:
    url: str
    source: str  # "--database-url", "DATABASE_URL" or "embedded"


def resolve_target(
    explicit: str | None, environ: Mapping[str, str] | None = None, option: str = "--database-url"
) -> DatabaseTarget | None:
    """The configured database, or None when the embedded server should be used.

    `option` names the command-line option `explicit` came from, for its error.
    """
    env = os.environ if environ is None else environ
    if explicit is not None:
        if not explicit.strip():
            raise DatabaseUrlError(
                f"{option} is empty: give a URL, or leave it out for DATABASE_URL or the embedded server"
            )
        validate_url(explicit)
        return DatabaseTarget(explicit, option)
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
