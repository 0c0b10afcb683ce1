"""The lock planner: what `socialdb migrate plan` and `up --dry-run` show (docs/runner.md, "The plan").

A house of its own beside the runner (socialdb.migrate): both stand on the migration files
(socialdb.scripts) and neither imports the other. Outside this package only the names below are
used, imported from `socialdb.planner`; its modules are its own (pyproject's import contracts).

Each name loads its module on first use: the CLI declares `--fail-on` with `FailOn` at start,
and `socialdb migrate status` must not load the planner's parser rules nor `live`'s database reads.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the type checker; at run time __getattr__ below loads each name
    from socialdb.planner.gates import FailOn as FailOn
    from socialdb.planner.gates import Thresholds as Thresholds
    from socialdb.planner.lock_modes import LockLevel as LockLevel
    from socialdb.planner.lock_modes import Server as Server
    from socialdb.planner.lock_plan import Plan as Plan
    from socialdb.planner.lock_plan import violations as violations
    from socialdb.planner.render import columns as columns
    from socialdb.planner.render import migration_heading as migration_heading
    from socialdb.planner.render import plan_json as plan_json
    from socialdb.planner.render import plan_markdown as plan_markdown
    from socialdb.planner.render import statement_rows as statement_rows
    from socialdb.planner.render import trace_summary as trace_summary
    from socialdb.planner.run_plan import plan as plan
    from socialdb.planner.union import Observed as Observed
    from socialdb.planner.union import with_trace as with_trace

# Each public name and the module that defines it.
_FACE = {
    "FailOn": "gates",
    "Thresholds": "gates",
    "Server": "lock_modes",
    "Plan": "lock_plan",
    "violations": "lock_plan",
    "plan": "run_plan",
    "Observed": "union",
    "with_trace": "union",
    "LockLevel": "lock_modes",
    "plan_json": "render",
    "plan_markdown": "render",
    "columns": "render",
    "migration_heading": "render",
    "statement_rows": "render",
    "trace_summary": "render",
}


def __getattr__(name: str) -> object:
    if name not in _FACE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_FACE[name]}"), name)
