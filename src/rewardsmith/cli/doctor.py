"""``rewardsmith doctor``: the sandbox's self-check (`rewardsmith.sandbox.doctor`), line by line."""

from __future__ import annotations

import typer

__all__ = ["doctor"]


def doctor() -> None:
    """Show which sandbox protections are active here, checked by running real programs."""
    from rewardsmith.sandbox.doctor import run_doctor

    raise typer.Exit(run_doctor(emit=typer.echo))
