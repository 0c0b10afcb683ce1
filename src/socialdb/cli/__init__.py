"""`socialdb`: the command line, a thin shell over the library and the only place that
prints or exits. One module per command group; `common` holds what they share.

Exit codes: 0 success, 1 failure, 2 usage error, 130 / 143 interrupted by SIGINT / SIGTERM
(each library error carries its own, `SocialdbError.exit_code`).
"""

from __future__ import annotations

from socialdb.cli import bench, database, lint, migrate, seed, summary, tokens  # noqa: F401  (each registers)
from socialdb.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    app(prog_name="socialdb")
