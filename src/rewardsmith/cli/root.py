"""The ``rewardsmith`` Typer app: every command registered in the order `--help` lists them,
and `main`, the console-script entry point."""

from __future__ import annotations

import typer

from rewardsmith.cli.audit import audit_app
from rewardsmith.cli.check import check
from rewardsmith.cli.common import errors
from rewardsmith.cli.design import design
from rewardsmith.cli.doctor import doctor
from rewardsmith.cli.report import report
from rewardsmith.cli.rewards import list_command
from rewardsmith.cli.rm import rm_app
from rewardsmith.cli.runs import query, runs, show
from rewardsmith.cli.score import score
from rewardsmith.cli.serve import serve

__all__ = ["app", "main"]

app = typer.Typer(
    help="rewardsmith: define, verify, compose, serve and audit reward signals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Scoring first, then the run log, then the subsystems' commands: `--help` keeps this order.
app.command()(score)
app.command()(serve)
app.command()(check)
app.command("list")(list_command)
app.command()(runs)
app.command()(show)
app.command()(query)
app.command()(doctor)
app.add_typer(rm_app, name="rm")
app.add_typer(audit_app, name="audit")
app.command("report")(report)
app.command("design")(design)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        errors.print("interrupted")
        raise SystemExit(130) from None
