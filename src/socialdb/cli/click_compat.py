"""The one door to Click as Typer vendors it (`typer._click`, private: Typer does not re-export these).

The root command group (common.py) overrides Click's methods, whose types are Click's `Context` and
`Command`, and turns Click's usage errors into one line. Every import of `typer._click` is here and
nowhere else; tests/test_click_compat.py names what moved when a Typer upgrade moves one of them.
"""

from __future__ import annotations

from typer._click.core import Command, Context
from typer._click.exceptions import ClickException, NoArgsIsHelpError

__all__ = ["ClickException", "Command", "Context", "NoArgsIsHelpError"]
