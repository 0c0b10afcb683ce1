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
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from socialdb import embedded, runner


def with_database(url: str, name: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = name
    return make_conninfo(**params)


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
    """Creates and drops throwaway databases on the test server."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []

    def create(self, template: str | None = None) -> str:
        name = f"socialdb_test_{uuid.uuid4().hex[:12]}"
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(query)
            if template:
                # A copy does not inherit the template's database privileges: take TEMPORARY
                # from PUBLIC as migration 027 did on the template (docs/security.md).
                conn.execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
        self.created.append(name)
        return with_database(self.server_url, name)

    def drop(self, url: str) -> None:
        name = str(conninfo_to_dict(url)["dbname"])
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(self.created):
            self.drop(with_database(self.server_url, name))


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
    return str(conninfo_to_dict(url)["dbname"])


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
