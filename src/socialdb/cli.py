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
from typing import Annotated, Any, NoReturn, TypeVar

import psycopg
import typer
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from rich.console import Console
from rich.progress import TaskID
from rich.table import Table
from typer._click.core import Context  # Typer vendors Click; its exceptions are not re-exported
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup

from socialdb import embedded, interrupts, lint, runner, summary, tokens
from socialdb import seed as seeding
from socialdb.durations import parse_duration
from socialdb.errors import DatabaseUrlError, Interrupted, SocialdbError, UsageError
from socialdb.files import new_migration
from socialdb.settings import LockMode, embedded_dir, mask_url, resolve_target, scrub


@contextlib.contextmanager
def _one_line_usage_errors() -> Iterator[None]:
    """A usage error (unknown command or option, bad value) as one line on stderr, exit 2, like every error."""
    try:
        yield
    except NoArgsIsHelpError:
        raise  # the help text, as Typer shows it
    except ClickException as exc:
        message = "; ".join(line.strip() for line in exc.format_message().splitlines() if line.strip())
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(exc.exit_code) from None


class _OneLineErrors(TyperGroup):
    """The root command: Click's usage errors are one line, not a usage banner and a box."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: Context | None = None, **extra: Any
    ) -> Context:
        with _one_line_usage_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        with _one_line_usage_errors():
            return super().invoke(ctx)


app = typer.Typer(
    cls=_OneLineErrors,
    no_args_is_help=True,
    add_completion=False,
    help="The Social Selling database and its migrations.",
)
migrate_app = typer.Typer(no_args_is_help=True, help="Apply, roll back and inspect migrations.")
db_app = typer.Typer(no_args_is_help=True, help="The database socialdb talks to.")
tokens_app = typer.Typer(no_args_is_help=True, help="Encrypted OAuth tokens.")
app.add_typer(migrate_app, name="migrate")
app.add_typer(db_app, name="db")
app.add_typer(tokens_app, name="tokens")
summary_app = typer.Typer(no_args_is_help=True, help="The daily analytics summary's upkeep (maintenance role).")
app.add_typer(summary_app, name="summary")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmark against the spec's schema (extra: socialdb[bench]).")
app.add_typer(bench_app, name="bench")
Scale = Annotated[float, typer.Option("--scale", min=0.001, help="1 = 2M messages, 5M events.")]

T = TypeVar("T")

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="PostgreSQL URL; default $DATABASE_URL, else the embedded server."),
]


def _directory(value: str) -> Path:
    """`--dir`: an empty value is refused, not read as the current folder (a script's unset variable)."""
    if not value.strip():
        raise typer.BadParameter("empty: give a folder of migrations, or leave --dir out for the packaged ones")
    return Path(value)


Directory = Annotated[
    Path | None, typer.Option("--dir", help="Folder of migrations (default: the packaged ones).", parser=_directory)
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
LockTimeout = Annotated[str, typer.Option("--lock-timeout", help="Per-statement lock wait, e.g. 1s, 500ms.")]
StatementTimeout = Annotated[str, typer.Option("--statement-timeout", help="Per-statement time limit, or off.")]
LockRetries = Annotated[int, typer.Option("--lock-retries", min=1, help="Attempts when a lock is not available.")]
LockWait = Annotated[str, typer.Option("--lock-wait", help="How long to wait for another runner's lock.")]
LockModeOption = Annotated[
    LockMode, typer.Option("--lock-mode", help="advisory (session lock) or table (lease row; for PgBouncer).")
]
To = Annotated[
    int | None, typer.Option("--to", help="Target version: it must name a migration file.", show_default=False)
]


def _say(message: str) -> None:
    typer.echo(message)


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _call(action: Callable[[], T], debug: bool, url: str | None = None) -> T:
    """Run a library call; turn its errors into one line on stderr and an exit code."""
    # SIGINT too, even when it came in ignored: see interrupts.py and docs/runner.md.
    with interrupts.handled():
        try:
            result = action()
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
        except KeyboardInterrupt as exc:
            number = interrupts.signal_number(exc)
            _fail(f"interrupted by {signal.Signals(number).name}", 128 + number)
        late = interrupts.pending()
        if late is not None:  # deferred to the end of a run: its work is done, but the caller asked to stop
            _fail(f"interrupted by {signal.Signals(late).name} as the run ended, after its work was done", 128 + late)
        return result


def _url(database_url: str | None, debug: bool) -> str:
    target = _call(lambda: resolve_target(database_url), debug)
    if target is not None:
        return target.url
    return _call(lambda: embedded.start(embedded_dir()), debug)


def _options(
    lock_timeout: str, statement_timeout: str, lock_retries: int, lock_wait: str, lock_mode: LockMode
) -> runner.RunOptions:
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
    to: To = None,
    database_url: DatabaseUrl = None,
    directory: Directory = None,
    lock_timeout: LockTimeout = "1s",
    statement_timeout: StatementTimeout = "off",
    lock_retries: LockRetries = 10,
    lock_wait: LockWait = "60s",
    lock_mode: LockModeOption = LockMode.ADVISORY,
    debug: Debug = False,
) -> None:
    """Apply every pending migration (up to --to V), each in its own transaction."""
    options = _options(lock_timeout, statement_timeout, lock_retries, lock_wait, lock_mode)
    url = _url(database_url, debug)
    done = _call(lambda: runner.up(url, directory, options, _say, to=to), debug, url)
    _say(f"{len(done)} migration(s) applied")


@migrate_app.command("down")
def migrate_down(
    steps: Annotated[
        int | None, typer.Argument(help="How many migrations to roll back [default: 1].", min=1, show_default=False)
    ] = None,
    to: To = None,
    database_url: DatabaseUrl = None,
    directory: Directory = None,
    lock_timeout: LockTimeout = "1s",
    statement_timeout: StatementTimeout = "off",
    lock_retries: LockRetries = 10,
    lock_wait: LockWait = "60s",
    lock_mode: LockModeOption = LockMode.ADVISORY,
    debug: Debug = False,
) -> None:
    """Roll back the last N applied migrations, or every one newer than --to V (V stays); newest first."""
    if steps is not None and to is not None:
        raise typer.BadParameter("give N or --to V, not both")
    options = _options(lock_timeout, statement_timeout, lock_retries, lock_wait, lock_mode)
    url = _url(database_url, debug)
    done = _call(lambda: runner.down(url, steps, directory, options, _say, to=to), debug, url)
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
    lock_mode: LockModeOption = LockMode.ADVISORY,
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
    encrypt_plaintext: Annotated[
        bool,
        typer.Option(
            "--encrypt-plaintext", help="Also encrypt values that are not ciphertexts (once, after the first deploy)."
        ),
    ] = False,
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Re-encrypt every OAuth token under the current key (the first of SOCIALDB_TOKEN_KEYS). Rerunnable."""
    cipher = _call(tokens.TokenCipher.from_env, debug)
    url = _url(database_url, debug)
    result = _call(
        lambda: tokens.rotate(url, cipher, batch_size, _say, encrypt_plaintext=encrypt_plaintext), debug, url
    )
    _say(f"{result.reencrypted} token(s) re-encrypted; every token is under key {cipher.current!r}")


@summary_app.command("refresh")
def summary_refresh(database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """Recompute the days whose events changed since the last refresh (for cron)."""
    url = _url(database_url, debug)
    ms = _call(lambda: summary.run(url, summary.SummaryTask.REFRESH), debug, url)
    _say(f"summary refreshed in {ms} ms")


@summary_app.command("rebuild")
def summary_rebuild(database_url: DatabaseUrl = None, debug: Debug = False) -> None:
    """Recompute every day of the summary from the events (a repair; minutes at scale)."""
    url = _url(database_url, debug)
    ms = _call(lambda: summary.run(url, summary.SummaryTask.REBUILD), debug, url)
    _say(f"summary rebuilt in {ms} ms")


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
