"""socialdb: the Social Selling platform's PostgreSQL schema and its migration runner."""

from socialdb.cli import main

__all__ = ["main"]
