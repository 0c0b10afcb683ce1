"""`socialdb`: the command line, a thin shell over the library and the only place that
prints or exits. One module per command group; `common` holds what they share.

Exit codes: 0 success, 1 failure, 2 usage error, 130 / 143 interrupted by SIGINT / SIGTERM
(each library error carries its own, `SocialdbError.exit_code`).
"""

from __future__ import annotations

from socialdb.cli.common import app, register_lazily

# Each module registers its commands when imported, which happens when one of them runs:
# `socialdb --version`, `--help` and `lint` load no database driver (docs/performance.md).
# The text is the command's line in `socialdb --help`, written here only: a group's help is this line
# (`common.group`), a command's is this line then its docstring (`common.command`).
for _name, _module, _help in [
    (
        "init",
        "init",
        "Make socialdb.toml, the migrations folder and its lint waivers here; then `socialdb migrate new NAME`.",
    ),
    ("migrate", "migrate", "Apply, roll back and inspect migrations."),
    ("lint", "lint", "Lint migrations with Squawk; exit 1 on any finding that is not waived."),
    ("seed", "seed", "Load the development seed data (a demo seller and 20 products). Idempotent."),
    ("tokens", "tokens", "Encrypted OAuth tokens."),
    ("summary", "summary", "The daily analytics summary's upkeep (maintenance role)."),
    (
        "maintain",
        "maintain",
        "Create analytics_events' partitions for the months ahead; with --retain, drop expired ones.",
    ),
    ("db", "database", "The database socialdb talks to."),
    ("psql", "database", "Open psql on the database; extra arguments go to psql (e.g. -c 'SELECT 1')."),
    ("bench", "bench", "Benchmark against the spec's schema (extra: socialdb\\[bench])."),
    ("schema", "schema", "Document the schema from the catalog, and catch drift."),
    ("citus", "citus", "socialdb on a Citus cluster: distribute the tables by seller."),
]:
    register_lazily(_name, f"socialdb.cli.{_module}", _help)

__all__ = ["app", "main"]


def main() -> None:
    app(prog_name="socialdb")
