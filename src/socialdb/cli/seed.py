"""`socialdb seed`: the development seed data."""

from __future__ import annotations

from socialdb.app import seed as seeding
from socialdb.cli.common import DatabaseUrl, Debug, call, command, say, target_url


@command("seed")
def seed_command(database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """Example: socialdb seed --database-url postgresql://me@localhost/socialdb_dev"""
    url = target_url(database_url, debug)
    result = call(lambda: seeding.seed(url), debug, url)
    say(f"seeded: {result.users_created} user(s) and {result.products_created} product(s) created")
