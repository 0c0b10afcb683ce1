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
