"""Migration safety lint with Squawk (PyPI `squawk-cli`): the rules are Squawk's, not ours.

Each part of a migration (up, and down: a rollback is a migration too) is linted on
its own, with Squawk's transaction assumption matching the file's `transaction`
directive, PostgreSQL 15 (the oldest we support), and the `SET lock_timeout` the
runner really issues before it. Waivers live in `lint-waivers.toml` beside the
migrations: per rule, optionally per file and part, each with a one-line reason.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from socialdb.errors import LintError
from socialdb.migrate import superuser_lint
from socialdb.scripts.files import Migration, load_migrations, lock_timeout_of, parse_migration
from socialdb.scripts.options import RunOptions

PG_VERSION = "15"
WAIVERS_FILE = "lint-waivers.toml"
_WAIVER_KEYS = {"rule", "reason", "files", "part"}


@dataclass(frozen=True)
class Waiver:
    rule: str
    reason: str
    files: tuple[str, ...] | None = None  # None: every file
    part: str | None = None  # "up", "down" or None for both

    def covers(self, finding: Finding) -> bool:
        return (
            self.rule == finding.rule
            and (self.files is None or finding.file in self.files)
            and (self.part is None or self.part == finding.part)
        )


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    part: str
    rule: str
    message: str
    help: str | None
    waived_by: str | None = None  # the waiver's reason


def squawk_binary() -> str:
    """The squawk executable: on PATH, or beside this Python (a virtualenv's bin)."""
    beside = Path(sys.executable).parent / "squawk"
    found = shutil.which("squawk") or (str(beside) if beside.exists() else None)
    if found is None:
        raise LintError("squawk not found: install it with `pip install squawk-cli` (or `socialdb[lint]`)")
    return found


def load_waivers(path: Path) -> list[Waiver]:
    """Read and validate a waiver file; a missing file means no waivers."""
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise LintError(f"{path}: {exc}") from None
    entries = data.pop("waiver", [])
    if data:
        raise LintError(f"{path}: unknown keys {sorted(data)}; expected only [[waiver]] tables")
    return [_waiver(path, number, entry) for number, entry in enumerate(entries, start=1)]


def _waiver(path: Path, number: int, entry: dict[str, object]) -> Waiver:
    where = f"{path}: waiver {number}"
    unknown = set(entry) - _WAIVER_KEYS
    if unknown:
        raise LintError(f"{where}: unknown keys {sorted(unknown)}")
    rule, reason = entry.get("rule"), entry.get("reason")
    if not isinstance(rule, str) or not rule or "*" in rule:
        raise LintError(f"{where}: needs one rule by name (no blanket waivers)")
    if not isinstance(reason, str) or not reason.strip() or "\n" in reason.strip():
        raise LintError(f"{where}: needs a one-line reason")
    files = entry.get("files")
    if files is not None and (not isinstance(files, list) or not all(isinstance(f, str) for f in files)):
        raise LintError(f"{where}: files must be a list of file names")
    part = entry.get("part")
    if part not in (None, "up", "down"):
        raise LintError(f"{where}: part must be up or down")
    return Waiver(rule, reason.strip(), tuple(files) if files is not None else None, part)


def lint_paths(paths: list[Path], config: Path | None = None, squawk: str | None = None) -> list[Finding]:
    """Lint every migration in `paths` (files or folders of migrations)."""
    binary = squawk or squawk_binary()
    findings: list[Finding] = []
    for path in paths:
        migrations = load_migrations(path) if path.is_dir() else [_read(path)]
        waivers = load_waivers(config or (path if path.is_dir() else path.parent) / WAIVERS_FILE)
        for migration in migrations:
            findings += [_apply(f, waivers) for f in lint_migration(migration, binary)]
    return findings


def lint_migration(migration: Migration, squawk: str) -> list[Finding]:
    parts = [("up", migration.up, migration.up_line)]
    if migration.down is not None and migration.down.strip():
        parts.append(("down", migration.down, migration.down_line or 1))
    findings: list[Finding] = []
    for part, text, first_line in parts:
        findings += _squawk(migration, part, text, first_line, squawk)
    findings += _needs_superuser(migration)
    return findings


def _needs_superuser(migration: Migration) -> list[Finding]:
    """socialdb's own rule: what a managed server, with no superuser, refuses (superuser_lint.py)."""
    parts = [("up", migration.up_statements), ("down", migration.down_statements or ())]
    return [
        Finding(migration.filename, line, part, superuser_lint.RULE, message, "docs/deploying.md")
        for part, statements in parts
        for line, message in superuser_lint.findings(statements)
    ]


def _read(path: Path) -> Migration:
    if not path.exists():
        raise LintError(f"{path}: no such file")
    return parse_migration(path.name, path.read_text(encoding="utf-8"))


def _squawk(migration: Migration, part: str, text: str, first_line: int, squawk: str) -> list[Finding]:
    # The runner's own settings go on the part's first line, so line numbers stay true.
    lock_ms = lock_timeout_of(migration, RunOptions())
    prefix = f"SET lock_timeout = '{lock_ms}ms'; " if lock_ms else ""
    statement_ms = migration.directives.statement_timeout_ms
    if statement_ms:
        prefix += f"SET statement_timeout = '{statement_ms}ms'; "
    command = [squawk, "--reporter", "json", "--pg-version", PG_VERSION, "--stdin-filepath", migration.filename]
    if migration.directives.transaction:
        command.append("--assume-in-transaction")
    env = {**os.environ, "SQUAWK_DISABLE_UPLOAD": "1"}
    result = subprocess.run(command, input=prefix + text, capture_output=True, text=True, env=env, check=False)
    try:
        raw = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise LintError(f"{migration.filename}: squawk failed: {detail[0] if detail else result.returncode}") from None
    return [
        Finding(
            migration.filename, first_line + int(item["line"]), part, item["rule_name"], item["message"], item["help"]
        )
        for item in raw
    ]


def _apply(finding: Finding, waivers: list[Waiver]) -> Finding:
    for waiver in waivers:
        if waiver.covers(finding):
            return dataclasses.replace(finding, waived_by=waiver.reason)
    return finding
