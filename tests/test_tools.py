"""The probes behind docs/performance.md's figures live outside the package (tools/probes):
not installed, but kept importable, so that a refactor of the package cannot leave one broken."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

PROBES = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "tools" / "probes").glob("probe_*.py"))


def test_there_are_probes() -> None:
    assert len(PROBES) >= 10


@pytest.mark.parametrize("name", PROBES)
def test_each_probe_imports(name: str) -> None:
    module = importlib.import_module(f"tools.probes.{name}")
    assert module.__doc__ and "uv run python -m tools.probes." in module.__doc__
