"""The embedded server whatever the environment (issue 24): its URL names the socket and the
port the server recorded, so no PG* variable of the shell it started in, or of a later one
(cron, an IDE), breaks it or sends it elsewhere."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.helpers import finish, socialdb

# Each of these, set in a later environment, would have sent libpq elsewhere or changed its session.
LATER = {
    "PGPORT": "6543",
    "PGHOST": "/nonexistent",
    "PGDATABASE": "nowhere",
    "PGUSER": "nobody",
    "PGOPTIONS": "-c statement_timeout=1",
}


def _run(home: Path, *args: str, **env: str) -> tuple[int, str, str]:
    proc = socialdb(*args, env={"SOCIALDB_HOME": str(home), **env})
    out, err = finish(proc, 120)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def started_under_pgport() -> Iterator[tuple[Path, str]]:
    """An embedded server first started in a shell where PGPORT was set."""
    home = Path(tempfile.mkdtemp(prefix="socialdb-env-"))
    code, out, err = _run(home, "db", "url", PGPORT="5999")
    assert code == 0, err
    try:
        yield home, out.strip()
    finally:
        _run(home, "db", "stop")
        shutil.rmtree(home, ignore_errors=True)


def test_the_url_names_the_port_and_socket_the_server_has(started_under_pgport: tuple[Path, str]) -> None:
    home, url = started_under_pgport
    params = conninfo_to_dict(url)
    assert params["port"] == "5999" and params["host"] == str(home / "pgdata")
    assert (home / "pgdata" / ".s.PGSQL.5999").exists()


@pytest.mark.parametrize("variable", sorted(LATER))
def test_a_later_environment_cannot_send_it_elsewhere(started_under_pgport: tuple[Path, str], variable: str) -> None:
    home, url = started_under_pgport
    code, out, err = _run(home, "migrate", "up", **{variable: LATER[variable]})
    assert code == 0, err
    code, out, err = _run(home, "db", "url", **{variable: LATER[variable]})
    assert (code, out.strip()) == (0, url)
