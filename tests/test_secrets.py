"""No command prints a password: every CLI command, driven with a URL that carries one."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from typer.testing import CliRunner

from socialdb.cli import app
from tests.helpers import finish, socialdb

SECRET = "Sup3r-S3cret-pw"  # the test server trusts local connections, so any password works
KEY = base64.b64encode(bytes(range(32))).decode()


def with_password(url: str, form: str) -> str:
    params = conninfo_to_dict(url)
    if form == "keywords":
        return make_conninfo(url, password=SECRET)
    port = f"&port={params['port']}" if params.get("port") else ""
    return f"postgresql://{params['user']}:{SECRET}@/{params['dbname']}?host={params['host']}{port}"


def commands(tmp_path: Path) -> list[list[str]]:
    folder = tmp_path / "m"
    return [
        ["migrate", "status"],
        ["migrate", "up"],
        ["migrate", "down", "1"],
        ["migrate", "up", "--lock-mode", "table"],
        ["migrate", "resolve", "1", "--retry"],  # refused: not failed
        ["migrate", "new", "add-thing", "--dir", str(folder)],
        ["lint", str(folder)],
        ["seed"],
        ["tokens", "rotate"],
        ["db", "url"],
        ["db", "stop"],
        ["bench", "generate", "--scale", "0.001"],
        ["migrate", "up", "--dir", str(tmp_path / "missing")],  # an error path
    ]


@pytest.mark.parametrize("form", ["uri", "keywords"])
def test_no_command_prints_the_password(db_url: str, tmp_path: Path, form: str) -> None:
    url = with_password(db_url, form)
    env = {"DATABASE_URL": url, "SOCIALDB_TOKEN_KEYS": f"k1:{KEY}", "SOCIALDB_HOME": str(tmp_path / "home")}
    seen = 0
    for args in commands(tmp_path):
        result = CliRunner().invoke(app, args, env=env)
        assert SECRET not in result.output, args
        assert "cannot connect" not in result.output, result.output  # the URL works: real output is checked
        seen += bool(result.output.strip())
        flagged = CliRunner().invoke(app, [*args, "--database-url", url], env=env) if "--dir" not in args else None
        assert flagged is None or SECRET not in flagged.output, args
    assert seen == len(commands(tmp_path))  # every command said something
    masked = CliRunner().invoke(app, ["db", "url"], env=env)
    assert "***" in masked.stdout


def test_errors_with_a_password_are_masked() -> None:
    for url in [
        f"postgresql://app:{SECRET}@127.0.0.1:1/x",
        f"postgresql://app:{SECRET}@db:notaport/x",
        f"postgresql://app:{SECRET}@db/x?nonsense=1",
        f"host=127.0.0.1 port=1 password={SECRET} dbname=x",
    ]:
        result = CliRunner().invoke(app, ["migrate", "status", "--database-url", url])
        assert result.exit_code in (1, 2)
        assert SECRET not in result.output and "***" in result.output, result.output


def test_psql_output_holds_no_password(db_url: str) -> None:
    proc = socialdb("psql", "--database-url", with_password(db_url, "uri"), stdin=subprocess.PIPE)
    out, err = finish(proc, 60, "SELECT current_setting('application_name');\n")
    assert proc.returncode == 0 and SECRET not in out + err
