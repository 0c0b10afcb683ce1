"""socialdb on a real Citus cluster (issue 26, docs/scaling.md "Tested on a Citus cluster").

A coordinator and two workers of the machine's PostgreSQL 15 with Citus 13.2 (tests/citus.py,
built by .ci/citus-build). What is proven here, and nothing more:

- `socialdb migrate up` applies every migration on the coordinator as a login role that is no
  superuser and owns the database (as tests/conftest.py migrates the suite's template), once an
  administrator has handed it the two views Citus puts in schema public; without that, the
  runner refuses before the first file and says what to do;
- the roles, functions and extensions that the migrations make reach both workers, while the
  tables stay local to the coordinator (nothing distributes them yet);
- status, verify, down and up again work there; and, with the tables still local, every
  `migrate` command (up, status, verify, plan, down, up in table lock mode), `seed`, `maintain`,
  `summary refresh` and `rebuild`, and `tokens rotate` exit 0 as `socialdb` processes;
- a migration's lock_timeout reaches the workers: with a lock held on one worker's shard, `up`
  fails after its lock_timeout, names the blocker, and leaves the holder alone.

And, without a cluster: the skip rule itself, .ci/citus-build's one-line failure without its
source and its skip of a second build, and .ci/run requiring these tests in its PostgreSQL 15
leg only. Without Citus the cluster's tests skip with the reason; with SOCIALDB_REQUIRE_CITUS=1
(.ci/run) they fail.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from socialdb.errors import LockNotAvailableError, PrivilegeError
from socialdb.migrate import runner
from socialdb.migrate.bootstrap import bootstrap
from socialdb.scripts.options import RunOptions
from tests import citus, pg15
from tests.citus import Cluster
from tests.helpers import LATEST, MIGRATOR, finish, socialdb, write_migrations

ROLES = {"socialdb_owner", "socialdb_app", "socialdb_maintenance", "socialdb_ingest"}
EXTENSIONS = {"unaccent", "btree_gin"}  # made by the migrations (020), beside plpgsql and citus


def _rows(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params or None).fetchall()


def _column(url: str, query: str, params: tuple[Any, ...] = ()) -> set[Any]:
    return {row[0] for row in _rows(url, query, params)}


# -- the skip rule (no cluster needed) ---------------------------------------------------------


def test_without_citus_its_tests_skip_with_the_reason() -> None:
    with pytest.raises(pytest.skip.Exception, match=r"^/x/citus\.so is missing$"):
        citus.skip_or_fail("/x/citus.so is missing", environ={})


def test_where_citus_is_required_a_missing_citus_fails_its_tests() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"SOCIALDB_REQUIRE_CITUS=1 .*: /x/citus\.so is missing$"):
        citus.skip_or_fail("/x/citus.so is missing", environ={citus.REQUIRED: "1"})
    citus.skip_or_fail(None, environ={citus.REQUIRED: "1"})  # available: nothing to say


def test_the_reason_names_the_missing_library_and_the_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pg15, "unavailable", lambda *programs: None)
    monkeypatch.setattr(citus, "citus_library", lambda: tmp_path / "citus.so")
    assert citus.unavailable() == (
        f"Citus is not installed into PostgreSQL 15: {tmp_path / 'citus.so'} is missing"
        " (`bash .ci/citus-build` builds it)"
    )
    (tmp_path / "citus.so").touch()
    assert citus.unavailable() is None


def test_ci_builds_citus_then_requires_its_tests_in_the_postgresql_15_leg_only() -> None:
    script = (Path(__file__).parent.parent / ".ci" / "run").read_text().replace("\\\n", " ")  # one line a command
    split = script.index("PG15=/usr/lib/postgresql/15/bin")
    embedded, pg15_leg = script[:split], script[split:]
    runs = [line for line in pg15_leg.splitlines() if "uv run pytest" in line]
    assert len(runs) == 1 and f" {citus.REQUIRED}=1 " in runs[0]
    assert pg15_leg.index("bash .ci/citus-build") < pg15_leg.index(runs[0])
    assert [line.strip() for line in embedded.splitlines() if "uv run pytest" in line] == [
        'env -u SOCIALDB_TEST_DATABASE_URL -u DATABASE_URL uv run pytest -m "not citus"'
    ]


BUILD = Path(__file__).parent.parent / ".ci" / "citus-build"


def _build(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(BUILD)], capture_output=True, text=True, timeout=60, env={**os.environ, **env}, check=False
    )


def test_the_build_fails_clearly_without_its_source(tmp_path: Path) -> None:
    done = _build(SOCIALDB_CITUS_TARBALL=str(tmp_path / "citus.tar.gz"))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"citus-build: error: the Citus source {tmp_path / 'citus.tar.gz'} is missing"
        " (set SOCIALDB_CITUS_TARBALL to the tarball's path)"
    )


@pytest.mark.citus
def test_a_second_build_of_the_same_source_is_skipped_in_seconds() -> None:
    citus.skip_or_fail(citus.unavailable())
    stamp = citus.citus_library().with_name("citus.so.source-sha256")
    if not stamp.is_file():
        citus.skip_or_fail(f"{stamp} is missing: this Citus was not installed by .ci/citus-build")
    started = time.monotonic()
    done = _build()
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 10
    assert f", patched (key {stamp.read_text().strip()[:12]}) already in {stamp.parent}: skipped" in done.stdout


# -- migrate up on the coordinator -------------------------------------------------------------


@dataclass(frozen=True)
class Migrated:
    url: str  # the superuser's, on the coordinator
    migrator_url: str  # MIGRATOR's: no superuser, owner of the database
    applied: int  # what `up` applied


@pytest.fixture(scope="module")
def migrated(citus_cluster: Cluster) -> Migrated:
    url, migrator_url = citus.prepared(citus_cluster, "socialdb")
    applied = runner.up(migrator_url)
    return Migrated(url, migrator_url, len(applied))


def test_up_applies_every_migration_on_the_coordinator_as_no_superuser(migrated: Migrated) -> None:
    assert migrated.applied == LATEST
    assert _rows(migrated.migrator_url, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == [(False,)]
    assert {row.state for row in runner.status(migrated.migrator_url)} == {"applied"}
    assert runner.verify(migrated.migrator_url) == []


def test_bootstrap_moves_citus_views_out_of_public_and_up_is_refused_without_it(citus_cluster: Cluster) -> None:
    url, migrator_url = citus.prepared(citus_cluster, "socialdb_refused")  # bootstrap moved the views
    moved = [("pg_catalog", "citus_schemas"), ("pg_catalog", "citus_tables")]
    assert _rows(url, citus.EXTENSION_VIEWS) == moved
    assert _rows(migrator_url, "SELECT count(*) FROM citus_tables") == [(0,)]  # still read, unqualified
    with psycopg.connect(url, autocommit=True) as admin:  # as CREATE EXTENSION citus left them
        for view in ("citus_tables", "citus_schemas"):
            admin.execute(sql.SQL("ALTER VIEW {} SET SCHEMA public").format(sql.Identifier("pg_catalog", view)))
    with pytest.raises(
        PrivilegeError, match=r"table citus_\w+ is postgres's, whom test_deploy cannot act as.*bootstrap"
    ):
        runner.up(migrator_url)
    assert _rows(url, "SELECT to_regclass('users')") == [(None,)]  # nothing was applied
    _, todo = bootstrap(migrator_url, MIGRATOR)  # the migrator may not move them: said, with why
    assert [(s.statement, s.blocked) for s in todo] == [
        (f'ALTER VIEW "public"."{v}" SET SCHEMA pg_catalog', "only a superuser may move a view into pg_catalog")
        for v in ("citus_schemas", "citus_tables")
    ]
    bootstrap(url, MIGRATOR, run=True)
    assert _rows(url, citus.EXTENSION_VIEWS) == moved
    assert [o.migration.version for o in runner.up(migrator_url, to=18)][-1] == 18
    with psycopg.connect(url, autocommit=True) as admin:  # as a later ALTER EXTENSION citus UPDATE would
        admin.execute("ALTER VIEW pg_catalog.citus_tables SET SCHEMA public")
    assert bootstrap(url, MIGRATOR)[1] == []  # 018 has run: no loop will take it now


def test_roles_functions_and_extensions_reach_every_worker(citus_cluster: Cluster, migrated: Migrated) -> None:
    functions = "SELECT p.oid::regprocedure::text FROM pg_proc AS p WHERE p.pronamespace = 'public'::regnamespace"
    on_coordinator = _column(migrated.url, functions)
    assert len(on_coordinator) > 50  # the seller calls, the triggers' functions, the summary's
    for worker in citus_cluster.workers:
        url = worker.url("socialdb")
        assert _column(url, "SELECT rolname FROM pg_roles WHERE rolname LIKE 'socialdb%'") == ROLES
        assert _column(url, functions) == on_coordinator
        assert _column(url, "SELECT extname FROM pg_extension") >= EXTENSIONS
        # The functions keep their owner there: 018 hands them to socialdb_owner on every node.
        owners = "SELECT DISTINCT pg_get_userbyid(p.proowner) FROM pg_proc AS p WHERE p.pronamespace = 'public'::regnamespace"
        assert _column(url, owners) == _column(migrated.url, owners)


def test_the_tables_stay_local_to_the_coordinator(citus_cluster: Cluster, migrated: Migrated) -> None:
    tables = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    assert {"users", "messages", "migrations"} <= _column(migrated.url, tables)
    assert _rows(migrated.url, "SELECT count(*) FROM pg_dist_partition") == [(0,)]  # nothing distributed
    for worker in citus_cluster.workers:
        assert _column(worker.url("socialdb"), tables) == set()


def test_down_and_up_again_on_the_coordinator(migrated: Migrated) -> None:
    runner.down(migrated.migrator_url)
    assert [row.state for row in runner.status(migrated.migrator_url)][-1] == "pending"
    assert len(runner.up(migrated.migrator_url)) == 1
    assert runner.verify(migrated.migrator_url) == []


# A test key of the right shape (tests/test_managed.py's), for `tokens rotate`.
_TOKEN_KEYS = "k1:" + "A" * 43 + "="


def test_every_runner_command_and_the_maintenance_commands_on_the_coordinator(citus_cluster: Cluster) -> None:
    """As `socialdb` processes, as tests/test_managed.py runs them on one server: with the tables
    still local, the coordinator serves every one of them as a single node would."""
    url, migrator_url = citus.prepared(citus_cluster, "socialdb_cli")
    env = {"SOCIALDB_TOKEN_KEYS": _TOKEN_KEYS, "DATABASE_URL": migrator_url}
    for args, said in [
        (("migrate", "up"), f"{LATEST} migration(s) applied"),
        (("migrate", "status"), "applied"),
        (("migrate", "verify"), ""),
        (("migrate", "plan"), "nothing to run"),
        (("migrate", "down", "--to", "24"), f"{LATEST - 24} migration(s) rolled back"),
        (("migrate", "plan"), "025-seller-calls.sql"),
        (("migrate", "up", "--lock-mode", "table"), f"{LATEST - 24} migration(s) applied"),
        (("seed",), "seeded"),
        (("maintain",), "partitions"),
        (("summary", "refresh"), "refreshed"),
        (("summary", "rebuild"), "rebuilt"),
        (("tokens", "rotate"), "re-encrypted"),
    ]:
        proc = socialdb(*args, env=env)
        out, err = finish(proc, 120)
        assert proc.returncode == 0 and said in out + err, (args, (out + err)[-600:])
    # schema diff: the one difference is Citus itself, which the scratch copy (the migrations alone) lacks.
    proc = socialdb("schema", "diff", "--scratch-url", url, env=env)
    out, err = finish(proc, 120)
    assert proc.returncode == 1, out + err
    assert "extension citus: expected none, found present" in out + err
    assert "1 difference(s) from the migrations" in out + err


# -- the runner's lock_timeout on the workers --------------------------------------------------

LOCK_MIGRATOR = "citus_lock_migrator"
PROBE = """\
-- socialdb: lock_timeout=2s
-- Test-only (tests/test_citus.py): ACCESS EXCLUSIVE on every shard of a distributed table.
ALTER TABLE lock_probe ADD COLUMN note text;

-- ROLLBACK
ALTER TABLE lock_probe DROP COLUMN note;
"""


# Two attempts, a short pause; statement_timeout bounds the test where lock_timeout does not reach.
RUN = RunOptions(lock_retries=2, retry_base_s=0.1, retry_cap_s=0.1, statement_timeout_ms=15_000)


@dataclass(frozen=True)
class Probe:
    url: str  # LOCK_MIGRATOR's, on the coordinator
    worker_url: str  # the superuser's, on a worker holding a shard of lock_probe
    worker_port: int
    shard: str  # that shard's table, on that worker


@pytest.fixture(scope="module")
def probe(citus_cluster: Cluster) -> Probe:
    """A distributed table of LOCK_MIGRATOR's, in a database of its own, and one of its shards."""
    url = citus_cluster.create_database("lock_probe")
    who = sql.Identifier(LOCK_MIGRATOR)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(who))
        admin.execute(sql.SQL("ALTER DATABASE lock_probe OWNER TO {}").format(who))
        admin.execute("CREATE TABLE lock_probe (user_id uuid NOT NULL, n int)")
        admin.execute("SELECT create_distributed_table('lock_probe', 'user_id')")
        admin.execute(sql.SQL("ALTER TABLE lock_probe OWNER TO {}").format(who))
        row = admin.execute(
            "SELECT s.shardid, n.nodeport FROM pg_dist_shard AS s JOIN pg_dist_placement AS p USING (shardid)"
            " JOIN pg_dist_node AS n USING (groupid) WHERE s.logicalrelid = 'lock_probe'::regclass"
            " AND n.nodeport <> %s ORDER BY s.shardid LIMIT 1",
            (citus_cluster.coordinator.port,),
        ).fetchone()
    assert row is not None
    worker = next(node for node in citus_cluster.workers if node.port == row[1])
    return Probe(
        citus_cluster.coordinator.url("lock_probe", LOCK_MIGRATOR),
        worker.url("lock_probe"),
        worker.port,
        f"lock_probe_{row[0]}",
    )


@pytest.fixture
def shard_read(probe: Probe) -> Iterator[psycopg.Connection[Any]]:
    """A transaction on the worker that has read one shard and holds its ACCESS SHARE lock, as a
    long read routed to that shard does; rolled back at the end."""
    with psycopg.connect(probe.worker_url, application_name="shard_reader") as conn:
        conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(probe.shard)))
        yield conn
        conn.rollback()


def test_a_lock_held_on_a_worker_shard_fails_up_after_lock_timeout(
    probe: Probe, shard_read: psycopg.Connection[Any], tmp_path: Path
) -> None:
    folder = write_migrations(tmp_path / "m", {"001-probe-column.sql": PROBE})
    started = time.monotonic()
    with pytest.raises(LockNotAvailableError) as caught:
        runner.up(probe.url, folder, RUN)
    elapsed = time.monotonic() - started
    # Two attempts of 2 s each and a short pause, not a wait for the reader (which goes on).
    assert elapsed < 12, f"up took {elapsed:.1f}s"
    message = str(caught.value)
    assert message.startswith("001-probe-column.sql: could not get its locks within lock_timeout after 2 attempts")
    # The blocker, on the worker: its global pid, node and application_name (its query is
    # another role's, so hidden from the migrator, as pg_stat_activity hides it).
    blocker = rf"nothing of it was applied\. Blocked by: gpid \d+ on 127\.0\.0\.1:{probe.worker_port} \(shard_reader, "
    assert re.search(blocker, message), message
    assert shard_read.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS  # left alone
    assert [row.state for row in runner.status(probe.url, folder)] == ["pending"]
    assert "note" not in _column(probe.url, "SELECT attname FROM pg_attribute WHERE attrelid = 'lock_probe'::regclass")
