"""A real PostgreSQL for the suite: the embedded server in a temp dir, or SOCIALDB_TEST_DATABASE_URL.

The server and the databases come from socialdb's own pytest plugin (socialdb.testing), as
for any project that uses socialdb: the schema is migrated once into a template database,
and each test that needs a clean database gets its own copy (CREATE DATABASE ... TEMPLATE),
which is fast. The names below are the suite's, older than the plugin's.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from socialdb.testing import Databases

pytest_plugins = ["socialdb.testing", "pytester", "tests.citus"]
__all__ = ["Databases"]  # tests import it from here

# What each test needs, as markers: `uv run pytest -m "not db"` answers in seconds.
#   db         a PostgreSQL server (any test using the server fixtures)
#   processes  socialdb or other programs started as separate processes
_PROCESS_MODULES = {"test_crash", "test_processes", "test_secrets", "test_concurrency"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "db: needs a PostgreSQL server")
    config.addinivalue_line("markers", "processes: starts separate processes")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if {"server_url", "socialdb_server_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
        if item.module is not None and item.module.__name__.rpartition(".")[2] in _PROCESS_MODULES:
            item.add_marker(pytest.mark.processes)


@pytest.fixture(scope="session")
def server_url(socialdb_server_url: str) -> str:
    """URL of a maintenance database on the test server."""
    return socialdb_server_url


@pytest.fixture(scope="session")
def databases(socialdb_databases: Databases) -> Databases:
    return socialdb_databases


@pytest.fixture(scope="session")
def socialdb_template(socialdb_databases: Databases) -> str:
    """Every migration applied as production applies them: by a login role that is no superuser
    and owns the database, after `socialdb db bootstrap` (docs/deploying.md, model b). The
    suite's own role, a superuser, only makes that role and hands it the database."""
    from psycopg import sql

    from socialdb.db import database_of
    from socialdb.migrate import runner
    from socialdb.migrate.bootstrap import bootstrap
    from tests.helpers import MIGRATOR, as_migrator

    url = socialdb_databases.create()
    with psycopg.connect(url, autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (MIGRATOR,)).fetchone() is None:
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(MIGRATOR)))
    migrator_url = as_migrator(url)
    bootstrap(url, MIGRATOR, run=True)
    runner.up(migrator_url)
    return database_of(url)


@pytest.fixture(scope="session")
def template_name(socialdb_template: str) -> str:
    """A database with every migration applied, used only as a template."""
    return socialdb_template


@pytest.fixture
def db_url(socialdb_url: str) -> str:
    """A fresh, fully migrated database for one test."""
    return socialdb_url


@pytest.fixture
def empty_db_url(socialdb_empty_url: str) -> str:
    """A fresh database with nothing in it."""
    return socialdb_empty_url


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection
