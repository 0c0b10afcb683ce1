"""socialdb: the Social Selling platform's PostgreSQL schema, its migration tool and CLI.

Three doors, one per reader; imports point down only:
- `socialdb.app`: what the platform's services import (tenant scope, tokens, hot paths);
- `socialdb.migrate`: the migration tool (files, plans, history, locks, the runner);
- `socialdb.cli` and `socialdb.bench`: the command line and the benchmark, on top.
`socialdb.errors` and `socialdb.db` are shared by all three. This file imports nothing.
"""

__version__ = "0.1.0"
