"""socialdb: the Social Selling platform's PostgreSQL schema, its migration tool and CLI.

Three doors, one per reader; imports point down only (the contracts in pyproject.toml):
- `socialdb.app`: what the platform's services import (tenant scope, tokens, hot paths);
- the migration tool: `socialdb.scripts` (migration files and their history), on it
  `socialdb.migrate` (the runner) and `socialdb.planner` (the lock planner), side by side;
- `socialdb.cli` and `socialdb.bench`: the command line and the benchmark, on top.
`socialdb.errors` and `socialdb.db` are shared by all three. This file imports nothing.
"""

__version__ = "0.1.0"
