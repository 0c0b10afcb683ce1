"""socialdb's pytest plugin: a freshly migrated database per test, cloned from a template
migrated once per session.

Opt in with any one of:

- `pytest -p socialdb.testing`;
- `pytest_plugins = ["socialdb.testing"]` in the project's root conftest.py;
- `socialdb_fixtures = true` in the pytest configuration (`[tool.pytest.ini_options]`).

The `pytest11` entry point registers only that setting (`OptIn` below), so installing
socialdb adds no fixture and starts nothing in a project that did not ask. Importing this
module is light: the driver, the runner and the embedded server load when a fixture is used.

Fixtures (all databases are dropped at the end of the session, the embedded server stopped):

- `socialdb_url`: a migrated, empty database for one test (`CREATE DATABASE ... TEMPLATE`);
- `socialdb_seeded_url`: the same with the development seed (`demo@socialselling.com`, 20 products);
- `socialdb_empty_url`: a database with nothing in it;
- `socialdb_owner_conn`: an autocommit connection to `socialdb_url` as `socialdb_owner`;
- `socialdb_seller_conn(user_id, url=None)`: a factory of autocommit connections as the
  application role, `socialdb_app`, with that seller set for the whole session
  (row-level security shows it that seller's rows only); `url` defaults to `socialdb_url`;
- `socialdb_server_url`, `socialdb_databases`, `socialdb_template`: the server (the embedded
  PostgreSQL in a temporary folder, or `SOCIALDB_TEST_DATABASE_URL`), the database maker,
  the template's name;
- `socialdb_migrations_dir`: the migrations to apply, None for socialdb's own; override it
  in a conftest.py to test other migrations.

The test role must be a superuser or a member of `socialdb_owner` and `socialdb_app`, and
may create databases (as the suite's own role is).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import psycopg

SERVER_VARIABLE = "SOCIALDB_TEST_DATABASE_URL"
PREFIX = "socialdb_test"
OPT_IN_SETTING = "socialdb_fixtures"


class OptIn:
    """What the `pytest11` entry point registers in every run: one ini setting that loads this module."""

    def pytest_addoption(self, parser: pytest.Parser) -> None:
        parser.addini(
            OPT_IN_SETTING, "load socialdb's fixtures (the plugin socialdb.testing)", type="bool", default=False
        )

    def pytest_configure(self, config: pytest.Config) -> None:
        if config.getini(OPT_IN_SETTING) and not config.pluginmanager.has_plugin(__name__):
            config.pluginmanager.import_plugin(__name__)


opt_in = OptIn()


class Databases:
    """Creates and drops throwaway databases on the test server; drops what is left at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []

    def create(self, template: str | None = None) -> str:
        """A new database (a copy of `template`, if given); its URL."""
        from socialdb.db import create_database

        name = f"{PREFIX}_{uuid.uuid4().hex[:12]}"
        url = create_database(self.server_url, name, template)
        self.created.append(name)
        return url

    def drop(self, url: str) -> None:
        from socialdb.db import database_of, drop_database

        name = database_of(url)
        drop_database(self.server_url, name)
        self.created.remove(name)

    def drop_all(self) -> None:
        from socialdb.db import drop_database

        for name in list(self.created):
            drop_database(self.server_url, name)
            self.created.remove(name)


@pytest.fixture(scope="session")
def socialdb_server_url() -> Iterator[str]:
    """A maintenance database's URL on the test server: SOCIALDB_TEST_DATABASE_URL, else an embedded one."""
    given = os.environ.get(SERVER_VARIABLE)
    if given:
        yield given
        return
    from socialdb import embedded

    home = Path(tempfile.mkdtemp(prefix="socialdb-test-"))
    try:
        yield embedded.start(home, database="postgres")
    finally:
        embedded.stop(home)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def socialdb_databases(socialdb_server_url: str) -> Iterator[Databases]:
    databases = Databases(socialdb_server_url)
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def socialdb_migrations_dir() -> Path | None:
    """The migrations the template gets; None: socialdb's own. Override in a conftest.py for others."""
    return None


@pytest.fixture(scope="session")
def socialdb_template(socialdb_databases: Databases, socialdb_migrations_dir: Path | None) -> str:
    """The name of a database with every migration applied, used only as a template."""
    from socialdb.db import database_of
    from socialdb.migrate import runner

    url = socialdb_databases.create()
    runner.up(url, socialdb_migrations_dir)
    return database_of(url)


@pytest.fixture(scope="session")
def socialdb_seeded_template(socialdb_databases: Databases, socialdb_template: str) -> str:
    """The name of a migrated and seeded template."""
    from socialdb.app.seed import seed
    from socialdb.db import database_of

    url = socialdb_databases.create(template=socialdb_template)
    seed(url, environ={})
    return database_of(url)


@pytest.fixture
def socialdb_url(socialdb_databases: Databases, socialdb_template: str) -> Iterator[str]:
    """A fresh, fully migrated, empty database for one test."""
    url = socialdb_databases.create(template=socialdb_template)
    yield url
    socialdb_databases.drop(url)


@pytest.fixture
def socialdb_seeded_url(socialdb_databases: Databases, socialdb_seeded_template: str) -> Iterator[str]:
    """A fresh, migrated database with the development seed, for one test."""
    url = socialdb_databases.create(template=socialdb_seeded_template)
    yield url
    socialdb_databases.drop(url)


@pytest.fixture
def socialdb_empty_url(socialdb_databases: Databases) -> Iterator[str]:
    """A fresh database with nothing in it."""
    url = socialdb_databases.create()
    yield url
    socialdb_databases.drop(url)


def _connect_as(url: str, role: str, user_id: object = None) -> psycopg.Connection[Any]:
    import psycopg
    from psycopg import sql

    conn = psycopg.connect(url, autocommit=True)
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
    if user_id is not None:
        conn.execute("SELECT set_config('app.user_id', %s, false)", (str(user_id),))
    return conn


@pytest.fixture
def socialdb_owner_conn(socialdb_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to `socialdb_url` as the schema's owner."""
    conn = _connect_as(socialdb_url, "socialdb_owner")
    yield conn
    conn.close()


@pytest.fixture
def socialdb_seller_conn(request: pytest.FixtureRequest) -> Iterator[Callable[..., psycopg.Connection[Any]]]:
    """`socialdb_seller_conn(user_id, url=None)`: a connection as socialdb_app with that seller set."""
    opened: list[psycopg.Connection[Any]] = []

    def connect(user_id: object, url: str | None = None) -> psycopg.Connection[Any]:
        conn = _connect_as(url or request.getfixturevalue("socialdb_url"), "socialdb_app", user_id)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()
