"""A read replica, tested here (issue 16, docs/scaling.md "A read replica").

A PostgreSQL 15 primary and a hot standby on this machine: the standby is a
`pg_basebackup -R` of the primary, fed by streaming replication. `socialdb migrate up`
runs on the primary; once the standby has replayed it, the tests check there that the
schema is the primary's, that the application role reads its seller's rows and nothing
else, that writes are refused with PostgreSQL's read-only error, and that libpq's own
multi-host URLs (`target_session_attrs`) send a connection to the standby. Then what a long
read on the standby does to a migration on the primary: with asynchronous replication the
migration does not wait, the standby's replay waits up to `max_standby_streaming_delay` and
then cancels the read (and queues every new reader of that table meanwhile); with
`synchronous_commit = remote_apply` the migration commits without waiting and releases its
lock, and the run then waits for the standby's replay before it returns. And what `hot_standby_feedback` costs: the primary's cleanup horizon
stays behind the standby's oldest snapshot.

The servers run as the `postgres` user when the tests run as root (PostgreSQL refuses root),
listen on Unix sockets in a temporary directory only, and are stopped (`pg_ctl -m immediate`)
and removed at the end. Skipped, with the reason, without the PostgreSQL 15 binaries or,
as root, without a `postgres` user.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from socialdb.app import operations
from socialdb.app.tenant import seller
from socialdb.errors import DurabilityError, MigrationFailed
from socialdb.migrate import runner
from socialdb.scripts.files import default_directory
from tests import pg15
from tests.catalog import differences, snapshot
from tests.helpers import wait_for
from tests.pg15 import PG15

# It starts PostgreSQL servers of its own: a server (db) and processes, for `-m` selections.
pytestmark = [pytest.mark.db, pytest.mark.processes]

PROGRAMS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")
DATABASE = "socialdb"
APP_LOGIN = "replica_app"  # a login role IN ROLE socialdb_app, as docs/security.md has services do
STANDBY_DELAY_S = 2.0  # the standby's max_standby_streaming_delay (PostgreSQL's default is 30 s)
WAIT_S = 20.0  # bound of every wait for the servers (start, replay, a lock, a thread)
PROBE_VERSION = 99_999_999_999_999  # a migration newer than any the project will have

# The migration the conflict tests apply on top of the project's: a catalog change under
# ACCESS EXCLUSIVE on the table the inbox reads, milliseconds on the primary.
PROBE_MIGRATION = """\
-- socialdb: lock_timeout=1s
-- Test-only (tests/test_replica.py): an ACCESS EXCLUSIVE catalog change on conversations.
ALTER TABLE conversations ADD COLUMN replica_probe text;

-- ROLLBACK
ALTER TABLE conversations DROP COLUMN replica_probe;
"""

# What a reader of the standby holds while the primary migrates: a lock on conversations
# for as long as the statement runs.
LONG_READ = "SELECT count(*) FROM conversations, pg_sleep(10)"


@dataclass
class Seller:
    user_id: UUID
    account: UUID
    open_conversations: list[UUID]  # newest first, as the inbox lists them
    closed_conversation: UUID


@dataclass
class Replica:
    root: Path
    primary_port: int
    standby_port: int
    sellers: list[Seller] = field(default_factory=list)

    def url(self, port: int | str, *, user: str = "postgres", host: str | None = None, **params: str) -> str:
        """A URL of the `socialdb` database; `port` and `host` may list several servers, comma-separated."""
        query = "&".join(f"{k}={v}" for k, v in {"host": host or str(self.root), "port": str(port), **params}.items())
        return f"postgresql://{user}@/{DATABASE}?{query}"

    @property
    def primary(self) -> str:
        return self.url(self.primary_port)

    @property
    def standby(self) -> str:
        return self.url(self.standby_port)

    def admin(self, port: int) -> str:
        """The `postgres` database of one server, for what is done outside ours."""
        return f"postgresql://postgres@/postgres?host={self.root}&port={port}"

    def both(self, user: str, target_session_attrs: str, *, standby_first: bool = False) -> str:
        """One multi-host URL naming the two servers, libpq choosing by target_session_attrs."""
        ports = [self.standby_port, self.primary_port] if standby_first else [self.primary_port, self.standby_port]
        return self.url(
            ",".join(map(str, ports)),
            user=user,
            host=f"{self.root},{self.root}",
            target_session_attrs=target_session_attrs,
        )


def _connect(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def _scalar(url: str, query: str, params: tuple[Any, ...] = ()) -> Any:
    with _connect(url) as conn:
        row = conn.execute(query, params).fetchone()
        assert row is not None
        return row[0]


# -- the two servers -------------------------------------------------------------------------


def wait_for_replay(replica: Replica, timeout_s: float = WAIT_S) -> None:
    """Until the standby has replayed everything the primary wrote so far (bounded)."""
    target = _scalar(replica.primary, "SELECT pg_current_wal_lsn()::text")
    with _connect(replica.standby) as conn:

        def replayed() -> bool:
            row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()
            return row == (True,)

        wait_for(replayed, timeout_s, f"the standby to replay the primary's WAL up to {target}")


def _wait_until(what: str, check: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    wait_for(check, timeout_s, what)


def _add_seller(conn: psycopg.Connection[Any], n: int) -> Seller:
    """A seller with one account, two open conversations and a closed one (as superuser, so no RLS)."""
    user, account = uuid4(), uuid4()
    conn.execute(
        "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'h', 'Seller')", (user, f"s{n}@example.com")
    )
    conn.execute(
        "INSERT INTO client_accounts (id, user_id, platform, platform_account_id, username) VALUES (%s, %s, 'instagram', %s, 'shop')",
        (account, user, f"ig-{n}"),
    )
    now = datetime.now(UTC)
    conversations = [uuid4() for _ in range(3)]
    for k, (conversation, status) in enumerate(zip(conversations, ["open", "open", "closed"], strict=True)):
        conn.execute(
            "INSERT INTO conversations (id, client_account_id, user_id, platform_conversation_id, participant_platform_id,"
            " last_message_at, status) VALUES (%s, %s, %s, %s, 'customer', %s, %s)",
            (conversation, account, user, f"c{n}-{k}", now - timedelta(minutes=k), status),
        )
    return Seller(user, account, conversations[:2], conversations[2])


@pytest.fixture(scope="module")
def replica() -> Iterator[Replica]:
    reason = pg15.unavailable(*PROGRAMS)
    if reason:
        pytest.skip(reason)
    prefix = pg15.as_postgres()
    root = Path(tempfile.mkdtemp(prefix="socialdb-replica-", dir="/tmp"))  # short: socket paths are limited
    primary_data, standby_data = root / "primary", root / "standby"
    try:
        pg15.give_to_postgres(root)
        replica = Replica(root, pg15.free_port(), pg15.free_port())
        pg15.initdb(prefix, primary_data)
        pg15.start(prefix, primary_data, root, replica.primary_port, "-c wal_level=replica", "-c max_wal_senders=4")
        # A copy of the primary that knows how to follow it (-R writes primary_conninfo and standby.signal).
        pg15.run(
            prefix,
            str(PG15 / "pg_basebackup"),
            *("-D", str(standby_data), "-R", "-X", "stream", "-c", "fast"),
            *("-h", str(root), "-p", str(replica.primary_port), "-U", "postgres"),
        )
        pg15.start(
            prefix,
            standby_data,
            root,
            replica.standby_port,
            "-c hot_standby=on",
            f"-c max_standby_streaming_delay={int(STANDBY_DELAY_S * 1000)}ms",
            "-c hot_standby_feedback=on",  # so that its cost can be shown; lock conflicts happen either way
            "-c wal_receiver_status_interval=1s",
        )
        assert _scalar(replica.admin(replica.standby_port), "SELECT pg_is_in_recovery()") is True

        with _connect(replica.admin(replica.primary_port)) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        runner.up(replica.primary)  # `socialdb migrate up` on the primary, every migration of the project
        with _connect(replica.primary) as conn:
            conn.execute(f"CREATE ROLE {APP_LOGIN} LOGIN IN ROLE socialdb_app")  # a role: replicated like the rest
            replica.sellers = [_add_seller(conn, n) for n in (1, 2)]
        wait_for_replay(replica)
        yield replica
    finally:
        pg15.stop(prefix, standby_data)
        pg15.stop(prefix, primary_data)
        shutil.rmtree(root, ignore_errors=True)


# -- what the standby serves -----------------------------------------------------------------


def test_the_standby_has_the_migrated_schema(replica: Replica) -> None:
    files = sorted(int(p.name.split("-", 1)[0]) for p in default_directory().glob("*.sql"))
    history = "SELECT version, name, checksum FROM migrations ORDER BY version"
    with _connect(replica.primary) as primary, _connect(replica.standby) as standby:
        assert standby.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        rows = standby.execute(history).fetchall()
        assert rows == primary.execute(history).fetchall()
    assert [version for version, _, _ in rows] == files  # the newest migration included, whatever it is
    # Every table, column, constraint, index, trigger, function, policy, grant and comment.
    assert (
        differences(snapshot(replica.primary, runner_tables=True), snapshot(replica.standby, runner_tables=True)) == {}
    )


def test_the_application_reads_its_seller_and_nothing_else_on_the_standby(replica: Replica) -> None:
    first, second = replica.sellers
    with _connect(replica.both(APP_LOGIN, "prefer-standby")) as conn:
        assert conn.execute("SELECT pg_is_in_recovery(), current_user").fetchone() == (True, APP_LOGIN)
        for me, other in ((first, second), (second, first)):
            assert [row[0] for row in operations.inbox_page(conn, me.user_id, me.account)] == me.open_conversations
            assert operations.inbox_page(conn, me.user_id, other.account) == []  # another seller's account
            page = operations.message_page(conn, me.user_id, other.open_conversations[0])
            assert page == []
        with seller(conn, first.user_id):
            rows = conn.execute("SELECT id, user_id FROM conversations ORDER BY last_message_at DESC").fetchall()
        assert rows == [(c, first.user_id) for c in [*first.open_conversations, first.closed_conversation]]
        # No seller set: row-level security shows nothing, on the standby as on the primary.
        assert conn.execute("SELECT count(*) FROM conversations").fetchone() == (0,)


def _refused(action: Callable[[], object]) -> psycopg.errors.ReadOnlySqlTransaction:
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction) as caught:
        action()
    return caught.value


def test_writes_on_the_standby_are_refused_with_a_clear_error(replica: Replica, tmp_path: Path) -> None:
    me = replica.sellers[0]
    message = operations.IncomingMessage(
        client_account_id=me.account,
        platform_conversation_id="c1-0",
        participant_platform_id="customer",
        platform_message_id=f"m-{uuid4()}",
        sender_type="customer",
        sent_at=datetime.now(UTC),
        content="olá",
    )
    with _connect(replica.url(replica.standby_port, user=APP_LOGIN)) as conn:
        error = _refused(lambda: operations.ingest_message(conn, me.user_id, message))
        assert error.sqlstate == "25006"
        # The webhook function's statement is a SELECT ... INTO around its two inserts (036).
        assert str(error).startswith("cannot execute SELECT in a read-only transaction")
        assert "seller_ingest_message" in str(error)
        with seller(conn, me.user_id):
            error = _refused(lambda: operations.mark_read(conn, me.open_conversations[0]))
        assert str(error).startswith("cannot execute UPDATE in a read-only transaction")
    # The migrator too: `socialdb migrate up` pointed at the standby names the file and line.
    folder = _with_probe_migration(tmp_path)
    with pytest.raises(
        MigrationFailed, match=r":3: cannot execute ALTER TABLE in a read-only transaction \(SQLSTATE 25006\)"
    ):
        runner.up(replica.standby, directory=folder)
    assert _scalar(replica.primary, "SELECT max(version) FROM migrations") < PROBE_VERSION


@pytest.mark.parametrize(
    ("attrs", "on_standby"),
    [("prefer-standby", True), ("read-only", True), ("standby", True), ("read-write", False), ("primary", False)],
)
@pytest.mark.parametrize("standby_first", [False, True])
def test_a_multi_host_url_lands_where_target_session_attrs_says(
    replica: Replica, attrs: str, on_standby: bool, standby_first: bool
) -> None:
    url = replica.both(APP_LOGIN, attrs, standby_first=standby_first)
    assert _scalar(url, "SELECT pg_is_in_recovery()") is on_standby


def test_prefer_standby_falls_back_to_the_primary_and_read_only_does_not(replica: Replica) -> None:
    # The second host is a socket nothing listens on: a standby that is down.
    down = replica.url(
        f"{replica.primary_port},{pg15.free_port()}", user=APP_LOGIN, host=f"{replica.root},{replica.root}"
    )
    assert _scalar(down + "&target_session_attrs=prefer-standby", "SELECT pg_is_in_recovery()") is False
    with pytest.raises(psycopg.OperationalError):
        _connect(down + "&target_session_attrs=read-only").close()


# -- a long read on the standby against a migration on the primary ----------------------------


def _with_probe_migration(folder: Path) -> Path:
    """The project's migrations and one more (PROBE_MIGRATION), in a folder of their own."""
    shutil.copytree(default_directory(), folder, dirs_exist_ok=True)
    (folder / f"{PROBE_VERSION}-replica-probe.sql").write_text(PROBE_MIGRATION)
    return folder


class Reader(threading.Thread):
    """One statement on its own connection; records how long it took and what it raised."""

    def __init__(self, url: str, query: str, wait_first: Callable[[], None] | None = None) -> None:
        super().__init__(daemon=True)
        self.url, self.query, self.wait_first = url, query, wait_first
        self.error: Exception | None = None
        self.seconds = -1.0

    def run(self) -> None:
        try:
            with _connect(self.url) as conn:
                if self.wait_first:
                    self.wait_first()
                started = time.monotonic()
                try:
                    conn.execute(self.query)
                finally:
                    self.seconds = time.monotonic() - started
        except Exception as exc:  # reported by the test that reads it
            self.error = exc

    def finish(self) -> Reader:
        self.join(WAIT_S)
        assert not self.is_alive(), f"{self.query!r} still running after {WAIT_S:g}s"
        return self


def _lock_on_conversations(url: str, *, granted: bool, backend_type: str | None = None) -> Callable[[], bool]:
    """Whether some backend has (granted) or awaits (not granted) ACCESS EXCLUSIVE on conversations."""
    query = """
        SELECT count(*) FROM pg_locks AS l LEFT JOIN pg_stat_activity AS a USING (pid)
        WHERE l.relation = 'conversations'::regclass AND l.mode = 'AccessExclusiveLock' AND l.granted = %s
          AND (%s::text IS NULL OR a.backend_type = %s)"""
    return lambda: _scalar(url, query, (granted, backend_type, backend_type)) > 0


def _reading(url: str) -> Callable[[], bool]:
    return lambda: (
        _scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE query = %s AND state = 'active'", (LONG_READ,)) > 0
    )


def _conflicts(url: str) -> int:
    return int(_scalar(url, "SELECT confl_lock FROM pg_stat_database_conflicts WHERE datname = current_database()"))


def _assert_cancelled_by_recovery(reader: Reader) -> None:
    assert isinstance(reader.error, psycopg.errors.SerializationFailure), reader.error
    assert reader.error.sqlstate == "40001"
    assert str(reader.error).startswith("canceling statement due to conflict with recovery")
    assert reader.error.diag.message_detail == "User was holding a relation lock for too long."


def test_a_long_standby_read_does_not_hold_the_migration_but_is_cancelled(replica: Replica, tmp_path: Path) -> None:
    """Asynchronous replication (the default): the primary never waits for the standby."""
    folder = _with_probe_migration(tmp_path)
    conflicts_before = _conflicts(replica.standby)
    long_read = Reader(replica.standby, LONG_READ)
    long_read.start()
    try:
        _wait_until("the long read runs on the standby", _reading(replica.standby))
        started = time.monotonic()
        runner.up(replica.primary, directory=folder)
        migration_s = time.monotonic() - started
        assert migration_s < STANDBY_DELAY_S / 2, f"the migration took {migration_s:.2f}s on the primary"

        # Replay needs the same ACCESS EXCLUSIVE lock on the standby and waits for the reader...
        _wait_until(
            "replay waits for its lock", _lock_on_conversations(replica.standby, granted=False, backend_type="startup")
        )
        # ...and every new reader of the table queues behind it: the lock queue the runner's
        # lock_timeout prevents on the primary, here for up to max_standby_streaming_delay.
        queued = Reader(replica.standby, "SELECT count(*) FROM conversations")
        queued.start()
        queued.finish()
        assert queued.error is None, queued.error
        assert queued.seconds > STANDBY_DELAY_S / 2, f"a new standby reader waited {queued.seconds:.2f}s"

        _assert_cancelled_by_recovery(long_read.finish())
        assert long_read.seconds < STANDBY_DELAY_S + 2  # cancelled after the delay, not after its 10 s
        wait_for_replay(replica)
        assert _scalar(replica.standby, "SELECT max(version) FROM migrations") == PROBE_VERSION
        _wait_until(  # pg_stat_database_conflicts counts it (once the cancelled backend has reported)
            "the conflict is counted", lambda: _conflicts(replica.standby) == conflicts_before + 1
        )
    finally:
        long_read.join(WAIT_S)
        _roll_back_probe(replica, folder)


SYNC_REP_WAIT = "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep'"


@dataclass
class WaitingRun:
    """`runner.up` under remote_apply in a thread, caught waiting for a standby whose replay
    waits for a long read; and that read."""

    thread: threading.Thread
    errors: list[BaseException]
    long_read: Reader


@contextmanager
def _run_waiting_for_the_standby(replica: Replica, folder: Path) -> Iterator[WaitingRun]:
    with _connect(replica.admin(replica.primary_port)) as conn:
        conn.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
        conn.execute("SELECT pg_reload_conf()")
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            # The wait at the end is bounded by the standby's max_standby_streaming_delay.
            runner.up(
                replica.url(replica.primary_port, options="-csynchronous_commit%3Dremote_apply"), directory=folder
            )
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    waiting = WaitingRun(
        threading.Thread(target=migrate, name="migrate", daemon=True), errors, Reader(replica.standby, LONG_READ)
    )
    try:
        _wait_until(
            "the standby is synchronous",
            lambda: _scalar(replica.primary, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") == 1,
        )
        waiting.long_read.start()
        _wait_until("the long read runs on the standby", _reading(replica.standby))
        waiting.thread.start()
        _wait_until(
            "the run to wait for the standby",
            lambda: _scalar(replica.primary, f"SELECT count(*) FROM ({SYNC_REP_WAIT}) AS w") > 0,
        )
        yield waiting
    finally:
        waiting.thread.join(WAIT_S)
        waiting.long_read.join(WAIT_S)
        with _connect(replica.admin(replica.primary_port)) as conn:
            conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
            conn.execute("SELECT pg_reload_conf()")
        _roll_back_probe(replica, folder)


def test_with_remote_apply_the_run_waits_for_the_standby_but_holds_no_lock(replica: Replica, tmp_path: Path) -> None:
    """synchronous_commit = remote_apply: a migration commits without waiting (its lock goes at
    once), and the run then waits for replay, which waits for the standby's reader. Before,
    the migration's own commit waited, holding ACCESS EXCLUSIVE on the primary, and the
    primary's readers queued behind it (decision 106)."""
    with _run_waiting_for_the_standby(replica, _with_probe_migration(tmp_path)) as run:
        # The run waits, and holds no lock on the migrated table: the primary's reader passes.
        assert not _lock_on_conversations(replica.primary, granted=True)()
        with _connect(replica.primary) as reader:  # within a lock_timeout, or it fails the test
            reader.execute("SET lock_timeout = '2s'")
            row = reader.execute("SELECT count(*) FROM conversations").fetchone()
            assert row is not None and isinstance(row[0], int)
        assert run.thread.is_alive()  # still waiting for replay when the primary's reader was served
        run.thread.join(WAIT_S)
        assert not run.thread.is_alive() and run.errors == []
        _assert_cancelled_by_recovery(run.long_read.finish())


def test_a_cancelled_wait_for_the_standby_fails_the_run_and_says_what_committed(
    replica: Replica, tmp_path: Path
) -> None:
    """The server lets a commit waiting for a synchronous standby be cancelled: the commit
    stands, with a WARNING and no error. The run must not pass that off as durable."""
    with _run_waiting_for_the_standby(replica, _with_probe_migration(tmp_path)) as run:
        assert _scalar(replica.primary, f"SELECT bool_and(pg_cancel_backend(pid)) FROM ({SYNC_REP_WAIT}) AS w")
        run.thread.join(WAIT_S)
        assert not run.thread.is_alive()
        assert len(run.errors) == 1 and isinstance(run.errors[0], DurabilityError), run.errors
        message = str(run.errors[0])
        assert message.startswith("1 migration(s) applied and committed, but the wait for their flush failed:")
        assert "synchronous replication" in message
        assert _scalar(replica.primary, "SELECT max(version) FROM migrations") == PROBE_VERSION  # it did commit


def _roll_back_probe(replica: Replica, folder: Path) -> None:
    if _scalar(replica.primary, "SELECT max(version) FROM migrations") == PROBE_VERSION:
        runner.down(replica.primary, 1, directory=folder)
    wait_for_replay(replica)


def test_hot_standby_feedback_holds_back_the_primary_cleanup_horizon(replica: Replica) -> None:
    """The standby reports its oldest snapshot; the primary's VACUUM may not remove what it still sees."""
    horizon = "SELECT backend_xmin::text::bigint FROM pg_stat_replication"  # one standby; epoch 0 on a new cluster
    feedback_s = 1.0  # the standby's wal_receiver_status_interval
    with _connect(replica.standby) as standby:
        with standby.transaction():
            standby.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            row = standby.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint").fetchone()
            assert row is not None
            snapshot_xmin = int(row[0])  # kept until the commit
            with _connect(replica.primary) as primary:
                for _ in range(10):  # ten transactions that each take a transaction id
                    last = int(primary.execute("SELECT txid_current()").fetchone()[0])  # type: ignore[index]
            wait_for_replay(replica)
            # Two rounds of the standby's feedback after them, waited for, not slept.
            after = _scalar(replica.primary, "SELECT now() + %s * interval '1 second'", (feedback_s,))
            replied = "SELECT coalesce(bool_and(reply_time > %s), false) FROM pg_stat_replication"
            _wait_until("two feedback rounds", lambda: bool(_scalar(replica.primary, replied, (after,))))
            held = int(_scalar(replica.primary, horizon))
            assert held <= snapshot_xmin < last, (held, snapshot_xmin, last)
        # The snapshot gone, the next feedback moves the primary's horizon past those transactions.
        _wait_until("the horizon moves on", lambda: int(_scalar(replica.primary, horizon) or 0) > last)
