"""socialdb's upkeep and roles on a real Citus cluster (issue 26, items 3 and 4; decisions 240-244).

A coordinator and two workers (tests/citus.py). A database is migrated as the non-superuser
migrator, two sellers get one row of everything (tests/sellers.py), and it is distributed by
`socialdb citus distribute` (tests/citus.py `distributed_database`); then `socialdb citus logins` lets the definer roles log in.

- The definer roles log in on every node, without a password; the application still cannot
  become or borrow them (SET ROLE, SET SESSION AUTHORIZATION, GRANT, a password), on the
  coordinator or a worker; pg_hba.conf admits them only where the nodes connect from, and a
  password never admits them.
- `socialdb summary refresh` and `rebuild`, as a socialdb_maintenance login, give the summary
  and rollup that the events give on one server (the from-scratch aggregate); TRUNCATE of the
  events empties them, with no distributed deadlock.
- `socialdb tokens rotate` re-encrypts every seller's tokens; `socialdb maintain` makes and
  drops the events' monthly partitions.
"""

from __future__ import annotations

import base64
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg
import pytest

from socialdb.app.tokens import TokenCipher, key_id_of
from socialdb.migrate import runner
from tests import citus
from tests.citus import Cluster
from tests.helpers import finish, login_role, socialdb, wait_for
from tests.sellers import SELLERS

DEFINERS = ("socialdb_owner", "socialdb_ingest")
TIMEOUT_S = 60  # every command and statement of these tests: a hang fails, never waits for ever


def _run(*args: str) -> tuple[int, str, str]:
    proc = socialdb(*args)
    out, err = finish(proc, 300)
    return proc.returncode, out, err


@dataclass(frozen=True)
class Ops:
    cluster: Cluster
    url: str  # the superuser's, on the coordinator
    migrator_url: str  # the migrating role's (a member of socialdb_owner), on the coordinator
    logins: tuple[int, str, str]  # the first `socialdb citus logins`: exit code, stdout, stderr


@pytest.fixture(scope="module")
def ops(citus_cluster: Cluster) -> Ops:
    url, migrator_url = citus.distributed_database(citus_cluster, "socialdb_ops")
    return Ops(citus_cluster, url, migrator_url, _run("citus", "logins", "--database-url", url))


# -- the definer roles' logins (decision 240) ---------------------------------------------------


def test_the_definer_roles_log_in_on_every_node_without_a_password(ops: Ops) -> None:
    code, out, err = ops.logins
    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    assert lines[0] == "socialdb_owner may log in (no password) on every node"
    assert not any("CREATE" in line for line in lines)  # the runner gave socialdb_owner CREATE on public (018)
    assert "  host all socialdb_owner all reject" in lines
    assert f"  hostssl socialdb_ops socialdb_owner {citus.HOST}/32 cert" in lines
    for node in ops.cluster.nodes:
        found = citus.rows(
            node.url("socialdb_ops"),
            "SELECT rolname::text, rolcanlogin, rolpassword IS NULL, rolsuper OR rolbypassrls OR rolcreaterole"
            " FROM pg_authid WHERE rolname = ANY (%s) ORDER BY 1",
            (list(DEFINERS),),
        )
        # socialdb_ingest keeps NOLOGIN: its function runs on the seller's node (the calls' delegation).
        assert found == [("socialdb_ingest", False, True, False), ("socialdb_owner", True, True, False)], node.name
    again = _run("citus", "logins", "--database-url", ops.url)
    assert again[0] == 0 and again[1].startswith("nothing to do: socialdb_owner already logs in on every node")


def test_logins_are_refused_in_one_line_without_citus(citus_cluster: Cluster) -> None:
    with psycopg.connect(citus_cluster.coordinator.url(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE socialdb_ops_plain")
    code, out, err = _run("citus", "logins", "--database-url", citus_cluster.coordinator.url("socialdb_ops_plain"))
    assert (code, out) == (1, "")
    assert err == (
        "error: database socialdb_ops_plain has no citus extension: the definer roles log in only on a Citus"
        " cluster (on one server they stay NOLOGIN)\n"
    )


@pytest.mark.parametrize(
    ("change", "undo", "refusal"),
    [
        (
            "ALTER ROLE socialdb_owner PASSWORD 'leaked'",
            "ALTER ROLE socialdb_owner PASSWORD NULL",
            "error: role socialdb_owner has a password, which anyone could try",
        ),
        (
            "ALTER ROLE socialdb_owner BYPASSRLS",
            "ALTER ROLE socialdb_owner NOBYPASSRLS",
            "error: role socialdb_owner is SUPERUSER, BYPASSRLS or REPLICATION",
        ),
        (
            "ALTER ROLE socialdb_ingest LOGIN",
            "ALTER ROLE socialdb_ingest NOLOGIN",
            "error: role socialdb_ingest may log in, which it needs nowhere",
        ),
    ],
    ids=["owner-password", "owner-bypassrls", "ingest-login"],
)
def test_logins_refuse_a_role_with_more_than_it_needs(ops: Ops, change: str, undo: str, refusal: str) -> None:
    with psycopg.connect(ops.url, autocommit=True) as admin:
        admin.execute(change.encode())
        try:
            code, out, err = _run("citus", "logins", "--database-url", ops.url)
        finally:
            admin.execute(undo.encode())
    assert (code, out) == (1, "")
    assert err.startswith(refusal) and len(err.splitlines()) == 1, err


@pytest.fixture(scope="module")
def app_login(ops: Ops) -> Iterator[str]:
    """A LOGIN role in socialdb_app, as the application connects; its name."""
    with login_role(ops.url, "socialdb_app") as (role, _):
        yield role


@pytest.mark.parametrize("node_index", [0, 1, 2], ids=["coordinator", "worker1", "worker2"])
def test_the_application_cannot_become_or_borrow_a_definer_role(ops: Ops, app_login: str, node_index: int) -> None:
    node = ops.cluster.nodes[node_index]
    attempts = (
        [f"SET ROLE {role}" for role in DEFINERS]
        + [f"SET SESSION AUTHORIZATION {role}" for role in DEFINERS]
        + [f"GRANT {role} TO {app_login}" for role in DEFINERS]
        + [f"ALTER ROLE {role} PASSWORD 'guessed'" for role in DEFINERS]
        + [
            f"ALTER ROLE {app_login} SUPERUSER",
        ]
    )
    with psycopg.connect(node.url("socialdb_ops", app_login), autocommit=True) as conn:
        for statement in attempts:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement.encode())
        assert conn.execute("SELECT current_user::text, session_user::text").fetchone() == (app_login, app_login)


@pytest.fixture
def hba_line(ops: Ops) -> Iterator[Any]:
    """Puts a line first in the coordinator's pg_hba.conf (reloaded); the file is restored after."""
    path = ops.cluster.root / ops.cluster.coordinator.name / "pg_hba.conf"
    original = path.read_text()

    def put(line: str) -> None:
        path.write_text(f"{line}\n{original}")
        citus.rows(ops.url, "SELECT pg_reload_conf()")

    yield put
    path.write_text(original)
    citus.rows(ops.url, "SELECT pg_reload_conf()")


def _socket_url(ops: Ops, role: str, password: str | None = None) -> str:
    secret = f"&password={password}" if password else ""
    return f"postgresql://{role}@/socialdb_ops?host={ops.cluster.root}&port={ops.cluster.coordinator.port}{secret}"


def test_pg_hba_admits_the_definers_only_from_the_nodes_address(ops: Ops, hba_line: Any) -> None:
    """As docs/security.md says: first in pg_hba.conf, the definer roles from the nodes'
    addresses only, refused from anywhere else. Here the nodes connect over 127.0.0.1, and the
    Unix socket stands for anywhere else."""
    hba_line("local all socialdb_owner reject")
    for role in ("socialdb_owner",):
        with pytest.raises(psycopg.OperationalError, match="pg_hba.conf rejects connection"):
            psycopg.connect(_socket_url(ops, role), connect_timeout=10).close()
        with psycopg.connect(ops.cluster.coordinator.url("socialdb_ops", role)) as conn:  # from the nodes' address
            assert conn.execute("SELECT current_user::text").fetchone() == (role,)


def test_no_password_admits_a_definer_role(ops: Ops, hba_line: Any) -> None:
    """Where pg_hba.conf asks for a password, nothing admits them: they have none (PASSWORD NULL)."""
    hba_line("local all socialdb_owner,socialdb_ingest scram-sha-256")  # socialdb_ingest: not even a login
    for role in DEFINERS:
        for guess in ("guessed", role):
            with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
                psycopg.connect(_socket_url(ops, role, guess), connect_timeout=10).close()


# -- the summary, TRUNCATE (decision 241) ----------------------------------------------------------

# What one server's summary holds for the events: tests/test_summary.py's definition of it.
FROM_SCRATCH = """
SELECT user_id, client_account_id, coalesce(client_account_id, '00000000-0000-0000-0000-000000000000'::uuid),
       (occurred_at AT TIME ZONE 'UTC')::date, event_category, event_type, count(*), sum(value), avg(value)
FROM analytics_events GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 3, 4, 5, 6
"""
SUMMARY = """
SELECT user_id, client_account_id, client_account_key, date, event_category, event_type, event_count, total_value,
       avg_value
FROM analytics_daily_summary ORDER BY 1, 3, 4, 5, 6
"""
ROLLUP = "SELECT user_id, date, event_category, event_count, total_value FROM analytics_daily_rollup ORDER BY 1, 2, 3"
ROLLUP_FROM_EVENTS = """
SELECT user_id, (occurred_at AT TIME ZONE 'UTC')::date, event_category, count(*), sum(value)
FROM analytics_events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
# Events written around the triggers (their statement trigger is the calls' work, not this
# file's): as the superuser, with the shards' triggers off, and the changed days noted as the
# trigger notes them. Hours from the month's first instant: days of a month that has a partition.
_EVENTS = (
    "SET LOCAL citus.propagate_set_commands = 'local'",
    "SET LOCAL session_replication_role = replica",
    """INSERT INTO analytics_events (user_id, client_account_id, event_type, event_category, value, occurred_at)
    SELECT '{u}', CASE WHEN h % 3 = 0 THEN NULL ELSE md5('acct-{s}')::uuid END,
           (ARRAY['sale', 'view', 'reply'])[1 + h % 3], (ARRAY['sales', 'engagement', 'message'])[1 + h % 3],
           CASE WHEN h % 4 = 0 THEN NULL ELSE (h * {k})::numeric / 7 END,
           date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + h * interval '5 hours'
    FROM generate_series({first}, {last}) AS h""",
    """INSERT INTO analytics_summary_changes (user_id, date)
    SELECT DISTINCT '{u}'::uuid, ((date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           + h * interval '5 hours') AT TIME ZONE 'UTC')::date
    FROM generate_series({first}, {last}) AS h""",
)


def _add_events(url: str, first: int, last: int, k: int) -> None:
    """One statement at a time: Citus sends a string of several to a worker whole."""
    with psycopg.connect(url) as admin:
        for suffix, user_id in SELLERS.items():
            for statement in _EVENTS:
                admin.execute(statement.format(u=user_id, s=suffix, first=first, last=last, k=k).encode())
            admin.commit()


@pytest.fixture(scope="module")
def maintenance_url(ops: Ops) -> Iterator[str]:
    with login_role(ops.url, "socialdb_maintenance") as (_, url):
        yield url


def _same_as_one_server(url: str) -> None:
    assert citus.rows(url, SUMMARY) == citus.rows(url, FROM_SCRATCH)
    assert citus.rows(url, ROLLUP) == citus.rows(url, ROLLUP_FROM_EVENTS)


def test_summary_refresh_per_seller_equals_one_servers(ops: Ops, maintenance_url: str) -> None:
    _add_events(ops.url, 0, 20, 3)
    assert _run("summary", "refresh", "--database-url", maintenance_url)[0] == 0
    _same_as_one_server(ops.url)
    _add_events(ops.url, 10, 30, 5)  # more events on some of the same days, and on new ones
    code, out, err = _run("summary", "refresh", "--database-url", maintenance_url)
    assert code == 0 and re.fullmatch(r"summary refreshed in \d+ ms\n", out), err
    _same_as_one_server(ops.url)
    assert citus.rows(ops.url, "SELECT count(*) FROM analytics_summary_changes") == [(0,)]
    assert {row[0] for row in citus.rows(ops.url, SUMMARY)} == {uuid.UUID(u) for u in SELLERS.values()}


def test_summary_rebuild_repairs_every_seller(ops: Ops, maintenance_url: str) -> None:
    _add_events(ops.url, 31, 35, 2)  # noted, not refreshed: the rebuild takes them too
    with psycopg.connect(ops.url, autocommit=True) as admin:  # damage: a wrong total, a lost row
        admin.execute(
            "UPDATE analytics_daily_summary SET event_count = event_count + 7 WHERE user_id = %s", (SELLERS["a"],)
        )
        admin.execute("DELETE FROM analytics_daily_rollup WHERE user_id = %s", (SELLERS["b"],))
    code, out, err = _run("summary", "rebuild", "--database-url", maintenance_url)
    assert code == 0 and out.startswith("summary rebuilt in "), err
    _same_as_one_server(ops.url)
    assert citus.rows(ops.url, "SELECT count(*) FROM analytics_summary_changes") == [(0,)]


def test_the_application_still_cannot_refresh_the_summary(ops: Ops) -> None:
    with login_role(ops.url, "socialdb_app") as (_, url), psycopg.connect(url, autocommit=True) as conn:
        for function in ("refresh_analytics_daily_summary()", "rebuild_analytics_daily_summary()"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT {function}".encode())
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT recompute_seller_days(%s, ARRAY[current_date])", (SELLERS["a"],))


# -- tokens rotate, maintain (decisions 241, 244) ---------------------------------------------------


def _key(byte: int) -> str:
    return base64.b64encode(bytes([byte]) * 32).decode()


def test_tokens_rotate_reencrypts_every_sellers_tokens(ops: Ops) -> None:
    old = TokenCipher.parse(f"k1:{_key(1)}", "test")
    new = TokenCipher.parse(f"k2:{_key(2)}\nk1:{_key(1)}", "test")
    plain: dict[uuid.UUID, str] = {}
    with psycopg.connect(ops.url, autocommit=True) as admin:
        admin.execute("DELETE FROM oauth_tokens")  # DATA's opaque ones; one live token per account
        for suffix, user_id in SELLERS.items():
            token_id, account = uuid.uuid4(), uuid.UUID(citus.rows(ops.url, f"SELECT md5('acct-{suffix}')")[0][0])
            plain[token_id] = f"token-{suffix}"
            admin.execute(
                "INSERT INTO oauth_tokens (id, user_id, client_account_id, platform, access_token, expires_at, scopes)"
                " VALUES (%s, %s, %s, 'instagram', %s, now() + interval '1 day', ARRAY['basic'])",
                (token_id, user_id, account, old.encrypt(plain[token_id], account, token_id)),
            )
    code, out, err = _run_rotate(ops.migrator_url, f"k2:{_key(2)},k1:{_key(1)}")
    assert code == 0, err
    assert out.splitlines()[-1] == "2 token(s) re-encrypted; every token is under key 'k2'"
    for token_id, user_id, account, stored in citus.rows(
        ops.url, "SELECT id, user_id, client_account_id, access_token FROM oauth_tokens"
    ):
        assert key_id_of(stored) == "k2", user_id
        assert new.decrypt(stored, account, token_id) == plain[token_id]


def _run_rotate(url: str, keys: str) -> tuple[int, str, str]:
    proc = socialdb("tokens", "rotate", "--batch-size", "1", "--database-url", url, env={"SOCIALDB_TOKEN_KEYS": keys})
    out, err = finish(proc, 300)
    return proc.returncode, out, err


def test_maintain_makes_and_keeps_the_events_partitions(ops: Ops) -> None:
    before = _partitions(ops.url)
    code, out, err = _run("maintain", "--months", "4", "--database-url", ops.migrator_url)
    assert code == 0, err
    after = _partitions(ops.url)
    assert set(before) < set(after), out
    assert out.splitlines() == [f"created {name}" for name in sorted(set(after) - set(before))]
    # Each new partition is distributed with its parent, in users' group (a seller's node).
    groups = citus.rows(
        ops.url,
        "SELECT DISTINCT colocationid FROM pg_dist_partition WHERE logicalrelid IN"
        " ('public.users'::regclass, 'public.analytics_events'::regclass)"
        " OR logicalrelid::text LIKE 'analytics_events_%'",
    )
    assert len(groups) == 1
    again = _run("maintain", "--months", "4", "--database-url", ops.migrator_url)
    assert again[:2] == (0, "partitions up to date\n"), again[2]


def _partitions(url: str) -> list[str]:
    return [
        row[0]
        for row in citus.rows(
            url,
            "SELECT c.relname::text FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'public.analytics_events'::regclass ORDER BY 1",
        )
    ]


def test_truncating_the_events_empties_the_summary_without_a_deadlock(ops: Ops) -> None:
    """Last of the summary's tests: it empties the events. As the migrating role (a member of
    the owner), with a statement timeout: a distributed deadlock fails, never hangs."""
    assert citus.rows(ops.url, "SELECT count(*) > 0 FROM analytics_daily_summary") == [(True,)]
    with psycopg.connect(ops.migrator_url, autocommit=True) as conn:
        conn.execute(f"SET statement_timeout = '{TIMEOUT_S}s'".encode())
        conn.execute("TRUNCATE analytics_events")
    for table in ("analytics_events", "analytics_daily_summary", "analytics_daily_rollup", "analytics_summary_changes"):
        assert citus.rows(ops.url, f"SELECT count(*) FROM {table}") == [(0,)], table


# -- the runner on Citus (decisions 242, 243) ------------------------------------------------------

# DDL on a distributed table, then a function command, in one transaction: in Citus's parallel
# mode the second is refused (018 and 019 were, in the trial); the runner's sequential mode runs it.
DDL_THEN_FUNCTION = """
ALTER TABLE notifications ADD COLUMN ops_probe integer;
CREATE FUNCTION ops_probe() RETURNS integer LANGUAGE sql AS 'SELECT 1';
"""
PROBE_MIGRATION = f"""-- A test's: DDL on a distributed table, then a function command.
{DDL_THEN_FUNCTION}
-- ROLLBACK
DROP FUNCTION ops_probe();
ALTER TABLE notifications DROP COLUMN ops_probe;
"""


def test_a_function_command_after_ddl_on_a_distributed_table_needs_sequential_mode(ops: Ops) -> None:
    """The control: without the runner, the trial's error."""
    with psycopg.connect(ops.migrator_url) as conn:
        with pytest.raises(psycopg.Error, match="cannot run function command because there was a parallel operation"):
            conn.execute(DDL_THEN_FUNCTION.encode())
        conn.rollback()


def test_the_runner_runs_a_function_command_after_ddl_on_a_distributed_table(ops: Ops, tmp_path: Path) -> None:
    packaged = Path(runner.__file__).parent / "migrations"
    for source in packaged.iterdir():
        (tmp_path / source.name).write_bytes(source.read_bytes())
    (tmp_path / "999-ddl-then-function.sql").write_text(PROBE_MIGRATION)
    applied = runner.up(ops.migrator_url, tmp_path)
    assert [outcome.migration.version for outcome in applied] == [999]
    for node in ops.cluster.nodes:  # the function reached the workers, the column every shard
        assert citus.rows(node.url("socialdb_ops"), "SELECT ops_probe()") == [(1,)], node.name
    assert citus.rows(ops.url, "SELECT count(ops_probe) FROM notifications") == [(0,)]
    runner.down(ops.migrator_url, 1, tmp_path)
    assert citus.rows(ops.url, "SELECT to_regprocedure('ops_probe()') IS NULL") == [(True,)]


def test_the_plan_reads_sizes_from_the_shards(ops: Ops) -> None:
    from socialdb.planner import live

    with psycopg.connect(ops.url, autocommit=True) as admin:
        admin.execute(
            "INSERT INTO notifications (user_id, type, title, message)"
            " SELECT (ARRAY[%s, %s]::uuid[])[1 + n %% 2], 'sale', 'n' || n, repeat('x', 200)"
            " FROM generate_series(1, 500) AS n",
            (SELLERS["a"], SELLERS["b"]),
        )
        admin.execute("ANALYZE notifications")
        shell = admin.execute("SELECT reltuples FROM pg_class WHERE oid = 'public.notifications'::regclass").fetchone()
    total = citus.rows(ops.url, "SELECT count(*) FROM notifications")[0][0]
    # The coordinator's own table: what the plan read before (the rows it held when distributed).
    assert shell is not None and shell[0] < total
    with psycopg.connect(ops.migrator_url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        facts = live.facts(conn)
    notifications = facts.relations["public.notifications"]
    assert notifications.rows == total
    assert notifications.bytes is not None and notifications.bytes >= 500 * 200


# -- a shard move under live ingest (issue 26, item 5) -------------------------------------------

WRITERS = 4
# Between two messages of a writer: live traffic, not a flood of the machine's 2 shared cores.
PAUSE_S = 0.01
# A customer message into the seller's conversation. As the application role inside the seller's
# scope the unread counter's trigger counts it on the shard (057's Citus branch). The other
# writer, a control without triggers, inserts as the superuser with the shards' triggers off and
# counts the message itself in the same transaction, keyed by the seller as that branch is.
_MESSAGE = """
INSERT INTO messages (id, conversation_id, user_id, platform_message_id, sender_type, content, sent_at)
VALUES (%s, md5('conv-' || %s::text)::uuid, %s, %s, 'customer', 'oi', now())
"""
_COUNTED_BY_HAND = (
    "SET LOCAL citus.propagate_set_commands = 'local'",
    "SET LOCAL session_replication_role = replica",
    _MESSAGE,
    "UPDATE conversations SET unread_count = unread_count + 1 WHERE id = md5('conv-' || %s::text)::uuid"
    " AND user_id = %s",
)
_COUNTERS = """
SELECT c.id, c.unread_count, (SELECT count(*) FROM messages AS m WHERE m.conversation_id = c.id
  AND m.user_id = c.user_id AND m.sender_type = 'customer' AND NOT m.is_read)
FROM conversations AS c ORDER BY 1
"""


class WriterKind(StrEnum):
    APPLICATION = "application"  # a login role in socialdb_app, in the seller's scope: the trigger counts
    BY_HAND = "by hand"  # the superuser, triggers off, the counter updated in the same transaction


@dataclass
class _Writer:
    url: str
    kind: WriterKind
    suffix: str
    acknowledged: list[uuid.UUID] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    pause_s: float = PAUSE_S

    def run(self, stop: threading.Event) -> None:
        with psycopg.connect(self.url, connect_timeout=10) as conn:
            conn.execute(f"SET statement_timeout = '{TIMEOUT_S}s'".encode())
            conn.commit()
            while not stop.is_set():
                message_id = uuid.uuid4()
                try:
                    self._write(conn, message_id)
                    conn.commit()
                except psycopg.Error as exc:
                    conn.rollback()
                    self.failures.append(str(exc).splitlines()[0])
                    continue
                self.acknowledged.append(message_id)  # committed: the writer's caller was told so
                stop.wait(self.pause_s)

    def _write(self, conn: psycopg.Connection[Any], message_id: uuid.UUID) -> None:
        user_id = SELLERS[self.suffix]
        values = (message_id, self.suffix, user_id, f"live-{message_id}")
        if self.kind is WriterKind.APPLICATION:
            from socialdb.app.tenant import seller

            with seller(conn, user_id):
                conn.execute(_MESSAGE, values)
            return
        for statement in _COUNTED_BY_HAND[:2]:
            conn.execute(statement)
        conn.execute(_COUNTED_BY_HAND[2], values)
        conn.execute(_COUNTED_BY_HAND[3], (self.suffix, user_id))


def _counting_trigger_runs(ops: Ops, app_url: str) -> bool:
    """Whether the application's plain INSERT of a message runs on the cluster (rolled back)."""
    with psycopg.connect(app_url) as conn:
        try:
            _Writer(app_url, WriterKind.APPLICATION, "a")._write(conn, uuid.uuid4())
        except psycopg.errors.FeatureNotSupported:
            return False
        finally:
            conn.rollback()
    return True


@pytest.mark.parametrize("kind", list(WriterKind), ids=[k.name.lower() for k in WriterKind])
def test_a_shard_move_under_live_ingest_loses_nothing_and_counts_exactly(
    ops: Ops, app_login: str, kind: WriterKind
) -> None:
    app_url = ops.cluster.coordinator.url("socialdb_ops", app_login)
    # 057's Citus branch of the unread trigger: the application's own INSERT runs on the cluster
    assert kind is not WriterKind.APPLICATION or _counting_trigger_runs(ops, app_url)
    url = app_url if kind is WriterKind.APPLICATION else ops.url
    shard = citus.rows(
        ops.url, "SELECT get_shard_id_for_distribution_column('public.users', %s::uuid)", (SELLERS["a"],)
    )
    source = citus.rows(ops.url, "SELECT nodeport FROM citus_shards WHERE shardid = %s", (shard[0][0],))[0][0]
    target = next(w.port for w in ops.cluster.workers if w.port != source)
    writers = [_Writer(url, kind, "ab"[n % 2]) for n in range(WRITERS)]
    moved, during = _move_while_writing(ops, writers, shard[0][0], source, target)
    assert citus.rows(ops.url, "SELECT nodeport FROM citus_shards WHERE shardid = %s", (shard[0][0],)) == [(target,)]
    assert during > 0  # the writers wrote while the shard moved
    acknowledged = {message_id for w in writers for message_id in w.acknowledged}
    assert len(acknowledged) >= moved
    stored = {
        row[0] for row in citus.rows(ops.url, "SELECT id FROM messages WHERE id = ANY (%s)", (list(acknowledged),))
    }
    assert stored == acknowledged  # nothing acknowledged is lost
    counters = citus.rows(ops.url, _COUNTERS)
    assert counters and all(count == recount for _, count, recount in counters), counters


def _move_while_writing(ops: Ops, writers: list[_Writer], shard: int, source: int, target: int) -> tuple[int, int]:
    """Move the shard (and its co-located ones) from `source` to `target` while the writers write;
    the messages acknowledged before the move ended, and how many of them during it."""
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in writers]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: all(len(w.acknowledged) >= 3 for w in writers), TIMEOUT_S, f"every writer to write: {writers}")
        before = sum(len(w.acknowledged) for w in writers)
        with psycopg.connect(ops.url, autocommit=True) as admin:
            admin.execute(f"SET statement_timeout = '{TIMEOUT_S}s'".encode())
            admin.execute(
                "SELECT citus_move_shard_placement(%s, %s, %s, %s, %s, shard_transfer_mode => 'block_writes')",
                (shard, citus.HOST, source, citus.HOST, target),
            )
        after = sum(len(w.acknowledged) for w in writers)
        wait_for(
            lambda: sum(len(w.acknowledged) for w in writers) >= after + WRITERS, TIMEOUT_S, "writes after the move"
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads)
    return after, after - before
