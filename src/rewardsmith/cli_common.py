"""What every `rewardsmith` sub-command shares: the error console, `fail`, common options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["LogDir", "errors", "fail"]

errors = Console(stderr=True)

LogDir = Annotated[
    Path | None,
    typer.Option(
        "--log-dir", help="Run log root (default: $REWARDSMITH_HOME/runs or ./.rewardsmith/runs)."
    ),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``.

    The message is escaped: it often quotes user data (keys, rows) that rich would otherwise
    read as markup, such as ``[bold]``.
    """
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
