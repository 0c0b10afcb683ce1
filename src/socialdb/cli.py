"""`socialdb`: a thin shell over the library. Parses arguments, calls, formats output.

Exit codes: 0 success, 1 failure, 2 usage error, 130 / 143 interrupted by SIGINT / SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn, TypeVar

import psycopg
import typer
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from rich.console import Console
from rich.progress import TaskID
from rich.table import Table

from socialdb import embedded, lint, runner, tokens
from socialdb import seed as seeding
from socialdb.durations import parse_duration
from socialdb.errors import DatabaseUrlError, Interrupted, SocialdbError, Terminated, UsageError
from socialdb.files import new_migration
from socialdb.settings import embedded_dir, mask_url, resolve_target, scrub

app = typer.Typer(no_args_is_help=True, add_completion=False, help="The Social Selling database and its migrations.")
migrate_app = typer.Typer(no_args_is_help=True, help="Apply, roll back and inspect migrations.")
db_app = typer.Typer(no_args_is_help=True, help="The database socialdb talks to.")
tokens_app = typer.Typer(no_args_is_help=True, help="Encrypted OAuth tokens.")
app.add_typer(migrate_app, name="migrate")
app.add_typer(db_app, name="db")
app.add_typer(tokens_app, name="tokens")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmark against the spec's schema (extra: socialdb[bench]).")
app.add_typer(bench_app, name="bench")
Scale = Annotated[float, typer.Option("--scale", min=0.001, help="1 = 2M messages, 5M events.")]

T = TypeVar("T")

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="PostgreSQL URL; default $DATABASE_URL, else the embedded server."),
]
Directory = Annotated[
    Path | None, typer.Option("--dir", help="Folder of migrations (default: the packaged ones).", file_okay=False)
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
LockTimeout = Annotated[str, typer.Option("--lock-timeout", help="Per-statement lock wait, e.g. 1s, 500ms.")]
StatementTimeout = Annotated[str, typer.Option("--statement-timeout", help="Per-statement time limit, or off.")]
LockRetries = Annotated[int, typer.Option("--lock-retries", min=1, help="Attempts when a lock is not available.")]
LockWait = Annotated[str, typer.Option("--lock-wait", help="How long to wait for another runner's lock.")]
LockMode = Annotated[
    str, typer.Option("--lock-mode", help="advisory (session lock) or table (lease row; for PgBouncer).")
]


def _say(message: str) -> None:
    typer.echo(message)


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _call(action: Callable[[], T], debug: bool, url: str | None = None) -> T:
    """Run a library call; turn its errors into one line on stderr and an exit code."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return action()
    except Interrupted as exc:
        _fail(str(exc), 128 + exc.signal_number)
    except Exception as exc:
        if debug or os.environ.get("SOCIALDB_DEBUG"):
            raise
        code = 2 if isinstance(exc, (UsageError, DatabaseUrlError)) else 1
        if isinstance(exc, SocialdbError):
            _fail(scrub(str(exc), url), code)
        if isinstance(exc, psycopg.Error):
            _fail(scrub(str(exc).strip().splitlines()[0], url), 1)
        first = (str(exc).strip().splitlines() or [""])[0]
        _fail(f"unexpected {type(exc).__name__}: {scrub(first, url)} (rerun with --debug for the traceback)", 1)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def _url(database_url: str | None, debug: bool) -> str:
    target = _call(lambda: resolve_target(database_url), debug)
    if target is not None:
        return target.url
    return _call(lambda: embedded.start(embedded_dir()), debug)


def _options(
    lock_timeout: str, statement_timeout: str, lock_retries: int, lock_wait: str, lock_mode: str
) -> runner.RunOptions:
    if lock_mode not in ("advisory", "table"):
        raise typer.BadParameter(f"--lock-mode {lock_mode!r}: use advisory or table")
    try:
        return runner.RunOptions(
            lock_timeout_ms=parse_duration(lock_timeout),
            statement_timeout_ms=parse_duration(statement_timeout),
            lock_retries=lock_retries,
            lock_wait_s=parse_duration(lock_wait) / 1000,
            lock_mode=lock_mode,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@migrate_app.command("up")
def migrate_up(
    database_url: DatabaseUrl = None,
    directory: Directory = None,
    lock_timeout: LockTimeout = "1s",
    statement_timeout: StatementTimeout = "off",
    lock_retries: LockRetries = 10,
    lock_wait: LockWait = "60s",
    lock_mode: LockMode = "advisory",
    debug: Debug = False,
) -> None:
    """Apply every pending migration, each in its own transaction."""
    options = _options(lock_timeout, statement_timeout, lock_retries, lock_wait, lock_mode)
    url = _url(database_url, debug)
    done = _call(lambda: runner.up(url, directory, options, _say), debug, url)
    _say(f"{len(done)} migration(s) applied")


@migrate_app.command("down")
def migrate_down(
    steps: Annotated[int, typer.Argument(help="How many migrations to roll back.", min=1)] = 1,
    database_url: DatabaseUrl = None,
    directory: Directory = None,
    lock_timeout: LockTimeout = "1s",
    statement_timeout: StatementTimeout = "off",
    lock_retries: LockRetries = 10,
    lock_wait: LockWait = "60s",
    lock_mode: LockMode = "advisory",
    debug: Debug = False,
) -> None:
    """Roll back the last N applied migrations, newest first."""
    options = _options(lock_timeout, statement_timeout, lock_retries, lock_wait, lock_mode)
    url = _url(database_url, debug)
    done = _call(lambda: runner.down(url, steps, directory, options, _say), debug, url)
    _say(f"{len(done)} migration(s) rolled back")


@migrate_app.command("resolve")
def migrate_resolve(
    version: Annotated[int, typer.Argument(help="Version of the failed migration.")],
    retry: Annotated[bool, typer.Option("--retry", help="Run it again from its first statement.")] = False,
    mark_applied: Annotated[bool, typer.Option("--mark-applied", help="Record it as applied (done by hand).")] = False,
    database_url: DatabaseUrl = None,
    directory: Directory = None,
    lock_timeout: LockTimeout = "1s",
    statement_timeout: StatementTimeout = "off",
    lock_retries: LockRetries = 10,
    lock_wait: LockWait = "60s",
    lock_mode: LockMode = "advisory",
    debug: Debug = False,
) -> None:
    """Settle a non-transactional migration that failed midway."""
    if retry == mark_applied:
        raise typer.BadParameter("give exactly one of --retry and --mark-applied")
    options = _options(lock_timeout, statement_timeout, lock_retries, lock_wait, lock_mode)
    url = _url(database_url, debug)
    action = "retry" if retry else "mark-applied"
    _call(lambda: runner.resolve(url, version, action, directory, options, _say), debug, url)


@migrate_app.command("status")
def migrate_status(database_url: DatabaseUrl = None, directory: Directory = None, debug: Debug = False) -> None:
    """Every migration with its state: applied, pending, changed, missing or failed."""
    url = _url(database_url, debug)
    rows = _call(lambda: runner.status(url, directory), debug, url)
    table = Table("version", "name", "applied at (UTC)", "duration", "state")
    for row in rows:
        applied = f"{row.executed_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}" if row.executed_at else ""
        duration = f"{row.execution_ms} ms" if row.execution_ms is not None else ""
        table.add_row(f"{row.version:03d}", row.name, applied, duration, row.state)
    Console(width=120).print(table)


@migrate_app.command("new")
def migrate_new(
    name: Annotated[str, typer.Argument(help="Lower-case name, e.g. add-product-weight.")],
    directory: Directory = None,
    debug: Debug = False,
) -> None:
    """Create the next migration file from a template."""
    path = _call(lambda: new_migration(directory or runner.default_directory(), name), debug)
    _say(str(path))


@app.command("lint")
def lint_command(
    files: Annotated[list[Path] | None, typer.Argument(help="Migration files or folders (default: --dir).")] = None,
    directory: Directory = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Waiver file (default: lint-waivers.toml beside the migrations).")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    debug: Debug = False,
) -> None:
    """Lint migrations with Squawk; exit 1 on any finding that is not waived."""
    if output not in ("text", "json"):
        raise typer.BadParameter(f"--format {output!r}: use text or json")
    paths = files or [directory or runner.default_directory()]
    findings = _call(lambda: lint.lint_paths(paths, config), debug)
    open_findings = [f for f in findings if f.waived_by is None]
    if output == "json":
        _say(json.dumps([f.__dict__ for f in findings], indent=2))
    else:
        for f in open_findings:
            _say(f"{f.file}:{f.line}: {f.rule} ({f.part}): {f.message}" + (f" {f.help}" if f.help else ""))
        _say(f"{len(open_findings)} finding(s), {len(findings) - len(open_findings)} waived")
    if open_findings:
        raise typer.Exit(1)


@app.command("seed")
def seed_command(database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """Load the development seed data (a demo seller and 20 products). Idempotent."""
    url = _url(database_url, debug)
    result = _call(lambda: seeding.seed(url), debug, url)
    _say(f"seeded: {result.users_created} user(s) and {result.products_created} product(s) created")


@tokens_app.command("rotate")
def tokens_rotate(
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per transaction.")] = 500,
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Re-encrypt every OAuth token under the current key (the first of SOCIALDB_TOKEN_KEYS). Rerunnable."""
    cipher = _call(tokens.TokenCipher.from_env, debug)
    url = _url(database_url, debug)
    done = _call(lambda: tokens.rotate(url, cipher, batch_size, _say), debug, url)
    _say(f"{done} token(s) re-encrypted; every token is under key {cipher.current!r}")


@bench_app.command("generate")
def bench_generate(scale: Scale = 1.0, database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """Create the two benchmark databases on the server and load the same data into both."""
    from socialdb.bench import run as bench

    admin = bench.admin_database(_url(database_url, debug))
    with _progress() as progress:
        result = _call(lambda: bench.generate_data(admin, scale, _say, progress), debug, admin)
    for table, rate in result.load_rates.items():
        _say(f"{table}: {rate:,.0f} rows/s")


@bench_app.command("run")
def bench_run(
    scale: Scale = 1.0,
    seconds: Annotated[float, typer.Option("--seconds", help="Time per measured operation.")] = 10.0,
    output: Annotated[Path, typer.Option("--output", help="Report file (the chart goes beside it).")] = Path(
        "docs/performance.md"
    ),
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Generate the data, measure every operation on both schemas, write the report and chart."""
    from socialdb.bench import report
    from socialdb.bench import run as bench

    admin = bench.admin_database(_url(database_url, debug))
    with _progress() as progress:
        result = _call(lambda: bench.generate_data(admin, scale, _say, progress), debug, admin)
    result = _call(lambda: bench.measure(admin, result, seconds, _say), debug, admin)
    command = f"socialdb bench run --scale {scale:g} --seconds {seconds:g}"
    report.write(result, command, output, output.with_name("performance.png"))
    _say(f"wrote {output} and {output.with_name('performance.png')}")


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A Rich progress bar per table, fed by (table, done, total)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        tasks: dict[str, TaskID] = {}

        def update(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=total)
            bar.update(tasks[table], completed=done)

        yield update


@db_app.command("url")
def db_url(database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """The database URL socialdb would use, password masked."""
    _say(mask_url(_url(database_url, debug)))


@db_app.command("stop")
def db_stop(debug: Debug = False) -> None:
    """Stop the embedded PostgreSQL (its data stays in ./.socialdb)."""
    stopped = _call(lambda: embedded.stop(embedded_dir()), debug)
    _say("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


@app.command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def psql(ctx: typer.Context, database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """Open psql on the database; extra arguments go to psql (e.g. -c 'SELECT 1').

    The password travels in PGPASSWORD, not on the command line.
    """
    url = _url(database_url, debug)
    executable = shutil.which("psql") or embedded.psql_path()
    if executable is None:
        _fail("psql not found: install PostgreSQL's client (e.g. apt install postgresql-client)", 1)
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = dict(os.environ, **({"PGPASSWORD": str(password)} if password else {}))
    os.execve(executable, [executable, make_conninfo("", **params), *ctx.args], env)


def main() -> None:
    app(prog_name="socialdb")


if __name__ == "__main__":
    main()
