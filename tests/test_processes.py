"""socialdb as separate processes: concurrent runs, psql, the embedded default."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.helpers import LATEST, socialdb


def test_two_concurrent_ups_apply_each_migration_once(empty_db_url: str) -> None:
    procs = [socialdb("migrate", "up", "--database-url", empty_db_url) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    applied = [line.split()[1] for out, _ in results for line in out.splitlines() if line.startswith("applied ")]
    assert sorted(applied) == sorted(set(applied)) and len(applied) == LATEST
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT version) FROM migrations").fetchone() == (LATEST, LATEST)


@pytest.mark.parametrize("path", [os.environ.get("PATH", ""), ""], ids=["machine-psql", "embedded-psql"])
def test_psql_opens_the_database(db_url: str, path: str) -> None:
    proc = socialdb("psql", "--database-url", db_url, stdin=subprocess.PIPE, env={"PATH": path})
    out, err = proc.communicate("SELECT count(*) AS n FROM migrations;\n", timeout=60)
    assert proc.returncode == 0, err
    assert f" {LATEST}" in out


def test_embedded_server_is_the_default_and_stops(tmp_path: Path) -> None:
    env = {"SOCIALDB_HOME": str(tmp_path / "home")}
    proc = socialdb("db", "url", env=env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.strip().startswith("postgresql://postgres:@/socialdb?host=")
    assert (tmp_path / "home" / ".gitignore").read_text() == "*\n"
    stop = socialdb("db", "stop", env=env)
    assert stop.communicate(timeout=120)[0].strip() == "embedded PostgreSQL stopped"
    again = socialdb("db", "stop", env=env)
    assert again.communicate(timeout=120)[0].strip() == "embedded PostgreSQL was not running"


def test_psql_passes_extra_arguments(db_url: str) -> None:
    proc = socialdb("psql", "--database-url", db_url, "-tA", "-c", "SELECT count(*) FROM migrations")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == str(LATEST)
