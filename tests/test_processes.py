"""socialdb as separate processes: concurrent runs, psql, the embedded default."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.helpers import LATEST, finish, socialdb


def test_two_concurrent_ups_apply_each_migration_once(empty_db_url: str) -> None:
    procs = [socialdb("migrate", "up", "--database-url", empty_db_url) for _ in range(2)]
    results = [finish(p, 120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    applied = [line.split()[1] for out, _ in results for line in out.splitlines() if line.startswith("applied ")]
    assert sorted(applied) == sorted(set(applied)) and len(applied) == LATEST
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT version) FROM migrations").fetchone() == (LATEST, LATEST)


@pytest.mark.parametrize("path", [os.environ.get("PATH", ""), ""], ids=["machine-psql", "embedded-psql"])
def test_psql_opens_the_database(db_url: str, path: str) -> None:
    proc = socialdb("psql", "--database-url", db_url, stdin=subprocess.PIPE, env={"PATH": path})
    out, err = finish(proc, 60, "SELECT count(*) AS n FROM migrations;\n")
    assert proc.returncode == 0, err
    assert f" {LATEST}" in out


def test_embedded_server_is_the_default_and_stops(tmp_path: Path) -> None:
    env = {"SOCIALDB_HOME": str(tmp_path / "home")}
    proc = socialdb("db", "url", env=env)
    out, err = finish(proc, 120)
    assert proc.returncode == 0, err
    assert out.strip().startswith("postgresql://postgres:@/socialdb?host=")
    assert (tmp_path / "home" / ".gitignore").read_text() == "*\n"
    stop = socialdb("db", "stop", env=env)
    assert finish(stop, 120)[0].strip() == "embedded PostgreSQL stopped"
    again = socialdb("db", "stop", env=env)
    assert finish(again, 120)[0].strip() == "embedded PostgreSQL was not running"


def test_psql_passes_extra_arguments(db_url: str) -> None:
    proc = socialdb("psql", "--database-url", db_url, "-tA", "-c", "SELECT count(*) FROM migrations")
    out, err = finish(proc, 60)
    assert proc.returncode == 0, err
    assert out.strip() == str(LATEST)


def test_ci_runs_its_embedded_leg_without_the_callers_database(tmp_path: Path) -> None:
    # The command under "tests on the embedded PostgreSQL", run with a stand-in `uv` that shows its environment.
    script = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    leg = script.split('echo "== tests on the embedded PostgreSQL =="\n', 1)[1]
    command = next(line for line in leg.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    assert "pytest" in command
    (tmp_path / "uv").write_text("#!/bin/sh\nenv\n")
    (tmp_path / "uv").chmod(0o755)
    env = {
        "PATH": f"{tmp_path}:/usr/bin:/bin",
        "SOCIALDB_TEST_DATABASE_URL": "postgresql://postgres@elsewhere/postgres",
        "DATABASE_URL": "postgresql://app@production/socialdb",
    }
    shown = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=30, check=True)
    names = {line.split("=", 1)[0] for line in shown.stdout.splitlines()}
    assert "PATH" in names
    assert not names & {"SOCIALDB_TEST_DATABASE_URL", "DATABASE_URL"}
