"""A Citus cluster for the tests (issue 26): a coordinator and two workers of the machine's
PostgreSQL 15, with Citus built into it by `.ci/citus-build`.

A pytest plugin (tests/conftest.py loads it). The session-scoped fixture `citus_cluster` starts
the three servers in one temporary folder owned by the `postgres` OS user, each listening on
127.0.0.1 at a free port with `shared_preload_libraries = 'citus'`, `wal_level = logical` (shard
moves) and `max_prepared_transactions` above 0 (two-phase commit), and stops them at the end of
the session; `Cluster.create_database` makes a database on every node with the extension in it
and the workers registered. Authentication is `trust`: a throwaway cluster on this machine only.

Where Citus is absent (no citus.so in PostgreSQL 15's `pg_config --pkglibdir`) the tests that
use the cluster skip, with the reason; with SOCIALDB_REQUIRE_CITUS=1 (.ci/run sets it) they fail
instead, so that CI never passes without them. Tests using the cluster are marked `citus`
(`uv run pytest -m citus`), and `db` and `processes`, like every test that starts servers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from socialdb.migrate import runner
from socialdb.migrate.bootstrap import bootstrap
from tests import pg15
from tests.helpers import MIGRATOR, as_migrator, finish, socialdb
from tests.sellers import DATA, SELLERS

REQUIRED = "SOCIALDB_REQUIRE_CITUS"  # "1": a missing Citus fails the Citus tests (CI) instead of skipping them
PROGRAMS = ("initdb", "pg_ctl", "postgres", "pg_config")
HOST = "127.0.0.1"
WORKERS = ("worker1", "worker2")
SETTINGS = (
    "-c shared_preload_libraries=citus",
    "-c wal_level=logical",
    "-c max_prepared_transactions=100",
    "-c max_connections=200",
)
CONNECT_S = 10  # connect_timeout of every connection the tests open to a node


def citus_library() -> Path:
    """Where PostgreSQL 15 loads citus.so from: its `pg_config --pkglibdir`."""
    done = subprocess.run(
        [str(pg15.PG15 / "pg_config"), "--pkglibdir"], capture_output=True, text=True, timeout=30, check=True
    )
    return Path(done.stdout.strip()) / "citus.so"


def unavailable() -> str | None:
    """Why no Citus cluster can be started here (the reason of the skip), or None."""
    reason = pg15.unavailable(*PROGRAMS)
    if reason is not None:
        return reason
    library = citus_library()
    if not library.is_file():
        return f"Citus is not installed into PostgreSQL 15: {library} is missing (`bash .ci/citus-build` builds it)"
    return None


def skip_or_fail(reason: str | None, environ: Mapping[str, str] = os.environ) -> None:
    """Nothing when `reason` is None; else skip the test with it, or, where SOCIALDB_REQUIRE_CITUS
    is 1 (CI), fail it: there a Citus test that cannot run is an error, never a skip."""
    if reason is None:
        return
    if environ.get(REQUIRED) == "1":
        pytest.fail(f"{REQUIRED}=1 and the Citus cluster cannot start: {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Node:
    name: str  # coordinator, worker1, worker2: its data folder's name too
    port: int

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@{HOST}:{self.port}/{database}?connect_timeout={CONNECT_S}"


@dataclass(frozen=True)
class Cluster:
    root: Path
    coordinator: Node
    workers: tuple[Node, ...]

    @property
    def nodes(self) -> tuple[Node, ...]:
        return (self.coordinator, *self.workers)

    def create_database(self, name: str) -> str:
        """Database `name` on every node, with the citus extension, the coordinator's host set and
        every worker added; the URL of the coordinator's, for the superuser `postgres`."""
        for node in self.nodes:
            with psycopg.connect(node.url(), autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            with psycopg.connect(node.url(name), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION citus")
        url = self.coordinator.url(name)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT citus_set_coordinator_host(%s, %s)", (HOST, self.coordinator.port))
            for worker in self.workers:
                conn.execute("SELECT citus_add_node(%s, %s)", (HOST, worker.port))
        return url


@contextmanager
def running_cluster() -> Iterator[Cluster]:
    """A coordinator and the workers, started, in a new temporary folder; stopped and removed after.
    One initdb: the workers' data folders are copies of the coordinator's, made before it starts."""
    prefix = pg15.as_postgres()
    root = Path(tempfile.mkdtemp(prefix="socialdb-citus-", dir="/tmp"))  # short: socket paths are limited
    cluster = Cluster(root, Node("coordinator", pg15.free_port()), tuple(Node(w, pg15.free_port()) for w in WORKERS))
    try:
        pg15.give_to_postgres(root)
        pg15.initdb(prefix, root / cluster.coordinator.name)
        for worker in cluster.workers:
            pg15.run(prefix, "cp", "-a", str(root / cluster.coordinator.name), str(root / worker.name))
        for node in cluster.nodes:
            pg15.start(prefix, root / node.name, root, node.port, *SETTINGS, listen=HOST)
        yield cluster
    finally:
        for node in cluster.nodes:
            pg15.stop(prefix, root / node.name)
        shutil.rmtree(root, ignore_errors=True)


# -- a socialdb database on the cluster ------------------------------------------------------


def rows(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """One query's rows on `url`, in a connection of its own (autocommit)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query.encode(), params or None).fetchall()


def _names(url: str, query: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {row[0] for row in conn.execute(query).fetchall()}


def prepared(cluster: Cluster, name: str) -> tuple[str, str]:
    """A database on every node, handed to MIGRATOR after `socialdb db bootstrap` (what an
    administrator does once, tests/conftest.py); the superuser's URL and MIGRATOR's."""
    url = cluster.create_database(name)
    with psycopg.connect(url, autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (MIGRATOR,)).fetchone() is None:
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(MIGRATOR)))  # Citus: on every node
    migrator_url = as_migrator(url)  # ALTER DATABASE ... OWNER: Citus propagates it to the workers
    bootstrap(url, MIGRATOR, run=True)
    return url, migrator_url


def plain_database(cluster: Cluster, name: str) -> str:
    """A socialdb database on the coordinator alone, without the citus extension (the server
    still preloads Citus's library), migrated by MIGRATOR as `prepared` does; the superuser's URL."""
    with psycopg.connect(cluster.coordinator.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (MIGRATOR,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(MIGRATOR)))
    url = cluster.coordinator.url(name)
    bootstrap(url, MIGRATOR, run=True)
    runner.up(as_migrator(url))
    return url


# The views that CREATE EXTENSION citus puts in schema public when it exists (citus_tables,
# citus_schemas): members of the extension, owned by the superuser that created it, which
# `socialdb db bootstrap` moves to pg_catalog (decision 271).
EXTENSION_VIEWS = """
SELECT c.relnamespace::regnamespace::text, c.relname FROM pg_class AS c
JOIN pg_depend AS d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
JOIN pg_extension AS e ON e.oid = d.refobjid AND e.extname = 'citus'
WHERE c.relkind = 'v' AND c.relname IN ('citus_tables', 'citus_schemas') ORDER BY 2
"""


SHARDS = 4  # few shards: the cluster shares this machine's 2 cores


def seeded(cluster: Cluster, name: str) -> tuple[str, str]:
    """A socialdb database on the cluster, migrated by MIGRATOR to the newest version, with two
    sellers' rows of everything (tests/sellers.py) and the summary refreshed, its tables still
    local; the superuser's URL and MIGRATOR's."""
    url, migrator_url = prepared(cluster, name)
    runner.up(migrator_url)
    with psycopg.connect(url, autocommit=True) as admin:  # the tables still local: as on one server
        for suffix, user_id in SELLERS.items():
            admin.execute(DATA.format(u=user_id, s=suffix).encode())
        admin.execute("SELECT refresh_analytics_daily_summary()")
    return url, migrator_url


def distribute(url: str, shard_count: int = SHARDS) -> tuple[int, str, str]:
    """`socialdb citus distribute` as a process, as an operator runs it: exit code, stdout, stderr."""
    proc = socialdb("citus", "distribute", "--shard-count", str(shard_count), "--database-url", url)
    out, err = finish(proc, 300)
    return proc.returncode, out, err


def distributed_database(cluster: Cluster, name: str, shard_count: int = SHARDS) -> tuple[str, str]:
    """`seeded`, then distributed by `socialdb citus distribute` (the tenant tables by seller,
    co-located with users; the lookups of the rules across sellers reference tables): the
    superuser's URL and MIGRATOR's. For any test file that needs a distributed socialdb."""
    url, migrator_url = seeded(cluster, name)
    code, _, err = distribute(url, shard_count)
    assert code == 0, err
    return url, migrator_url


# -- the plugin ------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "citus: uses the Citus cluster of tests/citus.py (coordinator and two workers)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "citus_cluster" in getattr(item, "fixturenames", ()):
            for marker in (pytest.mark.citus, pytest.mark.db, pytest.mark.processes):
                item.add_marker(marker)


@pytest.fixture(scope="session")
def citus_cluster() -> Iterator[Cluster]:
    """The session's Citus cluster (started by the first test that asks for it)."""
    skip_or_fail(unavailable())
    with running_cluster() as cluster:
        yield cluster
