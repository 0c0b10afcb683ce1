"""Refusals of the platform's library that PostgreSQL would also name: each is a socialdb error
(socialdb.errors.SocialdbError) and the psycopg error of the same SQLSTATE, so a caller catches
it either way. Apart from socialdb.errors, whose importers (the CLI's start-up) need no psycopg."""

from __future__ import annotations

import psycopg.errors

from socialdb.errors import SocialdbError


class AccountNotConnectedError(SocialdbError, psycopg.errors.ObjectNotInPrerequisiteState):
    """A webhook's account that is not a connected account of the seller (disconnected, or
    another seller's): SQLSTATE 55000, as `seller_ingest_message` raises for one message."""
