"""socialdb.testing, the pytest plugin other projects use, run on a small external test file
through pytester: opt-in, a fresh migrated database per test, the seller's view, cleanup."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from socialdb.scripts.files import default_directory, load_migrations

ROOT = Path(__file__).resolve().parent.parent
NEWEST = load_migrations(default_directory())[-1].version

# The README's example, verbatim (test_the_readme_shows_this_example keeps them equal).
EXAMPLE = """\
import uuid

import psycopg


def test_a_seller_sees_only_its_own_products(socialdb_seeded_url, socialdb_seller_conn):
    with psycopg.connect(socialdb_seeded_url) as conn:  # the owner of the database
        (demo,) = conn.execute("SELECT id FROM users WHERE email = 'demo@socialselling.com'").fetchone()
    mine = socialdb_seller_conn(demo, url=socialdb_seeded_url)  # as socialdb_app, seller set
    assert mine.execute("SELECT count(*) FROM products").fetchone() == (20,)
    other = socialdb_seller_conn(uuid.uuid4(), url=socialdb_seeded_url)
    assert other.execute("SELECT count(*) FROM products").fetchone() == (0,)
"""

MORE = f"""

def test_a_fresh_migrated_database_per_test(socialdb_url):
    with psycopg.connect(socialdb_url, autocommit=True) as conn:
        assert conn.execute("SELECT max(version) FROM migrations").fetchone() == ({NEWEST},)
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
        conn.execute("INSERT INTO users (email, password_hash, name) VALUES ('x@y.z', 'h', 'X')")


def test_the_next_test_does_not_see_it(socialdb_url):
    with psycopg.connect(socialdb_url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_the_owner_connection(socialdb_owner_conn):
    assert socialdb_owner_conn.execute("SELECT current_user").fetchone() == ("socialdb_owner",)


def test_an_empty_database(socialdb_empty_url):
    with psycopg.connect(socialdb_empty_url) as conn:
        assert conn.execute("SELECT to_regclass('users')").fetchone() == (None,)
"""


def _databases(server_url: str) -> set[str]:
    with psycopg.connect(server_url, autocommit=True) as conn:
        return {str(row[0]) for row in conn.execute("SELECT datname FROM pg_database")}


@pytest.fixture
def project(pytester: pytest.Pytester, server_url: str, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """An external project's tests, on this suite's server (no second embedded PostgreSQL)."""
    monkeypatch.setenv("SOCIALDB_TEST_DATABASE_URL", server_url)
    pytester.makepyfile(test_project=EXAMPLE + MORE)
    return pytester


@pytest.mark.parametrize("opt_in", ["-p", "conftest"])
def test_an_external_project_gets_fresh_databases_and_leaves_none(
    project: pytest.Pytester, server_url: str, opt_in: str
) -> None:
    before = _databases(server_url)
    if opt_in == "conftest":
        project.makeconftest('pytest_plugins = ["socialdb.testing"]')
    result = project.runpytest(*(["-p", "socialdb.testing"] if opt_in == "-p" else []))
    result.assert_outcomes(passed=5)
    assert _databases(server_url) == before  # templates and copies dropped at the end of the session


def test_without_opting_in_there_are_no_fixtures(project: pytest.Pytester) -> None:
    result = project.runpytest()
    result.assert_outcomes(errors=5)
    result.stdout.fnmatch_lines(["*fixture 'socialdb_seeded_url' not found*"])


@pytest.mark.processes
def test_the_installed_entry_point_opts_in_from_the_ini_file(project: pytest.Pytester, server_url: str) -> None:
    """A separate pytest process, as a project that installed socialdb runs it: `socialdb_fixtures = true`."""
    project.makeini("[pytest]\nsocialdb_fixtures = true\n")
    result = project.runpytest_subprocess(timeout=300)
    result.assert_outcomes(passed=5)


def test_the_readme_shows_this_example() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert EXAMPLE in readme
