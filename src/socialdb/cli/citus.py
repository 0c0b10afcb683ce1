"""`socialdb citus ...`: socialdb on a Citus cluster (issue 26, docs/scaling.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from socialdb.cli.common import DatabaseUrl, Debug, call, fail, group, say

citus_app = group("citus")


@citus_app.command("distribute")
def citus_distribute(
    shard_count: Annotated[
        int, typer.Option("--shard-count", min=1, help="Shards of users' co-location group (first run only).")
    ] = 64,
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Distribute every table with a user_id column by it (users by id), co-located with users;
    the planned lookup tables become reference tables. A second run does nothing and says so.

    On the coordinator after `socialdb migrate up`, as the tables' owner or a superuser.

    Refused in one line, before any change: no Citus, or a unique key without the seller.

    Example: socialdb citus distribute --database-url postgresql://admin@coordinator/socialdb
    """
    from socialdb.migrate import citus
    from socialdb.settings import resolve_target

    target = call(lambda: resolve_target(database_url), debug)
    if target is None:
        fail("no database to distribute: give --database-url (or DATABASE_URL), a Citus coordinator's", 2)
    url = target.url
    done = call(lambda: citus.distribute(url, shard_count), debug, url)
    for setting in done.defaults:
        say(f"set {setting} as the database's default")
    for name in done.reference:
        say(f"made {name} a reference table")
    for name in done.distributed:
        key = citus.TENANT_KEY if name == citus.TENANT else citus.SELLER_KEY
        where = f"{done.shard_count} shards" if name == citus.TENANT else f"co-located with {citus.TENANT}"
        say(f"distributed {name} by {key} ({where})")
    together = f"distributed by seller, co-located with {citus.TENANT}"
    for function in done.delegated:
        say(f"delegated {function} to the node of its seller")
    if not done.changed:
        references = sum(1 for name in done.already if name in citus.REFERENCE)
        and_references = f", and {references} reference table(s)" if references else ""
        say(f"nothing to do: {len(done.already) - references} table(s) already {together}{and_references}")
    else:
        distributed = len(done.distributed) + sum(1 for name in done.already if name not in citus.REFERENCE)
        say(f"{distributed} table(s) {together}")


@citus_app.command("logins")
def citus_logins(database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """Let socialdb_owner log in, without a password, on every node: Citus connects to the workers
    as the owner of a SECURITY DEFINER function (the summary's refresh and rebuild), and a shard
    move as the tables' owner (decision 240). Prints the pg_hba.conf lines that confine it to the
    nodes. socialdb_ingest stays NOLOGIN.

    On the coordinator, as a superuser, once per cluster. Refused in one line without Citus.

    Example: socialdb citus logins --database-url postgresql://admin@coordinator/socialdb
    """
    from socialdb.db import database_of
    from socialdb.migrate import citus_roles
    from socialdb.settings import resolve_target

    target = call(lambda: resolve_target(database_url), debug)
    if target is None:
        fail("no database: give --database-url (or DATABASE_URL), a Citus coordinator's", 2)
    url = target.url
    done = call(lambda: citus_roles.grant_node_logins(url), debug, url)
    for role in done.logins:
        say(f"{role} may log in (no password) on every node")
    if done.create_on_public:
        say(f"granted CREATE on schema public to {citus_roles.SCHEMA_OWNER_ROLE} (shard moves)")
    if not done.changed:
        say(f"nothing to do: {', '.join(citus_roles.LOGINS)} already logs in on every node")
    say("add first to each node's pg_hba.conf (the nodes' own addresses only; docs/security.md):")
    for line in citus_roles.pg_hba_lines(database_of(url), done.nodes):
        say(f"  {line}")
