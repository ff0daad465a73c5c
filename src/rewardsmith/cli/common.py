"""What every `rewardsmith` command shares: the two consoles, `fail`, the common options and
the one-spec loader of the top-level commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from rewardsmith.core.errors import SpecError
from rewardsmith.core.spec import Spec, load_spec

__all__ = [
    "LogDir",
    "MemoryOpt",
    "RewardOpt",
    "SpecOpt",
    "WorkersOpt",
    "console",
    "errors",
    "fail",
    "load_one_spec",
]

console = Console()
errors = Console(stderr=True)

LogDir = Annotated[
    Path | None,
    typer.Option(
        "--log-dir", help="Run log root (default: $REWARDSMITH_HOME/runs or ./.rewardsmith/runs)."
    ),
]
RewardOpt = Annotated[str | None, typer.Option("--reward", "-r", help="A registered reward name.")]
SpecOpt = Annotated[str | None, typer.Option("--spec", "-s", help="A TOML spec file.")]
WorkersOpt = Annotated[int | None, typer.Option(help="Worker processes for cpu rewards.")]
MemoryOpt = Annotated[
    int | None,
    typer.Option(
        "--memory-mb",
        help="Resident memory (MiB) a worker may hold while it scores a row; past it the row "
        "is 'error' (memory limit) \\[default: the spec's limits.worker_memory_mb, else 4096; "
        "0: no limit].",
    ),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``.

    The message is escaped: it often quotes user data (keys, rows) that rich would otherwise
    read as markup, such as ``[bold]``.
    """
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load_one_spec(spec: str | None, reward: str | None) -> Spec:
    """The spec of ``--spec FILE`` or ``--reward NAME``; exactly one must be given."""
    if (spec is None) == (reward is None):
        fail("give exactly one of --spec SPEC.toml or --reward NAME")
    try:
        return load_spec(spec if spec is not None else reward)
    except SpecError as exc:
        fail(str(exc))
