"""A real PostgreSQL for the suite: the embedded server in a temp dir, or SOCIALDB_TEST_DATABASE_URL.

The schema is migrated once into a template database; each test that needs a
clean database gets its own copy (CREATE DATABASE ... TEMPLATE), which is fast.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from socialdb import embedded
from socialdb.db import create_database, database_of, drop_database
from socialdb.migrate import runner

# What each test needs, as markers: `uv run pytest -m "not db"` answers in seconds.
#   db         a PostgreSQL server (any test using the server fixtures)
#   processes  socialdb or other programs started as separate processes
_PROCESS_MODULES = {"test_crash", "test_processes", "test_secrets", "test_concurrency"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "db: needs a PostgreSQL server")
    config.addinivalue_line("markers", "processes: starts separate processes")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "server_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)
        if item.module is not None and item.module.__name__.rpartition(".")[2] in _PROCESS_MODULES:
            item.add_marker(pytest.mark.processes)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """URL of a maintenance database on the test server."""
    given = os.environ.get("SOCIALDB_TEST_DATABASE_URL")
    if given:
        yield given
        return
    home = Path(tempfile.mkdtemp(prefix="socialdb-test-"))
    try:
        yield embedded.start(home, database="postgres")
    finally:
        embedded.stop(home)
        shutil.rmtree(home, ignore_errors=True)


class Databases:
    """Creates and drops throwaway databases on the test server (socialdb.db does the work)."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []

    def create(self, template: str | None = None) -> str:
        name = f"socialdb_test_{uuid.uuid4().hex[:12]}"
        url = create_database(self.server_url, name, template)
        self.created.append(name)
        return url

    def drop(self, url: str) -> None:
        name = database_of(url)
        drop_database(self.server_url, name)
        self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(self.created):
            drop_database(self.server_url, name)
            self.created.remove(name)


@pytest.fixture(scope="session")
def databases(server_url: str) -> Iterator[Databases]:
    dbs = Databases(server_url)
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def template_name(databases: Databases) -> str:
    """A database with every migration applied, used only as a template."""
    url = databases.create()
    runner.up(url)
    return database_of(url)


@pytest.fixture
def db_url(databases: Databases, template_name: str) -> Iterator[str]:
    """A fresh, fully migrated database for one test."""
    url = databases.create(template=template_name)
    yield url
    databases.drop(url)


@pytest.fixture
def empty_db_url(databases: Databases) -> Iterator[str]:
    """A fresh database with nothing in it."""
    url = databases.create()
    yield url
    databases.drop(url)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection
