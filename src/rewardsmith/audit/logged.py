"""`LoggedScores`: a run's rows read back from the run log, with what the audits need.

Rows come in input order (the newest write of each position wins after a resume), with each
row's reward, status and components, and, when the run's input file is still readable, the
completions' lengths and the rows' ``step`` field, and the judge calls, tokens and cost of the
run (each real request once: see `rewardsmith.models.judge.budget.usage_totals`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardsmith.core.errors import InputError
from rewardsmith.core.sample import Sample, SampleError

__all__ = ["LoggedScores", "load_run", "run_usage"]


@dataclass
class LoggedScores:
    """A run's rows in input order, with what the monitors need."""

    ids: list[str]
    rewards: list[float | None]
    statuses: list[str]
    components: list[dict[str, float]]
    lengths: list[int] | None
    steps: list[Any]
    term_rewards: dict[str, str]
    """term name -> reward name, from the manifest."""
    weights: dict[str, float]
    judge_usage: dict[str, Any] | None = None
    """Judge calls, failed calls, tokens and cost of the run; None when no term called one."""


def run_usage(log: Any, run: Any) -> dict[str, Any] | None:
    """The judge calls, tokens and cost logged in a run, each real request counted once.

    Every write of a row counts (a resumed run's rows were paid for), but a copied score (the
    engine's cache) carries the same usage id and is skipped.
    """
    from rewardsmith.models.judge.budget import usage_totals

    connection = log.connect(run)
    infos = connection.execute(
        "SELECT info FROM scores WHERE info LIKE '%\"usage\"%' ORDER BY row_index"
    ).fetchall()
    return usage_totals(json.loads(info) for (info,) in infos)


def load_run(log: Any, run: Any, input_path: str | Path | None = None) -> LoggedScores:
    """Read a run's rows (the newest write of each position) and, when the input file is
    readable, the completions' lengths and steps."""
    connection = log.connect(run)
    fetched = connection.execute(
        "SELECT row_index, id, reward, status, map_entries(components) FROM scores "
        "QUALIFY row_number() OVER (PARTITION BY row_index ORDER BY scored_at DESC) = 1 ORDER BY row_index"
    ).fetchall()
    if not fetched:
        raise InputError(f"run {run.id} has no logged rows")
    manifest = run.manifest
    spec = manifest.get("spec", {})
    weights = {term["name"]: float(term.get("weight", 1.0)) for term in spec.get("terms", [])}
    weights.update({e["name"]: float(e.get("weight", 1.0)) for e in spec.get("ensembles", [])})
    term_rewards = {
        name: str(info.get("name", "")) for name, info in manifest.get("rewards", {}).items()
    }
    path = input_path or manifest.get("input")
    lengths: list[int] | None = None
    steps: list[Any] = [None] * len(fetched)
    if path and Path(path).is_file():
        from rewardsmith.io.readers import read_rows

        source = read_rows(path)
        lengths = []
        for position, (index, *_rest) in enumerate(fetched):
            row = source[index] if index < len(source) else None
            lengths.append(_length(row))
            if isinstance(row, dict):
                steps[position] = row.get("step")
    return LoggedScores(
        ids=[row[1] for row in fetched],
        rewards=[row[2] for row in fetched],
        statuses=[row[3] for row in fetched],
        components=[{e["key"]: e["value"] for e in row[4] or []} for row in fetched],
        lengths=lengths,
        steps=steps,
        term_rewards=term_rewards,
        weights=weights,
        judge_usage=run_usage(log, run),
    )


def _length(row: Any) -> int:
    if not isinstance(row, dict):
        return 0
    try:
        return len(Sample.from_row(row, 0).completion_text)
    except SampleError:
        return 0
