"""The summary of a scored run, as `score` ends and `show` reads it: a table of reward
statistics, status counts and judge usage, then sandbox warnings and where things went."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from rewardsmith.cli.common import console, errors

__all__ = ["print_ray_recovery", "print_summary", "run_usage"]


def run_usage(log_dir: Path | None, run_id: str | None) -> dict[str, Any] | None:
    """Judge calls, tokens and cost logged in a run (each real request once), or None."""
    if run_id is None:
        return None
    from rewardsmith.audit.logged import run_usage as logged_usage
    from rewardsmith.io.runlog import RunLog

    log = RunLog(log_dir)
    return logged_usage(log, log.open(run_id))


def print_summary(summary: dict[str, Any], usage: dict[str, Any] | None = None) -> None:
    mean = summary.get("mean_reward")
    table = Table(title=f"{summary['rows']} rows, {summary['scored']} with a reward")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("mean reward", "-" if mean is None else f"{mean:.4f}")
    for name, value in sorted(summary["component_means"].items()):
        table.add_row(f"  mean {name}", f"{value:.4f}")
    for status, count in summary["status_counts"].items():
        if count or status == "ok":
            table.add_row(f"status {status}", str(count))
    if usage is not None:
        table.add_row("judge calls (failed)", f"{usage['calls']} ({usage['failed_calls']})")
        table.add_row("judge cache hits", str(usage["cached_calls"]))
        table.add_row(
            "judge tokens in / out", f"{usage['prompt_tokens']} / {usage['completion_tokens']}"
        )
        table.add_row("judge cost (USD)", f"{usage['cost_usd']:.6f}")
    console.print(table)
    _print_sandbox(summary.get("sandbox"))
    for key in ("output", "run_id", "resumed_rows", "rescored_changed_rows"):
        if summary.get(key) is not None:
            console.print(f"{key.replace('_', ' ')}: {summary[key]}", highlight=False)


def _print_sandbox(sandbox: dict[str, Any] | None) -> None:
    """Say when programs ran with less than full isolation, and why rows were refused (once:
    the reason names the fix)."""
    if not sandbox:
        return
    weak = sandbox.get("levels", {}).get("trusted-code-only")
    if weak:
        unmet = ", ".join(sandbox.get("unmet") or []) or "none on this machine"
        errors.print(
            f"[bold yellow]warning:[/] {weak} rows ran programs at sandbox level "
            f"'trusted-code-only' (for code you trust, never a policy's output); unmet "
            f"requirements: {escape(unmet)}",
            highlight=False,
            soft_wrap=True,
        )
    if sandbox.get("refused"):
        errors.print(
            f"[bold yellow]sandbox refused rows:[/] {escape(str(sandbox['refused']))}",
            highlight=False,
            soft_wrap=True,
        )


def print_ray_recovery(recovery: Any) -> None:
    """Say what the Ray backend did about actors that died (`RayRecovery`), if any did: how
    many rows were scored again on new actors, and how many killed every actor they met."""
    if recovery is None or not recovery.actor_deaths:
        return
    line = (
        f"[bold yellow]ray:[/] {recovery.actor_deaths} reward actor(s) died; "
        f"{recovery.rescored_rows} row(s) sent again to new actors"
    )
    if recovery.failed_rows:
        line += f"; {recovery.failed_rows} row(s) killed every actor they were tried on (error)"
    if recovery.reasons:
        line += f"; first: {escape(recovery.reasons[0])}"
    errors.print(line, highlight=False, soft_wrap=True)
