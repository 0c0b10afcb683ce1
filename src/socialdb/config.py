"""A project's settings for `socialdb migrate` and `socialdb lint`: which folder of migrations,
which history table, the lock settings and the lint waivers.

Precedence, each later one winning, key by key:

1. the built-in defaults;
2. the config file: `socialdb.toml` (top-level keys) or `[tool.socialdb]` in pyproject.toml,
   the first found from the current folder upwards (a pyproject.toml without the table ends
   the search: it is the project's root), or the file named by SOCIALDB_CONFIG;
3. the environment: SOCIALDB_<KEY>, e.g. SOCIALDB_MIGRATIONS_DIR, SOCIALDB_LOCK_TIMEOUT;
4. the command's flags (`--dir`, `--lock-timeout`, ...).

The migrations folder: a flag, variable or file that names one wins; a config file that names
none means `migrations` beside it; with no config file at all the folder is the platform's own,
shipped in the package (decision 140). Paths in a config file are relative to its folder,
others to the current one. Pure parsing (`parse`, `merge`) is apart from reading files (`load`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from socialdb.errors import ConfigError
from socialdb.scripts.durations import parse_duration
from socialdb.scripts.options import DEFAULT_HISTORY, HistoryTable, LockMode, RunOptions

CONFIG_FILE = "socialdb.toml"
PYPROJECT = "pyproject.toml"
ENV_FILE = "SOCIALDB_CONFIG"
# Every key, with its type; the environment variable of each is SOCIALDB_ and the key in capitals.
KEYS: dict[str, type] = {
    "migrations_dir": str,
    "history_table": str,
    "history_schema": str,
    "lock_mode": str,
    "lock_timeout": str,
    "statement_timeout": str,
    "lock_retries": int,
    "lock_wait": str,
    "lint_waivers": str,
}
_PATHS = ("migrations_dir", "lint_waivers")
_MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1


@dataclass(frozen=True)
class Setting:
    value: str | int
    source: str  # where it came from, for errors: "socialdb.toml", "SOCIALDB_LOCK_TIMEOUT", "--lock-timeout"


@dataclass(frozen=True)
class Project:
    """Everything a command needs to know of the project, resolved and checked."""

    directory: Path
    platform: bool  # the package's own migrations
    history: HistoryTable
    options: RunOptions
    lint_waivers: Path | None  # None: lint-waivers.toml beside the migrations
    config_file: Path | None


def env_name(key: str) -> str:
    return "SOCIALDB_" + key.upper()


def flag_name(key: str) -> str:
    return "--dir" if key == "migrations_dir" else "--" + key.replace("_", "-")


def platform_directory() -> Path:
    from socialdb.scripts.files import default_directory

    return default_directory()


def parse(text: str, where: str, *, pyproject: bool) -> dict[str, str | int]:
    """A config file's settings, checked: unknown keys and wrong types are refused, naming the file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    if pyproject:
        data = data.get("tool", {}).get("socialdb", {})
        where = f"{where} [tool.socialdb]"
    values: dict[str, str | int] = {}
    for key, value in data.items():
        kind = KEYS.get(key)
        if kind is None:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(KEYS)})")
        if not isinstance(value, str | int) or not isinstance(value, kind) or isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be a {'number' if kind is int else 'string'}, not {value!r}")
        values[key] = value
    return values


def from_environ(environ: Mapping[str, str]) -> dict[str, Setting]:
    """The SOCIALDB_<KEY> variables that are set; a set but empty one is an error, not a fallback."""
    found: dict[str, Setting] = {}
    for key, kind in KEYS.items():
        raw = environ.get(env_name(key))
        if raw is None:
            continue
        if not raw.strip():
            raise ConfigError(f"{env_name(key)} is set but empty: give it a value, or unset it")
        if kind is int and not raw.strip().isdigit():
            raise ConfigError(f"{env_name(key)}={raw!r}: expected a whole number")
        found[key] = Setting(int(raw) if kind is int else raw.strip(), env_name(key))
    return found


def find(start: Path, environ: Mapping[str, str]) -> Path | None:
    """The config file: SOCIALDB_CONFIG, else the first socialdb.toml or pyproject.toml with
    [tool.socialdb] from `start` upwards; a pyproject.toml without it ends the search."""
    named = environ.get(ENV_FILE)
    if named is not None:
        if not named.strip() or not Path(named).is_file():
            raise ConfigError(f"{ENV_FILE}={named!r}: no such file")
        return Path(named).resolve()
    for folder in [start, *start.parents]:
        own, pyproject = folder / CONFIG_FILE, folder / PYPROJECT
        has_table = pyproject.is_file() and _has_table(pyproject)
        if own.is_file() and has_table:
            raise ConfigError(f"{own} and {pyproject} [tool.socialdb] both configure socialdb: keep one")
        if own.is_file() or has_table:
            return own if own.is_file() else pyproject
        if pyproject.is_file():
            return None
    return None


def _has_table(pyproject: Path) -> bool:
    text = pyproject.read_text(encoding="utf-8")
    if "socialdb" not in text:  # most projects' pyproject: no TOML parse at start-up
        return False
    try:
        return "socialdb" in tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None


def load(path: Path) -> dict[str, Setting]:
    """A config file's settings, with its paths made absolute (relative to the file's folder)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    values = parse(text, str(path), pyproject=path.name == PYPROJECT)
    return {
        key: Setting(str(path.parent / str(value)) if key in _PATHS else value, str(path))
        for key, value in values.items()
    }


def resolve(
    flags: Mapping[str, str | int | None], environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Project:
    """The project: the config file, then the environment, then the flags given (None: not given)."""
    env = os.environ if environ is None else environ
    here = cwd or Path.cwd()
    path = find(here, env)
    settings = load(path) if path is not None else {}
    settings.update(from_environ(env))
    settings.update({k: Setting(v, flag_name(k)) for k, v in flags.items() if v is not None})
    return merge(settings, path, here)


def merge(settings: Mapping[str, Setting], config_file: Path | None, cwd: Path) -> Project:
    """Pure: the settings, by key, checked and built into a Project."""
    folder = settings.get("migrations_dir")
    if folder is not None:
        directory = (cwd / str(folder.value)).resolve()
    elif config_file is not None:
        directory = config_file.parent / "migrations"
    else:
        directory = platform_directory()
    platform = directory.resolve() == platform_directory().resolve()
    history = _history(settings)
    if platform and history != DEFAULT_HISTORY:
        given = settings.get("history_table") or settings.get("history_schema")
        raise ConfigError(
            f"{given.source if given else 'config'}: history table {history} with the platform's own migrations,"
            " whose SQL names the table `migrations` (018's grants, `maintain`'s lock): leave the history"
            " table unset for them, or set migrations_dir to your project's folder"
        )
    waivers = settings.get("lint_waivers")
    return Project(
        directory=directory,
        platform=platform,
        history=history,
        options=run_options(settings),
        lint_waivers=(cwd / str(waivers.value)).resolve() if waivers else None,
        config_file=config_file,
    )


def _history(settings: Mapping[str, Setting]) -> HistoryTable:
    name = settings.get("history_table")
    schema = settings.get("history_schema")
    for setting in (name, schema):
        if setting is not None and not 0 < len(str(setting.value).encode("utf-8")) <= _MAX_IDENTIFIER:
            raise ConfigError(f"{setting.source}: {setting.value!r}: a name of 1 to {_MAX_IDENTIFIER} bytes")
    return HistoryTable(
        str(name.value) if name else DEFAULT_HISTORY.name, str(schema.value) if schema else DEFAULT_HISTORY.schema
    )


def _where(setting: Setting, key: str) -> str:
    """The start of an error about a setting: the flag or variable, or the file and its key."""
    named = setting.source.startswith(("--", "SOCIALDB_"))
    return f"{setting.source}: " if named else f"{setting.source}: {key}: "


def run_options(settings: Mapping[str, Setting]) -> RunOptions:
    """The lock settings as RunOptions; a bad value names where it came from."""
    defaults = RunOptions()

    def duration(key: str, default_ms: int) -> int:
        setting = settings.get(key)
        if setting is None:
            return default_ms
        try:
            return parse_duration(str(setting.value))
        except ValueError as exc:
            raise ConfigError(f"{_where(setting, key)}{exc}") from None

    retries = settings.get("lock_retries")
    if retries is not None and (not isinstance(retries.value, int) or retries.value < 1):
        raise ConfigError(f"{_where(retries, 'lock_retries')}{retries.value!r}: at least 1")
    mode = settings.get("lock_mode")
    modes = " or ".join(m.value for m in LockMode)
    if mode is not None and mode.value not in {m.value for m in LockMode}:
        raise ConfigError(f"{_where(mode, 'lock_mode')}{mode.value!r}: use {modes}")
    return RunOptions(
        lock_timeout_ms=duration("lock_timeout", defaults.lock_timeout_ms),
        statement_timeout_ms=duration("statement_timeout", defaults.statement_timeout_ms),
        lock_retries=int(retries.value) if retries else defaults.lock_retries,
        lock_wait_s=duration("lock_wait", int(defaults.lock_wait_s * 1000)) / 1000,
        lock_mode=LockMode(str(mode.value)) if mode else defaults.lock_mode,
    )


# What `socialdb init` writes: the config, and lint waivers under which a plain first migration
# (a CREATE TABLE, its rollback a DROP TABLE) lints clean, each with its reason.
CONFIG_TEMPLATE = """\
# socialdb's settings for this project (docs/runner.md, "Configuration").
# A SOCIALDB_<KEY> environment variable overrides a key here, and a command's flag overrides both.
migrations_dir = "{migrations_dir}"
# history_table = "migrations"     # the runner's history table
# history_schema = "public"        # default: the first schema of the search_path
# lock_mode = "advisory"           # or "table" (a lease row), behind PgBouncer's transaction pooling
# lock_timeout = "1s"              # each statement's wait for its locks, then retried
# lock_retries = 10
# lock_wait = "60s"                # how long to wait for another run's migration lock
# statement_timeout = "off"
# lint_waivers = "{migrations_dir}/lint-waivers.toml"
"""
WAIVERS_TEMPLATE = """\
# `socialdb lint` waivers: one rule each, with its reason (docs/runner.md, "Lint").

[[waiver]]
rule = "require-statement-timeout"
reason = "statement_timeout is the runner's, per run or per file; off by default: index builds on big tables run long"

[[waiver]]
rule = "ban-drop-table"
part = "down"
reason = "a rollback drops the tables its own up part created"

[[waiver]]
rule = "ban-drop-column"
part = "down"
reason = "a rollback drops the columns its own up part added"
"""


def init(root: Path, migrations_dir: str = "migrations") -> list[Path]:
    """Make a project's socialdb.toml, its migrations folder and lint waivers in `root`; returns
    what was written. Refuses, writing nothing, when the project is configured already."""
    config, pyproject = root / CONFIG_FILE, root / PYPROJECT
    if config.exists() or (pyproject.is_file() and _has_table(pyproject)):
        raise ConfigError(f"{config if config.exists() else pyproject} configures socialdb already: nothing written")
    folder = root / migrations_dir
    if folder.resolve() == platform_directory().resolve():
        raise ConfigError(f"{folder} is the platform's own migrations folder: give your project's")
    waivers = folder / "lint-waivers.toml"
    if waivers.exists():
        raise ConfigError(f"{waivers} exists already: nothing written")
    folder.mkdir(parents=True, exist_ok=True)
    waivers.write_text(WAIVERS_TEMPLATE, encoding="utf-8")
    config.write_text(CONFIG_TEMPLATE.format(migrations_dir=migrations_dir), encoding="utf-8")
    return [config, folder, waivers]
