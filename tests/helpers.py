"""Small helpers shared by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

# The spec's twelve tables; every one but users holds a seller's rows under its user_id.
TENANT_TABLES = [
    "refresh_tokens",
    "client_accounts",
    "oauth_tokens",
    "products",
    "product_links",
    "conversations",
    "messages",
    "message_products",
    "analytics_events",
    "instagram_media",
    "notifications",
]
TABLES = {"users", *TENANT_TABLES}
# Derived from analytics_events and kept by refresh_analytics_daily_summary() (migration 023).
SUMMARY_TABLES = {"analytics_daily_summary", "analytics_daily_rollup", "analytics_summary_changes"}
# The rules across sellers, each a table of its own kept by a trigger (migration 054, decision 220).
LOOKUP_TABLES = {"user_emails", "platform_accounts", "short_links"}


def write_migrations(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


# Starts socialdb with SIGINT ignored, as a shell starts a background job: exec keeps the disposition.
_SIGINT_IGNORED = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN);"
    " os.execv(sys.executable, [sys.executable, '-m', 'socialdb', *sys.argv[1:]])"
)


def socialdb(
    *args: str, env: dict[str, str] | None = None, sigint_ignored: bool = False, **kwargs: Any
) -> subprocess.Popen[str]:
    """`python -m socialdb ARGS` as a separate process, output captured."""
    # DATABASE_URL unset, not empty: an empty one is an error (issue 11).
    inherited = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env = {**inherited, "PYTHONUNBUFFERED": "1", **(env or {})}
    start = [sys.executable, "-c", _SIGINT_IGNORED] if sigint_ignored else [sys.executable, "-m", "socialdb"]
    return subprocess.Popen(
        [*start, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        **kwargs,
    )


def finish(proc: subprocess.Popen[str], timeout_s: float, stdin: str | None = None) -> tuple[str, str]:
    """communicate() with a deadline: a process still running then is killed and the test fails, naming it."""
    try:
        return proc.communicate(stdin, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # a child of it holds the pipes; what it said is lost
            out, err = "", ""
        raise AssertionError(
            f"{proc.args!r} still running after {timeout_s:g}s, killed; stdout: {out!r}; stderr: {err!r}"
        ) from None


def join(thread: threading.Thread, timeout_s: float = 60) -> None:
    """Thread.join with a deadline: a deadlock fails the test instead of hanging the suite."""
    thread.join(timeout_s)
    assert not thread.is_alive(), f"thread {thread.name} still running after {timeout_s:g}s"


def wait_for(condition: Callable[[], bool], timeout_s: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def add_seller(conn: psycopg.Connection[Any], user: uuid.UUID, account: uuid.UUID) -> None:
    """A seller and one Instagram account of theirs, written as the owner (test data)."""
    conn.execute(
        "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'h', 'S')", (user, f"{user}@x.com")
    )
    conn.execute(
        "INSERT INTO client_accounts (id, user_id, platform, platform_account_id, username)"
        " VALUES (%s, %s, 'instagram', %s, 'loja')",
        (account, user, str(account)),
    )


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def history(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('migrations')").fetchone() == (None,):
            return []
        return [(v, s) for v, s in conn.execute("SELECT version, state FROM migrations ORDER BY version")]


def sessions_waiting(url: str, event_type: str, event: str | None = None, query_prefix: str = "") -> int:
    """Backends of this database waiting on `event_type` (and `event`), running a query that starts so."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = %s"
            " AND (%s::text IS NULL OR wait_event = %s) AND query LIKE %s || '%%'",
            (event_type, event, event, query_prefix),
        ).fetchone()
    return int(row[0]) if row else 0


def in_background(call: Callable[[], object], name: str) -> tuple[threading.Thread, list[BaseException]]:
    """`call` started in a thread of its own; what it raised is in the list (read it after join)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:  # reported to the test's thread
            errors.append(error)

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread, errors


def sessions_running(url: str, fragment: str) -> int:
    """Backends (other than this one) whose current query contains `fragment`."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active'"
            " AND query LIKE '%%' || %s || '%%'",
            (fragment,),
        ).fetchone()
    return int(row[0]) if row else 0


def _latest() -> int:
    from socialdb.scripts.files import default_directory, load_migrations

    return max(m.version for m in load_migrations(default_directory()))


LATEST = _latest()  # the newest packaged migration; every one from 1 to it exists
NEXT = f"{LATEST + 1:03d}"  # the version of a test's extra migration


@contextmanager
def login_role(url: str, member_of: str) -> Iterator[tuple[str, str]]:
    """A throwaway LOGIN role in `member_of`, as a service logs in (not SET ROLE, which a
    superuser session can undo); yields its name and a URL for it, and drops it after."""
    role = f"{member_of}_login_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(sql.Identifier(role), sql.Identifier(member_of))
        )
    try:
        params = conninfo_to_dict(url)
        params["user"] = role
        yield role, make_conninfo("", **params)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


PG15_BIN = Path("/usr/lib/postgresql/15/bin")
# The login role that migrates the suite's template, as production migrates: no superuser,
# owner of its database, after `socialdb db bootstrap` (tests/conftest.py, docs/deploying.md).
MIGRATOR = "test_deploy"


def as_migrator(url: str) -> str:
    """Hand the database at `url` (a superuser's) to MIGRATOR, as the template is; MIGRATOR's URL to it."""
    from socialdb.db import database_of

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database_of(url)), sql.Identifier(MIGRATOR))
        )
    params = conninfo_to_dict(url)
    params["user"] = MIGRATOR
    return make_conninfo("", **params)


def server_major(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    return int(str(row[0] if row else 0)) // 10000


@contextmanager
def fresh_server(like_url: str) -> Iterator[str]:
    """A new cluster with no socialdb role in it, of the major version of the server at
    `like_url` (the machine's PostgreSQL 15, or the embedded 18); a superuser's URL to it."""
    import shutil
    import tempfile

    from socialdb import embedded

    home = Path(tempfile.mkdtemp(prefix="socialdb-fresh-"))
    try:
        if server_major(like_url) == 15:
            if not (PG15_BIN / "initdb").exists():
                pytest.skip(f"a second PostgreSQL 15 cluster needs {PG15_BIN}")
            yield _start_pg15(home)
        else:
            yield embedded.start(home, database="postgres")
    finally:
        if (home / "data").exists():
            _as_postgres([str(PG15_BIN / "pg_ctl"), "-D", str(home / "data"), "-m", "immediate", "stop"], check=False)
        else:
            embedded.stop(home)
        shutil.rmtree(home, ignore_errors=True)


def _as_postgres(command: list[str], check: bool = True) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *command], check=check, capture_output=True, timeout=120)


def _start_pg15(home: Path) -> str:
    if os.geteuid() == 0:
        shutil_chown(home)
    data = home / "data"
    _as_postgres([str(PG15_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--encoding=UTF8"])
    options = f"-c listen_addresses='' -k {home} -p 5499"
    _as_postgres([str(PG15_BIN / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w", "-o", options, "start"])
    return f"postgresql://postgres@/postgres?host={home}&port=5499"


def shutil_chown(path: Path) -> None:
    import shutil

    shutil.chown(path, user="postgres")


def loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter has loaded after `statement`."""
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return set(done.stdout.split())


# Migration 047's trigger: no event may be dated more than one day after now.
FAR_AHEAD_TRIGGER = "analytics_events_not_far_ahead"


@contextmanager
def events_dated_freely(conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    """Lab data for tests that shift time (`maintain(now=...)`): inside one transaction of
    `conn` (the owner's or a superuser's; the application may not do this), 047's trigger
    is disabled, the events are written, and it is enabled again before the commit. Other
    sessions never see it disabled; an error rolls it all back."""
    with conn.transaction():
        conn.execute(
            sql.SQL("ALTER TABLE analytics_events DISABLE TRIGGER {}").format(sql.Identifier(FAR_AHEAD_TRIGGER))
        )
        yield conn
        conn.execute(
            sql.SQL("ALTER TABLE analytics_events ENABLE TRIGGER {}").format(sql.Identifier(FAR_AHEAD_TRIGGER))
        )


def partitions_end_at(conn: psycopg.Connection[Any], end: Any) -> None:
    """As the owner, in a test's database (no events yet): no monthly partition, and the legacy
    partition ends at `end` (a datetime); months from `end` on go to the default partition until
    maintain makes them. What a database looks like in real time after cron stopped: the
    application, which may write only what happened (047), then reaches a month maintain makes."""
    from socialdb.app import partitions

    for part in partitions.read_partitions(conn):
        if part.name != "analytics_events_legacy":
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(part.name)))
    conn.execute("ALTER TABLE analytics_events DETACH PARTITION analytics_events_legacy")
    attach = "ALTER TABLE analytics_events ATTACH PARTITION analytics_events_legacy FOR VALUES FROM ({}) TO ({})"
    bounds = ("2000-01-01 00:00:00+00", partitions._literal(end))
    conn.execute(sql.SQL(attach).format(*(sql.Literal(b) for b in bounds)))


def cli_commands() -> Iterator[tuple[list[str], Any]]:
    """Every command and group of `socialdb` with its words (`["migrate", "up"]`), built through
    Click's own API, as a run asks for them: a group's commands are built only when asked for
    (cli/common.py), so its `commands` dict is no list of them."""
    import typer

    from socialdb.cli import app
    from socialdb.cli.click_compat import Context

    def walk(group: Any, prefix: list[str]) -> Iterator[tuple[list[str], Any]]:
        ctx = Context(group, info_name=prefix[-1] if prefix else "socialdb")
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            yield [*prefix, name], command
            if isinstance(command, typer.core.TyperGroup):
                yield from walk(command, [*prefix, name])

    yield from walk(typer.main.get_command(app), [])
