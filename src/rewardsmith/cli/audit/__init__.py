"""``rewardsmith audit ...``: the audit command group, one module per command.

Every command prints a summary table and, with ``--json PATH``, writes every number it
computed; the numbers come from `rewardsmith.audit`. The benchmark commands (rm, qa, compare,
probes) come first, then the run and reward-geometry ones (monitor, distance, overopt).
"""

from __future__ import annotations

import typer

from rewardsmith.cli.audit.compare import compare_command
from rewardsmith.cli.audit.distance import distance_command
from rewardsmith.cli.audit.monitor import monitor_command
from rewardsmith.cli.audit.overopt import overopt_command
from rewardsmith.cli.audit.probes import probes_command
from rewardsmith.cli.audit.qa import qa_command
from rewardsmith.cli.audit.rm import rm_command

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="Measure rewards: reward-model benchmarks, verifier QA, probes, monitors, distances.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
audit_app.command("rm")(rm_command)
audit_app.command("qa")(qa_command)
audit_app.command("compare")(compare_command)
audit_app.command("probes")(probes_command)
audit_app.command("monitor")(monitor_command)
audit_app.command("distance")(distance_command)
audit_app.command("overopt")(overopt_command)
