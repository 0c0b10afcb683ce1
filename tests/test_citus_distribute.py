"""socialdb distributed on a real Citus cluster (issue 26; decisions 210 and 211).

A coordinator and two workers (tests/citus.py). A database is migrated as the non-superuser
migrator to the newest version (tests/test_citus.py shows how), two sellers get one row of
everything (tests/sellers.py; `citus.seeded`), then `socialdb citus distribute`:

- refuses, in one line naming each, a unique key that lacks the seller (two made by the test:
  since migrations 054-056 the schema has none, decision 220), and distributes nothing;
- without them, distributes the real schema: the fifteen tables by seller, co-located with
  `users`, the events' partitions with them; the three lookups of the rules across sellers
  (`user_emails`, `platform_accounts`, `short_links`) become reference tables, filled; the
  runner's tables stay local; a second run does nothing and says so;
- on a database without the citus extension, refuses in one line.

And the seller scope of socialdb.app (tenant.seller, aseller) reaches the workers: as a login
role in socialdb_app, a seller sees exactly its rows of every table and writes none of another's,
and without a seller every table is empty; `set_config()`, what the scope used before, does not
reach the workers (the seller then sees none of its rows).

Then calls of socialdb.app as that role on the distributed tables: inbox_page and message_page
(migration 053 and the delegation of decision 212) and dashboard answer for the seller only.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from socialdb.app.session import session
from socialdb.app.tenant import aseller, seller
from tests import citus
from tests.citus import Cluster
from tests.helpers import SUMMARY_TABLES, TABLES, login_role
from tests.sellers import SELLERS

SHARDS = citus.SHARDS
DISTRIBUTED = {*TABLES, *SUMMARY_TABLES}  # the fifteen tables that hold a seller's rows
# What socialdb_app may read: all but the summary's change list (docs/security.md).
APP_READS = DISTRIBUTED - {"analytics_summary_changes"}
# The lookups of the rules across sellers (migration 054) and the rows tests/sellers.py gives them.
LOOKUPS = {"user_emails": 2, "platform_accounts": 2, "short_links": 2}
# Keys across sellers made by the test, as the schema had before 056 (decision 210's refusal).
BLOCKERS = """
CREATE UNIQUE INDEX users_email_across_sellers ON users (lower(email)) WHERE deleted_at IS NULL;
ALTER TABLE product_links ADD CONSTRAINT product_links_short_link_across_sellers UNIQUE (short_link);
"""
UNBLOCK = """
DROP INDEX users_email_across_sellers;
ALTER TABLE product_links DROP CONSTRAINT product_links_short_link_across_sellers;
"""
_CITUS_TABLES = """
SELECT c.relname::text, p.partmethod::text, pg_catalog.column_to_column_name(p.logicalrelid, p.partkey), p.colocationid,
       (SELECT count(*) FROM pg_dist_shard AS s WHERE s.logicalrelid = p.logicalrelid), c.relispartition
FROM pg_dist_partition AS p JOIN pg_class AS c ON c.oid = p.logicalrelid
"""


def _distribute(url: str) -> tuple[int, str, str]:
    return citus.distribute(url, SHARDS)


@dataclass(frozen=True)
class Distributed:
    url: str  # the superuser's, on the coordinator
    refused: tuple[int, str, str]  # the run with the test's keys across sellers: exit code, stdout, stderr
    citus_tables_after_refusal: int
    first: tuple[int, str, str]  # the run that distributed


@pytest.fixture(scope="module")
def distributed(citus_cluster: Cluster) -> Distributed:
    url, _ = citus.seeded(citus_cluster, "socialdb_dist")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(BLOCKERS.encode())
    refused = _distribute(url)
    after_refusal = citus.rows(url, "SELECT count(*) FROM pg_dist_partition")[0][0]
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(UNBLOCK.encode())
    return Distributed(url, refused, after_refusal, _distribute(url))


def test_distribution_is_refused_in_one_line_while_global_keys_lack_the_seller(distributed: Distributed) -> None:
    code, out, err = distributed.refused
    assert code == 1 and out == "", (out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(
        "error: cannot distribute: Citus enforces a unique key only if it includes the distribution column, and 2 do not:"
    )
    for key in (
        "product_links.product_links_short_link_across_sellers (short_link)",
        "users.users_email_across_sellers (lower(email)) WHERE (deleted_at IS NULL)",
    ):
        assert key in err, err
    assert "Nothing was distributed" in err
    assert distributed.citus_tables_after_refusal == 0


def test_every_seller_table_is_distributed_by_seller_and_co_located(distributed: Distributed) -> None:
    code, out, err = distributed.first
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == "set citus.enable_unsafe_triggers = on as the database's default"
    assert lines[1] == "set citus.propagate_set_commands = local as the database's default"
    assert lines[2:5] == [f"made {name} a reference table" for name in LOOKUPS]
    assert lines[5] == f"distributed users by id ({SHARDS} shards)"
    assert lines[-1] == "15 table(s) distributed by seller, co-located with users"
    found = citus.rows(distributed.url, _CITUS_TABLES)
    tables = {name: rest for name, *rest, partition in found if not partition and rest[0] == "h"}
    assert set(tables) == DISTRIBUTED  # the runner's tables (migrations) stay local
    # The lookups of the rules across sellers (migration 054): reference tables, with every row.
    assert {name for name, method, *_ in found if method == "n"} == set(LOOKUPS)
    for table, rows in LOOKUPS.items():
        assert citus.rows(distributed.url, f"SELECT count(*) FROM {table}")[0][0] == rows, table
    assert {name: (method, column) for name, (method, column, _, _) in tables.items()} == {
        name: ("h", "id" if name == "users" else "user_id") for name in DISTRIBUTED
    }
    assert {(group, shards) for _, _, group, shards in tables.values()} == {(tables["users"][2], SHARDS)}
    # The events' monthly partitions follow their parent, in the same group.
    partitions = [rest for name, *rest, partition in found if partition]
    assert partitions and {(method, group) for method, _, group, _ in partitions} == {("h", tables["users"][2])}
    # Each seller's rows were copied to the shards: counted through the coordinator (the change
    # list, emptied by the refresh before, has none), and each counter as exact as before.
    for table in DISTRIBUTED - {"analytics_summary_changes"}:
        key = "id" if table == "users" else "user_id"
        counts = dict(citus.rows(distributed.url, f"SELECT {key}::text, count(*) FROM {table} GROUP BY 1"))
        assert set(counts) == set(SELLERS.values()), table
    counters = "SELECT c.unread_count, count(*) FILTER (WHERE m.sender_type = 'customer' AND NOT m.is_read) FROM conversations AS c JOIN messages AS m ON m.conversation_id = c.id AND m.user_id = c.user_id GROUP BY c.id, c.user_id, 1"
    assert citus.rows(distributed.url, counters) == [(1, 1), (1, 1)]  # the copy fired no trigger: nothing counted twice


def test_a_second_run_does_nothing_and_says_so(distributed: Distributed) -> None:
    before = citus.rows(distributed.url, _CITUS_TABLES)
    code, out, err = _distribute(distributed.url)
    assert (code, err) == (0, "")
    assert out == (
        "nothing to do: 15 table(s) already distributed by seller, co-located with users, and 3 reference table(s)\n"
    )
    assert sorted(citus.rows(distributed.url, _CITUS_TABLES)) == sorted(before)


def test_without_citus_distribution_is_refused_in_one_line(citus_cluster: Cluster) -> None:
    with psycopg.connect(citus_cluster.coordinator.url(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE socialdb_plain")
    code, out, err = _distribute(citus_cluster.coordinator.url("socialdb_plain"))
    assert (code, out) == (1, "")
    assert err == (
        "error: database socialdb_plain has no citus extension: distribution runs on a Citus coordinator"
        " (CREATE EXTENSION citus there, add the workers, then run this again)\n"
    )


# -- the seller scope on the workers ----------------------------------------------------------


@pytest.fixture(scope="module")
def app_url(distributed: Distributed) -> Iterator[str]:
    with login_role(distributed.url, "socialdb_app") as (_, url):
        yield url


def _key(table: str) -> str:
    return "id" if table == "users" else "user_id"


def test_a_seller_sees_only_its_rows_of_every_table_on_the_workers(distributed: Distributed, app_url: str) -> None:
    with psycopg.connect(app_url) as conn:
        for user_id in SELLERS.values():
            with seller(conn, user_id):
                for table in sorted(APP_READS):
                    mine = citus.rows(
                        distributed.url, f"SELECT count(*) FROM {table} WHERE {_key(table)} = %s", (user_id,)
                    )
                    seen = conn.execute(f"SELECT {_key(table)}::text, count(*) FROM {table} GROUP BY 1".encode())
                    assert seen.fetchall() == [(user_id, mine[0][0])], table


def test_without_a_seller_every_table_is_empty_and_another_sellers_row_is_refused(
    distributed: Distributed, app_url: str
) -> None:
    with psycopg.connect(app_url, autocommit=True) as conn:
        for table in sorted(APP_READS):
            assert conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchall() == [(0,)], table
        with pytest.raises(psycopg.errors.InsufficientPrivilege), seller(conn, SELLERS["a"]):
            conn.execute(
                "INSERT INTO notifications (user_id, type, title, message) VALUES (%s, 'sale', 'x', 'y')",
                (SELLERS["b"],),
            )


def test_a_nested_scope_gives_the_workers_the_outer_seller_back(app_url: str) -> None:
    with psycopg.connect(app_url) as conn, seller(conn, SELLERS["a"]):
        with seller(conn, SELLERS["b"]):
            assert conn.execute("SELECT id::text FROM users").fetchall() == [(SELLERS["b"],)]
        assert conn.execute("SELECT DISTINCT user_id::text FROM messages").fetchall() == [(SELLERS["a"],)]


def test_the_async_scope_reaches_the_workers_too(app_url: str) -> None:
    async def read() -> list[tuple[Any, ...]]:
        async with await psycopg.AsyncConnection.connect(app_url) as conn, aseller(conn, SELLERS["b"]):
            return await (await conn.execute("SELECT DISTINCT user_id::text FROM conversations")).fetchall()

    assert asyncio.run(read()) == [(SELLERS["b"],)]


def test_set_config_the_scope_used_before_does_not_reach_the_workers(app_url: str) -> None:
    """Why the scope changed (decision 211): the coordinator knows the seller, the shards do not."""
    with psycopg.connect(app_url) as conn:
        conn.execute("SELECT set_config('app.user_id', %s, true)", (SELLERS["a"],))
        assert conn.execute("SELECT count(*) FROM messages").fetchall() == [(0,)]
        conn.rollback()


# -- calls of socialdb.app on the distributed tables, as a login role in socialdb_app ------------


def _md5_uuid(text: str) -> uuid.UUID:
    """The ids tests/sellers.py gives its rows (`md5('...')::uuid`)."""
    return uuid.UUID(hashlib.md5(text.encode()).hexdigest())


def test_inbox_page_answers_for_the_seller_on_the_workers(app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as conn:
        with session(conn, SELLERS["a"]) as s:
            page = s.inbox_page(_md5_uuid("acct-a"))
            assert [(row.id, row.unread_count) for row in page] == [(_md5_uuid("conv-a"), 1)]
            assert list(s.inbox_page(_md5_uuid("acct-b"))) == []  # another seller's account: nothing
        with session(conn, SELLERS["b"]) as s:
            assert [row.id for row in s.inbox_page(_md5_uuid("acct-b"))] == [_md5_uuid("conv-b")]


def test_message_page_answers_for_the_seller_on_the_workers(app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as conn, session(conn, SELLERS["a"]) as s:
        page = s.message_page(_md5_uuid("conv-a"))
        assert [(row.id, row.content, row.is_read) for row in page] == [(_md5_uuid("msg-a"), "oi", False)]
        assert list(s.message_page(_md5_uuid("conv-b"))) == []


def test_dashboard_answers_for_the_seller_on_the_workers(distributed: Distributed, app_url: str) -> None:
    today = citus.rows(distributed.url, "SELECT (now() AT TIME ZONE 'UTC')::date")[0][0]
    with psycopg.connect(app_url, autocommit=True) as conn, session(conn, SELLERS["a"]) as s:
        days = s.dashboard(today - datetime.timedelta(days=1), today + datetime.timedelta(days=1))
        assert sorted((day.category, day.events) for day in days) == [("engagement", 1), ("sales", 1)]
