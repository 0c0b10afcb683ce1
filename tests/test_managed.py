"""Migrating as production does on a managed PostgreSQL: as a role that is no superuser
(issue 21, docs/deploying.md). Three privilege models, each on the test server's version:

- (a) a fresh cluster: the migrator owns the database, has CREATEROLE and CREATEDB, and
  creates socialdb's roles itself;
- (b) roles made beforehand by an administrator (`socialdb db bootstrap --apply`): the
  migrator has no CREATEROLE, and a second database on the same cluster works too;
- (c) an RDS-like master user: CREATEROLE, CREATEDB, member of a provider role holding
  what AWS documents for rds_superuser, no BYPASSRLS, on a fresh cluster.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from socialdb.errors import LockNotAvailableError, MigrationFailed, PrivilegeError
from socialdb.migrate import bootstrap, runner
from socialdb.scripts.options import RunOptions
from tests.catalog import Snapshot, differences, snapshot
from tests.conftest import Databases
from tests.helpers import LATEST, finish, fresh_server, server_major, socialdb, write_migrations

# What a database migrated by a role that is no superuser has, and one migrated by a
# superuser has not (docs/security.md, "Migrating without a superuser"): nothing, once the
# role names are mapped.
LISTED: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Model:
    name: str
    migrator: str
    url: str  # the migrator's, on its database
    admin_url: str  # a superuser's, on the same database (the test's own hands, never the migrator's)
    main_url: str  # the provider's main role's (CREATEROLE CREATEDB, no superuser), on the same database


def _as(url: str, user: str, database: str | None = None) -> str:
    params = conninfo_to_dict(url)
    params["user"] = user
    if database is not None:
        params["dbname"] = database
    return make_conninfo("", **params)


def _admin(url: str, *statements: sql.Composable) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _new_database(url: str, owner: str | None = None) -> str:
    """A new database on the server of `url`, made by its role (owned by `owner` if given)."""
    name = f"managed_{uuid.uuid4().hex[:8]}"
    owned = sql.SQL(" OWNER {}").format(sql.Identifier(owner)) if owner else sql.SQL("")
    _admin(url, sql.SQL("CREATE DATABASE {}{}").format(sql.Identifier(name), owned))
    return name


# AWS: the master user is CREATEROLE CREATEDB, in rds_superuser, which holds these.
_PROVIDER_ROLE = sql.SQL("CREATE ROLE provider_superuser NOLOGIN IN ROLE pg_signal_backend, pg_monitor")
_MAIN = sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB NOBYPASSRLS IN ROLE provider_superuser")


@contextmanager
def _model(name: str, server_url: str) -> Iterator[Model]:
    """A database for a migrator of model `name`, on a fresh cluster of the test server's version."""
    migrator = f"deploy_{name}_{uuid.uuid4().hex[:6]}"
    who = sql.Identifier(migrator)
    with fresh_server(server_url) as fresh:
        superuser = conninfo_to_dict(fresh).get("user") or "postgres"
        _admin(fresh, _PROVIDER_ROLE, _MAIN.format(sql.Identifier("main")))
        if name == "a":  # a fresh cluster: the migrator owns the database and may create roles
            _admin(fresh, sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB").format(who))
            database = _new_database(fresh, migrator)
        elif name == "b":  # the main role makes the migrator, the database and the roles: the bootstrap
            main = _as(fresh, "main")
            _admin(main, sql.SQL("CREATE ROLE {} LOGIN").format(who))
            database = _new_database(main)
            bootstrap.bootstrap(_as(fresh, "main", database), migrator, run=True)
        else:  # an RDS-like master user migrates a database it made
            _admin(fresh, _MAIN.format(who))
            database = _new_database(_as(fresh, migrator))
        yield Model(
            name,
            migrator,
            _as(fresh, migrator, database),
            _as(fresh, superuser, database),
            _as(fresh, "main", database),
        )


def _mapped(found: Snapshot, *names: str) -> Snapshot:
    """The snapshot with the migrating role's name (or the superuser's) as one placeholder."""
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b")

    def cell(value: object) -> object:
        if isinstance(value, list | tuple):
            return sorted((cell(v) for v in value), key=repr)
        return pattern.sub("<migrator>", value) if isinstance(value, str) else value

    return {section: sorted((tuple(cell(v) for v in row) for row in rows), key=repr) for section, rows in found.items()}


@pytest.fixture(scope="module")
def superuser_snapshot(server_url: str, databases: Databases) -> Snapshot:
    """The catalog of a database the server's superuser migrated (the suite's template is not:
    tests/conftest.py migrates it as a login role, as production does)."""
    url = databases.create()
    runner.up(url)
    user = conninfo_to_dict(server_url).get("user") or "postgres"
    return _mapped(snapshot(url), user)


@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_up_down_to_zero_and_up_again_as_no_superuser(name: str, server_url: str, superuser_snapshot: Snapshot) -> None:
    with _model(name, server_url) as model:
        assert len(runner.up(model.url)) == LATEST
        runner.down(model.url, to=0)
        assert runner.status(model.url) and all(r.state == "pending" for r in runner.status(model.url))
        runner.up(model.url)
        assert runner.verify(model.url) == []
        # The bootstrap superuser (initdb's) owns plpgsql and the trusted extensions' members.
        found = differences(superuser_snapshot, _mapped(snapshot(model.url), model.migrator, "postgres"))
        unlisted = {(section, key) for section, keys in found.items() for key in keys} - LISTED
        assert not unlisted, {s: k for s, k in found.items()}


def _run(args: tuple[str, ...], env: dict[str, str]) -> tuple[int, str]:
    proc = socialdb(*args, env=env)
    out, err = finish(proc, 120)
    return proc.returncode, out + err


@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_every_command_as_no_superuser(name: str, server_url: str, tmp_path: Path) -> None:
    with _model(name, server_url) as model:
        # (b) has no CREATEDB: its expected schema is built where an administrator may create databases.
        scratch = ("--scratch-url", model.main_url) if name == "b" else ()
        env = {"SOCIALDB_TOKEN_KEYS": "k1:" + "A" * 43 + "=", "DATABASE_URL": model.url}
        for args, said in [
            (("migrate", "up"), f"{LATEST} migration(s) applied"),
            (("migrate", "status"), "applied"),
            (("migrate", "verify"), ""),
            (("migrate", "plan"), "nothing"),
            (("migrate", "down", "--to", "24"), f"{LATEST - 24} migration(s) rolled back"),
            (("migrate", "plan"), "025-seller-calls.sql"),
            (("migrate", "up"), f"{LATEST - 24} migration(s) applied"),
            (("migrate", "down", "--to", "0"), f"{LATEST} migration(s) rolled back"),
            (("migrate", "up"), f"{LATEST} migration(s) applied"),
            (("schema", "diff", *scratch), "matches"),
            (("schema", "docs", "--check", "--database-url", model.url), ""),
            (("seed",), "seeded"),
            (("maintain",), "partitions"),
            (("summary", "refresh"), "refreshed"),
            (("summary", "rebuild"), "rebuilt"),
            (("tokens", "rotate"), "re-encrypted"),
        ]:
            code, output = _run(args, env)
            assert code == 0 and said in output, (args, output[-600:])
        code, output = _run(("migrate", "up", "--to", "30"), env)  # nothing pending up to 30: fine
        assert code == 0, output


def test_second_database_on_a_cluster_whose_roles_exist(server_url: str) -> None:
    """The main role makes another database on the same cluster and bootstraps it (the
    database goes to the migrator); the migrator then migrates it."""
    with _model("b", server_url) as first:
        runner.up(first.url)
        database = _new_database(first.main_url)
        _, todo = bootstrap.bootstrap(_as(first.main_url, "main", database), first.migrator, run=True)
        assert any("ALTER DATABASE" in step.statement for step in todo) and not any(s.blocked for s in todo)
        assert len(runner.up(_as(first.url, first.migrator, database))) == LATEST


def test_a_missing_privilege_is_named_before_the_first_file(server_url: str) -> None:
    with _model("b", server_url) as model:
        lone = "lone_deploy"
        _admin(model.main_url, sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(lone)))
        database = _new_database(model.admin_url, lone)
        url = _as(model.url, lone, database)
        with pytest.raises(PrivilegeError, match=f"018-roles-and-grants.sql needs SET on role.*{lone}.*db bootstrap"):
            runner.up(url)
        assert runner.status(url)[0].state == "pending"  # nothing ran
        _, todo = bootstrap.bootstrap(_as(model.main_url, "main", database), lone, run=True)  # as the main role
        assert [s.statement for s in todo if "socialdb_owner" in s.statement]
        assert len(runner.up(url)) == LATEST


def test_the_bootstrap_refuses_what_the_main_role_may_not_run(server_url: str) -> None:
    """From 16 on, giving the database to a role the main role did not create needs ADMIN on it."""
    with _model("b", server_url) as model:
        _admin(model.admin_url, sql.SQL("CREATE ROLE made_by_another LOGIN"))
        database = _new_database(model.main_url)
        main = _as(model.main_url, "main", database)
        _, todo = bootstrap.bootstrap(main, "made_by_another")
        blocked = [s for s in todo if s.blocked]
        if server_major(server_url) >= 16:
            assert blocked and "lacks ADMIN on made_by_another" in str(blocked[0].blocked)
            with pytest.raises(PrivilegeError, match="cannot run `GRANT .*nothing was applied"):
                bootstrap.bootstrap(main, "made_by_another", run=True)
            assert bootstrap.bootstrap(main, "made_by_another")[1] == todo  # nothing changed
        else:  # on 15, CREATEROLE may grant any role that is no superuser
            assert blocked == []


def test_a_permission_error_inside_a_file_names_the_bootstrap(server_url: str, tmp_path: Path) -> None:
    folder = write_migrations(
        tmp_path,
        {"001-superuser.sql": "CREATE ROLE needs_a_superuser SUPERUSER;\n-- ROLLBACK\nDROP ROLE needs_a_superuser;\n"},
    )
    refused = r"^001-superuser.sql:1: .*SQLSTATE 42501; `socialdb db bootstrap`"
    with _model("b", server_url) as model, pytest.raises(MigrationFailed, match=refused):
        runner.up(model.url, folder)


def test_stopping_inside_the_band_is_refused(server_url: str) -> None:
    with _model("b", server_url) as model:
        with pytest.raises(PrivilegeError, match="version 30 needs SET on parameter app.user_id"):
            runner.up(model.url, to=30)
        assert all(r.state == "pending" for r in runner.status(model.url))


@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_resolve_as_no_superuser(name: str, server_url: str, tmp_path: Path) -> None:
    half = "-- socialdb: transaction=off\nCREATE TABLE half (id int);\nSELECT 1 / 0;\n-- ROLLBACK\nDROP TABLE half;\n"
    folder = write_migrations(tmp_path, {"001-half.sql": half})
    with _model(name, server_url) as model:
        with pytest.raises(MigrationFailed, match="division by zero"):
            runner.up(model.url, folder)
        assert runner.status(model.url, folder)[0].state == "failed"
        write_migrations(
            folder, {"001-half.sql": half.replace("half (id int);\nSELECT 1 / 0;", "IF NOT EXISTS half (id int);")}
        )
        runner.resolve(model.url, 1, "retry", folder)
        assert runner.status(model.url, folder)[0].state == "applied"
        runner.down(model.url, to=0, directory=folder)


def test_with_set_on_the_parameter_a_role_may_stop_inside_the_band(server_url: str) -> None:
    """Where a superuser exists, GRANT SET ON PARAMETER app.user_id lifts the band: the files run as written."""
    with _model("b", server_url) as model:
        grant = sql.SQL("GRANT SET ON PARAMETER app.user_id TO {}").format(sql.Identifier(model.migrator))
        _admin(model.admin_url, grant)
        try:
            assert len(runner.up(model.url, to=30)) == 30
            with psycopg.connect(model.url) as conn:
                row = conn.execute("SELECT proconfig FROM pg_proc WHERE proname = 'seller_inbox_page'").fetchone()
            assert row is not None and "app.user_id=" in row[0]
            runner.up(model.url)
            runner.down(model.url, to=30)
        finally:
            _admin(
                model.admin_url,
                sql.SQL("REVOKE SET ON PARAMETER app.user_id FROM {}").format(sql.Identifier(model.migrator)),
            )


def test_an_extension_made_before_020_survives_its_rollback(empty_db_url: str) -> None:
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION unaccent")
        conn.execute("CREATE SCHEMA other")
        conn.execute("CREATE TEXT SEARCH CONFIGURATION other.cfg (COPY = pg_catalog.simple)")
        conn.execute("ALTER TEXT SEARCH CONFIGURATION other.cfg ALTER MAPPING FOR word WITH unaccent, simple")
    runner.up(empty_db_url, to=20)
    runner.down(empty_db_url, to=19)
    with psycopg.connect(empty_db_url) as conn:
        left = conn.execute("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1").fetchall()
    assert left == [("unaccent",)]  # 020 made btree_gin, and dropped it; unaccent was there before


def test_an_extension_a_migrator_cannot_hand_over_is_named_before_018(server_url: str) -> None:
    with _model("a", server_url) as model:
        with psycopg.connect(model.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION unaccent")  # trusted: its functions are the bootstrap superuser's
        with pytest.raises(
            PrivilegeError, match=r"018-roles-and-grants.sql needs .*function unaccent\(.*is postgres.s.*SET SCHEMA"
        ):
            runner.up(model.url)
        assert all(r.state == "pending" for r in runner.status(model.url))


def test_a_run_stopped_inside_the_band_is_flagged_and_finished_by_up(server_url: str) -> None:
    with _model("a", server_url) as model:
        runner.up(model.url, to=24)
        with psycopg.connect(model.admin_url, autocommit=True) as blocker, blocker.transaction():
            blocker.execute("LOCK TABLE analytics_events IN ACCESS SHARE MODE")  # 028 waits, then gives up
            options = RunOptions(lock_timeout_ms=50, lock_retries=1)
            with pytest.raises(LockNotAvailableError):
                runner.up(model.url, options=options)
        assert max(r.version for r in runner.status(model.url) if r.state == "applied") == 27
        [problem] = runner.verify(model.url)
        assert (problem.version, problem.state) == (27, "unfinished") and "migrate up" in problem.detail
        runner.up(model.url)
        assert runner.verify(model.url) == []


def test_an_object_the_main_role_left_in_public_is_named_before_018(server_url: str) -> None:
    """The main role made a table in the database before giving it away: 018 could not hand it over."""
    with _model("b", server_url) as model:
        database = _new_database(model.main_url)
        _admin(_as(model.main_url, "main", database), sql.SQL("CREATE TABLE public.leftover (i int)"))
        bootstrap.bootstrap(_as(model.main_url, "main", database), model.migrator, run=True)
        url = _as(model.url, model.migrator, database)
        with pytest.raises(PrivilegeError, match=r"table leftover is main's, whom deploy_b_\w+ cannot act as"):
            runner.up(url)
        assert all(r.state == "pending" for r in runner.status(url))


def test_a_noinherit_migrator_is_made_to_inherit_by_the_bootstrap_on_15(server_url: str) -> None:
    with _model("b", server_url) as model:
        _admin(model.main_url, sql.SQL("CREATE ROLE noinherit_deploy LOGIN NOINHERIT"))
        database = _new_database(model.main_url)
        main = _as(model.main_url, "main", database)
        _, todo = bootstrap.bootstrap(main, "noinherit_deploy", run=True)
        assert any("INHERIT" in s.statement and "ALTER ROLE" in s.statement for s in todo) == (
            server_major(server_url) < 16
        )
        assert len(runner.up(_as(model.url, "noinherit_deploy", database))) == LATEST
        assert bootstrap.bootstrap(main, "noinherit_deploy")[1] == []


def test_every_version_outside_the_band_round_trips_as_no_superuser(server_url: str) -> None:
    """Up one version at a time (through 025-039 in one run, which a role without SET on
    app.user_id cannot stop in), then down to each version it stopped at: the same catalog."""
    with _model("a", server_url) as model:
        stops = [v for v in range(1, LATEST + 1) if not 25 <= v < 40]
        built: dict[int, Snapshot] = {0: snapshot(model.url)}
        for version in stops:
            runner.up(model.url, to=version)
            built[version] = snapshot(model.url)
        differ = []
        # 3-18: decision 43's known inexact rollbacks (tests/test_roundtrip.py), the same for any role.
        exact = [v for v in sorted(built, reverse=True)[1:] if not 3 <= v <= 18]
        for version in exact:
            runner.down(model.url, to=version)  # through 3-18 only once everything above is checked
            found = differences(built[version], snapshot(model.url))
            differ += [(version, section, key) for section, keys in found.items() for key in keys]
        assert differ == []
