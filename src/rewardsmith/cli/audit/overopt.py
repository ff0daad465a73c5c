"""``rewardsmith audit overopt``: fit over-optimization curves and say where proxy and gold part."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rewardsmith.cli.audit.options import (
    JsonOpt,
    console,
    fail,
    num,
    read_rows_or_fail,
    write_json,
)
from rewardsmith.core.errors import InputError

__all__ = ["overopt_command"]


def overopt_command(
    points: Annotated[Path, typer.Argument(help="JSONL of {n or kl, proxy, gold} points.")],
    method: Annotated[
        str | None, typer.Option(help="bon or rl (default: from the points).")
    ] = None,
    tolerance: Annotated[
        float, typer.Option(help="Relative-slope gap that counts as divergence.")
    ] = 0.5,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the intervals.")] = 1000,
    json_out: JsonOpt = None,
) -> None:
    """Fit Gao et al.'s over-optimization curves; report the gold peak and the divergence point."""
    from rewardsmith.audit.overopt import Method, fit_overoptimization

    if method is not None and method not in ("bon", "rl"):
        fail(f"--method must be bon or rl, not {method!r}")
    chosen: Method | None = method  # type: ignore[assignment]  # checked just above
    try:
        fit = fit_overoptimization(
            read_rows_or_fail(points), method=chosen, tolerance=tolerance, bootstrap=bootstrap
        )
    except (InputError, ValueError) as exc:
        fail(str(exc))
    table = Table("", "alpha", "beta", "c", "R²")
    for name, curve in (("proxy", fit.proxy), ("gold", fit.gold)):
        table.add_row(name, num(curve.alpha), num(curve.beta), num(curve.c), num(curve.r2))
    console.print(table)
    interval = fit.intervals.get("gold_peak_kl")
    console.print(
        f"gold peaks at KL {num(fit.gold_peak_kl)}"
        + (f" (95% CI {interval[0]:.4g} .. {interval[1]:.4g})" if interval else "")
        + f", gold there {num(fit.gold_peak_value)}; proxy and gold diverge at KL {num(fit.divergence_kl)}",
        highlight=False,
    )
    write_json(json_out, asdict(fit))
