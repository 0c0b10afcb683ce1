"""What every command shares: the app, the options declared once, and the one place where
a library error becomes one line on stderr and an exit code (the error's `exit_code`).

Light on purpose, so that `socialdb --version`, `--help` and `lint` load no database driver:
a command group's module is imported when that command runs (`register_lazily`, called by
`socialdb/cli/__init__.py`), and what talks to a database is imported where it is used.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandInfo

from socialdb import __version__
from socialdb.cli.click_compat import ClickException, Command, Context, NoArgsIsHelpError
from socialdb.errors import SocialdbError
from socialdb.migrate import interrupts
from socialdb.scripts.options import LockMode

if TYPE_CHECKING:
    from socialdb.config import Project

T = TypeVar("T")


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


# Commands whose module is imported only when they run: name -> (module, line in `socialdb --help`).
_LAZY: dict[str, tuple[str, str]] = {}


def register_lazily(name: str, module: str, help_text: str) -> None:
    """`socialdb NAME` is defined by `module`, imported when NAME runs (or shows its own help)."""
    _LAZY[name] = (module, help_text)


def lazy_commands() -> dict[str, tuple[str, str]]:
    """Each lazily registered command: (its module, its line in `socialdb --help`)."""
    return dict(_LAZY)


class _NotLoaded(TyperCommand):
    """A lazy command before its module is imported: its name and help line, for `socialdb --help`."""


class _OneLineErrors(TyperGroup):
    """The root command: Click's usage errors are one line, not a usage banner and a box; and
    each command group is loaded only when it is used."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False  # while the root's help is written, lazy commands stay unloaded
        for name, (_, help_text) in _LAZY.items():
            self.commands.setdefault(name, _NotLoaded(name, help=help_text))

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = self.commands.get(cmd_name)
        if not isinstance(command, _NotLoaded) or self._listing:
            return command
        importlib.import_module(_LAZY[cmd_name][0])  # registers its commands on `app`
        _defer_group_commands()
        built = typer.main.get_command(app)
        assert isinstance(built, TyperGroup)
        for name, loaded in built.commands.items():
            if isinstance(self.commands.get(name), _NotLoaded) and not isinstance(loaded, _NotLoaded):
                self.commands[name] = loaded
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Context, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

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
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    help="The Social Selling database and its migrations.",
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"socialdb {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    pass


def help_line(name: str) -> str:
    """The line of `socialdb NAME` in `socialdb --help`, as registered in cli/__init__.py, its one place."""
    if name not in _LAZY:
        raise KeyError(f"socialdb {name}: register it in socialdb/cli/__init__.py with its help line")
    return _LAZY[name][1]


# Each group's commands as registered, by group and command name: Typer builds a Click command
# from a function's signature (its annotations evaluated), and building all ten of `migrate`'s
# took 50 ms of a no-op `migrate up` (docs/performance.md): `_LazyCommands` builds the one asked for.
_GROUP_COMMANDS: dict[str, dict[str, CommandInfo]] = {}


class _LazyCommands(TyperGroup):
    """A command group whose commands are built on first use (`get_command`), not all at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._infos = _GROUP_COMMANDS.get(self.name or "", {})

    def list_commands(self, ctx: Context) -> list[str]:
        return [*self._infos, *(name for name in self.commands if name not in self._infos)]

    def resolve_command(self, ctx: Context, args: list[str]) -> tuple[str | None, Command | None, list[str]]:
        if args and args[0] not in self._infos and args[0] not in self.commands:
            for name in self._infos:  # a name of none of them: all built, for Typer's "Did you mean"
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        info = self._infos.get(cmd_name)
        if cmd_name not in self.commands and info is not None:
            self.commands[cmd_name] = typer.main.get_command_from_info(
                info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=app.rich_markup_mode
            )
        return self.commands.get(cmd_name)


def _defer_group_commands() -> None:
    """Move each group's registered commands out of Typer's eager build, into `_LazyCommands`."""
    for info in app.registered_groups:
        sub = info.typer_instance
        if info.name and sub is not None and sub.info.cls is _LazyCommands:
            deferred = _GROUP_COMMANDS.setdefault(info.name, {})
            for command in sub.registered_commands:
                callback = command.callback
                deferred[command.name or typer.main.get_command_name(callback.__name__ if callback else "")] = command
            sub.registered_commands.clear()


def group(name: str) -> typer.Typer:
    """A command group (`socialdb migrate ...`), registered on the app; its help is its registered line."""
    sub = typer.Typer(cls=_LazyCommands, no_args_is_help=True, help=help_line(name))
    app.add_typer(sub, name=name)
    return sub


def command(name: str, **settings: Any) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A command of the root (`socialdb seed`): its help is its registered line, then its docstring
    (what else to know, and an example), so that the line is written once."""

    def register(function: Callable[..., None]) -> Callable[..., None]:
        rest = inspect.getdoc(function)
        text = help_line(name) + (f"\n\n{rest}" if rest else "")
        return app.command(name, help=text, **settings)(function)

    return register


def _directory(value: str) -> Path:
    """`--dir`: an empty value is refused, not read as the current folder (a script's unset variable)."""
    if not value.strip():
        raise typer.BadParameter("empty: give a folder of migrations, or leave --dir out for the configured one")
    return Path(value)


DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="PostgreSQL URL; default $DATABASE_URL, else the embedded server."),
]
Directory = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="Folder of migrations (default: $SOCIALDB_MIGRATIONS_DIR, else the config's, else the platform's own).",
        parser=_directory,
        show_default=False,
    ),
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]


# `socialdb maintain`'s own lock settings (not the project's: it is no migration run).
LockTimeout = Annotated[str, typer.Option("--lock-timeout", help="Per-statement lock wait, e.g. 1s, 500ms.")]
LockRetries = Annotated[int, typer.Option("--lock-retries", min=1, help="Attempts when a lock is not available.")]


# The run options of `migrate up`, `down`, `resolve`, `repair` and `baseline`, declared once
# (see `with_project`). Not given: the environment's, else the config file's, else the default.
def _lock_help(text: str, key: str, default: str) -> str:
    return f"{text} (default: $SOCIALDB_{key.upper()}, else the config's, else {default})"


_RunLockTimeout = Annotated[
    str | None,
    typer.Option("--lock-timeout", help=_lock_help("Per-statement lock wait, e.g. 1s, 500ms.", "lock_timeout", "1s")),
]
_RunStatementTimeout = Annotated[
    str | None,
    typer.Option(
        "--statement-timeout", help=_lock_help("Per-statement time limit, or off.", "statement_timeout", "off")
    ),
]
_RunLockRetries = Annotated[
    int | None,
    typer.Option(
        "--lock-retries", min=1, help=_lock_help("Attempts when a lock is not available.", "lock_retries", "10")
    ),
]
_RunLockWait = Annotated[
    str | None,
    typer.Option("--lock-wait", help=_lock_help("How long to wait for another runner's lock.", "lock_wait", "60s")),
]
_RunLockModeOption = Annotated[
    LockMode | None,
    typer.Option(
        "--lock-mode",
        help=_lock_help("advisory (session lock) or table (lease row; for PgBouncer).", "lock_mode", "advisory"),
    ),
]
_RUN_OPTIONS: list[tuple[str, Any]] = [
    ("lock_timeout", _RunLockTimeout),
    ("statement_timeout", _RunStatementTimeout),
    ("lock_retries", _RunLockRetries),
    ("lock_wait", _RunLockWait),
    ("lock_mode", _RunLockModeOption),
    ("directory", Directory),
]


def with_project(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command `--dir` and the run options; it receives the project they make with the
    environment and the config file, resolved and checked, as `project: Project` (config.py)."""
    own = inspect.signature(command, eval_str=True)
    kept = [p for name, p in own.parameters.items() if name != "project"]
    extra = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=None) for n, a in _RUN_OPTIONS]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        given = {name: kwargs.pop(name) for name, _ in _RUN_OPTIONS}
        directory = given.pop("directory")
        mode = given.pop("lock_mode")
        command(project=project(kwargs["debug"], directory, lock_mode=mode and mode.value, **given), **kwargs)

    wrapper.__signature__ = own.replace(parameters=[*kept, *extra])  # type: ignore[attr-defined]
    return wrapper


def project(debug: bool, directory: Path | None = None, **flags: str | int | None) -> Project:
    """The project's settings: the flags given over SOCIALDB_* over the config file (config.py)."""
    from socialdb import config

    given = {"migrations_dir": None if directory is None else str(directory), **flags}
    return call(lambda: config.resolve(given), debug)


def say(message: str) -> None:
    typer.echo(message)


def fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def call(action: Callable[[], T], debug: bool, url: str | None = None) -> T:
    """Run a library call; turn its errors into one line on stderr and the error's exit code."""
    # SIGINT too, even when it came in ignored: see migrate/interrupts.py and docs/runner.md.
    with interrupts.handled():
        try:
            result = action()
        except Exception as exc:
            if debug or os.environ.get("SOCIALDB_DEBUG"):
                raise
            fail(*_one_line(exc, url))
        except KeyboardInterrupt as exc:
            number = interrupts.signal_number(exc)
            fail(f"interrupted by {signal.Signals(number).name}", 128 + number)
        late = interrupts.pending()
        if late is not None:  # deferred to the end of a run: its work is done, but the caller asked to stop
            fail(f"interrupted by {signal.Signals(late).name} as the run ended, after its work was done", 128 + late)
        return result


def _one_line(exc: Exception, url: str | None) -> tuple[str, int]:
    import psycopg

    from socialdb.db import scrub

    if isinstance(exc, SocialdbError):
        return scrub(str(exc), url), exc.exit_code
    first = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, psycopg.Error):
        return scrub(first, url), 1
    return f"unexpected {type(exc).__name__}: {scrub(first, url)} (rerun with --debug for the traceback)", 1


def target_url(database_url: str | None, debug: bool) -> str:
    """--database-url, else DATABASE_URL, else the embedded server (started if needed)."""
    from socialdb import embedded
    from socialdb.settings import embedded_dir, resolve_target

    target = call(lambda: resolve_target(database_url), debug)
    if target is not None:
        return target.url
    return call(lambda: embedded.start(embedded_dir()), debug)
