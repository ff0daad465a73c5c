"""Hacking monitors over a run log: the signs that a policy is learning the grader, not the task.

Rows are read from the run log in input order and cut into *steps*: the input rows' ``step``
field when they have one (a trainer's log), else ``windows`` equal slices by position. Checks,
each a warning with example rows when its threshold is crossed (`MonitorConfig`):

- **component dominance**: one term's share of the reward variance,
  ``w_i · cov(c_i, R) / var(R)`` (the shares of a weighted sum add up to 1);
- **length correlation**: Pearson correlation of reward with completion length (needs the
  run's input file for the completions);
- **format-only pass rate**: rows where every format term passes and every correctness term
  fails: paid for the wrapper, not the answer;
- **judge-vs-verifier disagreement**: a judge term and a verifier term that disagree at 0.5;
- **rising failure rates**: the error and timeout rate of a later step exceeds the limit and
  the first step's rate;
- **reward drift**: the Kolmogorov-Smirnov statistic between consecutive steps' rewards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardsmith.audit.logged import LoggedScores, load_run
from rewardsmith.audit.stats import ks_statistic, pearson
from rewardsmith.core.errors import InputError

__all__ = [
    "MonitorConfig",
    "MonitorReport",
    "MonitorWarning",
    "config_from_json",
    "monitor_rows",
    "monitor_run",
]

_FORMAT_REWARDS = ("format.", "json_schema")
_SHAPE_REWARDS = ("length", "repetition")
_JUDGE_PREFIXES = ("judge", "models.judge", "rubric")


@dataclass(frozen=True)
class MonitorConfig:
    """Thresholds of the hacking monitors; every check warns above its limit."""

    dominance_max: float = 0.8
    """Largest share of reward variance one component may explain."""
    length_corr_max: float = 0.3
    """Largest Pearson correlation of reward with completion length."""
    format_only_max: float = 0.3
    """Largest fraction of rows (in any step) that pass format and fail correctness."""
    disagreement_max: float = 0.2
    """Largest judge-vs-verifier disagreement rate."""
    failure_rate_max: float = 0.05
    """Largest error + timeout rate of a step."""
    drift_max: float = 0.3
    """Largest KS statistic between consecutive steps' rewards."""
    windows: int = 10
    """Steps to cut a run into when its rows have no ``step`` field."""
    step_field: str = "step"
    """Input field holding the training step."""
    judge_term: str | None = None
    """Term of the judge (default: a term whose reward name starts with judge/rubric)."""
    verifier_term: str | None = None
    """Term of the verifier compared with the judge (default: the first other correctness term)."""
    examples: int = 5
    """Example rows per warning."""


@dataclass
class MonitorWarning:
    """A crossed threshold: which check, what was measured, and rows that show it."""

    check: str
    message: str
    value: float
    limit: float
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class MonitorReport:
    """Per-check measurements, per-step series for plots, and the warnings."""

    rows: int
    metrics: dict[str, Any]
    series: dict[str, list[Any]]
    warnings: list[MonitorWarning]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "metrics": self.metrics,
            "series": self.series,
            "warnings": [w.__dict__ for w in self.warnings],
        }


def monitor_run(
    log: Any, run: Any, config: MonitorConfig | None = None, input_path: str | Path | None = None
) -> MonitorReport:
    """Run every monitor over one logged run."""
    return monitor_rows(load_run(log, run, input_path), config or MonitorConfig())


def _step_slices(data: LoggedScores, config: MonitorConfig) -> tuple[list[Any], list[list[int]]]:
    if any(step is not None for step in data.steps):
        order: dict[Any, list[int]] = {}
        for index, step in enumerate(data.steps):
            order.setdefault(step, []).append(index)
        labels = sorted(
            order, key=lambda s: (s is None, s if isinstance(s, int | float) else str(s))
        )
        return labels, [order[label] for label in labels]
    n = len(data.ids)
    windows = max(1, min(config.windows, n))
    bounds = [round(k * n / windows) for k in range(windows + 1)]
    return list(range(windows)), [list(range(bounds[k], bounds[k + 1])) for k in range(windows)]


def monitor_rows(data: LoggedScores, config: MonitorConfig) -> MonitorReport:
    """The monitors over rows already loaded (see `load_run`)."""
    warnings: list[MonitorWarning] = []
    metrics: dict[str, Any] = {}
    labels, slices = _step_slices(data, config)
    series: dict[str, list[Any]] = {"step": labels}
    _dominance(data, config, metrics, warnings)
    _length_correlation(data, config, metrics, warnings)
    _format_only(data, config, slices, metrics, series, warnings)
    _disagreement(data, config, metrics, warnings)
    _failures(data, config, slices, metrics, series, warnings)
    _drift(data, config, slices, labels, metrics, series, warnings)
    series["mean_reward"] = [_mean([data.rewards[i] for i in s]) for s in slices]
    names = sorted({name for components in data.components for name in components})
    series["component_means"] = [
        {name: _mean([data.components[i].get(name) for i in s]) for name in names} for s in slices
    ]
    if data.lengths is not None:
        lengths = data.lengths
        # A length hack shows first as completions growing step after step.
        series["mean_length"] = [_mean([float(lengths[i]) for i in s]) for s in slices]
    return MonitorReport(len(data.ids), metrics, series, warnings)


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def _example(data: LoggedScores, index: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": data.ids[index],
        "reward": data.rewards[index],
        "status": data.statuses[index],
    }
    out["components"] = data.components[index]
    if data.lengths is not None:
        out["length"] = data.lengths[index]
    return out


def _dominance(
    data: LoggedScores,
    config: MonitorConfig,
    metrics: dict[str, Any],
    warnings: list[MonitorWarning],
) -> None:
    names = sorted({name for c in data.components for name in c})
    rows = [
        i
        for i, r in enumerate(data.rewards)
        if r is not None and all(n in data.components[i] for n in names)
    ]
    if len(names) < 2 or len(rows) < 2:
        return
    rewards = [r for i in rows if (r := data.rewards[i]) is not None]
    mean_r = sum(rewards) / len(rewards)
    var_r = sum((r - mean_r) ** 2 for r in rewards) / len(rows)
    if var_r == 0:
        return
    shares = {}
    for name in names:
        values = [data.components[i][name] for i in rows]
        mean_c = sum(values) / len(values)
        products = [(v - mean_c) * (r - mean_r) for v, r in zip(values, rewards, strict=True)]
        cov = sum(products) / len(rows)
        shares[name] = data.weights.get(name, 1.0) * cov / var_r
    metrics["variance_share"] = shares
    top = max(shares, key=lambda n: shares[n])
    if shares[top] > config.dominance_max:
        spread = sorted(rows, key=lambda i: -abs(data.components[i][top]))[: config.examples]
        warnings.append(
            MonitorWarning(
                "component dominance",
                f"term {top!r} explains {shares[top]:.0%} of the reward variance; the other terms barely move the reward",
                shares[top],
                config.dominance_max,
                [_example(data, i) for i in spread],
            )
        )


def _length_correlation(
    data: LoggedScores,
    config: MonitorConfig,
    metrics: dict[str, Any],
    warnings: list[MonitorWarning],
) -> None:
    lengths = data.lengths
    if lengths is None:
        metrics["length_correlation"] = None
        return
    rows = [i for i, r in enumerate(data.rewards) if r is not None]
    rewards = [r for i in rows if (r := data.rewards[i]) is not None]
    corr = pearson([float(lengths[i]) for i in rows], rewards)
    metrics["length_correlation"] = corr
    if corr is not None and corr > config.length_corr_max:
        top = sorted(rows, key=lambda i: (-(data.rewards[i] or 0.0), -lengths[i]))
        warnings.append(
            MonitorWarning(
                "length correlation",
                f"reward correlates with completion length (Pearson {corr:.2f}): longer answers are paid more",
                corr,
                config.length_corr_max,
                [_example(data, i) for i in top[: config.examples]],
            )
        )


def _roles(data: LoggedScores) -> tuple[list[str], list[str]]:
    formats = [t for t, r in data.term_rewards.items() if r.startswith(_FORMAT_REWARDS)]
    correct = [
        t
        for t, r in data.term_rewards.items()
        if t not in formats and not r.startswith(_SHAPE_REWARDS)
    ]
    return formats, correct


def _format_only(
    data: LoggedScores,
    config: MonitorConfig,
    slices: list[list[int]],
    metrics: dict[str, Any],
    series: dict[str, list[Any]],
    warnings: list[MonitorWarning],
) -> None:
    formats, correct = _roles(data)
    if not formats or not correct:
        metrics["format_only_rate"] = None
        return

    def format_only(i: int) -> bool:
        c = data.components[i]
        return all(c.get(t, 0.0) > 0 for t in formats) and all(
            c.get(t, 0.0) <= 0 for t in correct if t in c
        )

    flags = [format_only(i) for i in range(len(data.ids))]
    rates = [sum(flags[i] for i in s) / len(s) if s else 0.0 for s in slices]
    metrics["format_only_rate"] = sum(flags) / len(flags)
    series["format_only_rate"] = rates
    worst = max(range(len(rates)), key=lambda k: rates[k])
    if rates[worst] > config.format_only_max:
        rows = [i for i in slices[worst] if flags[i]][: config.examples]
        warnings.append(
            MonitorWarning(
                "format-only passes",
                f"{rates[worst]:.0%} of rows in step {series['step'][worst]!r} pass {formats} but fail {correct}",
                rates[worst],
                config.format_only_max,
                [_example(data, i) for i in rows],
            )
        )


def _disagreement(
    data: LoggedScores,
    config: MonitorConfig,
    metrics: dict[str, Any],
    warnings: list[MonitorWarning],
) -> None:
    judge = config.judge_term or next(
        (t for t, r in data.term_rewards.items() if r.startswith(_JUDGE_PREFIXES)), None
    )
    _, correct = _roles(data)
    verifier = config.verifier_term or next((t for t in correct if t != judge), None)
    if judge is None or verifier is None:
        metrics["judge_verifier_disagreement"] = None
        return
    both = [i for i, c in enumerate(data.components) if judge in c and verifier in c]
    if not both:
        metrics["judge_verifier_disagreement"] = None
        return
    differ = [
        i
        for i in both
        if (data.components[i][judge] >= 0.5) != (data.components[i][verifier] >= 0.5)
    ]
    rate = len(differ) / len(both)
    metrics["judge_verifier_disagreement"] = {"judge": judge, "verifier": verifier, "rate": rate}
    if rate > config.disagreement_max:
        warnings.append(
            MonitorWarning(
                "judge-vs-verifier disagreement",
                f"judge {judge!r} and verifier {verifier!r} disagree on {rate:.0%} of rows",
                rate,
                config.disagreement_max,
                [_example(data, i) for i in differ[: config.examples]],
            )
        )


def _failures(
    data: LoggedScores,
    config: MonitorConfig,
    slices: list[list[int]],
    metrics: dict[str, Any],
    series: dict[str, list[Any]],
    warnings: list[MonitorWarning],
) -> None:
    failed = [status in ("error", "timeout") for status in data.statuses]
    rates = [sum(failed[i] for i in s) / len(s) if s else 0.0 for s in slices]
    series["failure_rate"] = rates
    counts: dict[str, list[int]] = {}
    for k, s in enumerate(slices):
        for i in s:
            counts.setdefault(data.statuses[i], [0] * len(slices))[k] += 1
    series["status_counts"] = [counts]
    metrics["failure_rate"] = sum(failed) / len(failed)
    for k in range(1, len(rates)):
        if rates[k] > config.failure_rate_max and rates[k] > rates[0]:
            rows = [i for i in slices[k] if failed[i]][: config.examples]
            warnings.append(
                MonitorWarning(
                    "rising failures",
                    f"error+timeout rate rose from {rates[0]:.1%} (step {series['step'][0]!r}) to {rates[k]:.1%} "
                    f"(step {series['step'][k]!r})",
                    rates[k],
                    config.failure_rate_max,
                    [_example(data, i) for i in rows],
                )
            )
            break


def _drift(
    data: LoggedScores,
    config: MonitorConfig,
    slices: list[list[int]],
    labels: list[Any],
    metrics: dict[str, Any],
    series: dict[str, list[Any]],
    warnings: list[MonitorWarning],
) -> None:
    drift: list[float | None] = [None]
    for k in range(1, len(slices)):
        before = [data.rewards[i] for i in slices[k - 1] if data.rewards[i] is not None]
        after = [data.rewards[i] for i in slices[k] if data.rewards[i] is not None]
        drift.append(ks_statistic(before, after) if before and after else None)  # type: ignore[arg-type]
    series["drift"] = drift
    known = [(d, k) for k, d in enumerate(drift) if d is not None]
    metrics["max_drift"] = max(known)[0] if known else None
    if known and max(known)[0] > config.drift_max:
        value, k = max(known)
        warnings.append(
            MonitorWarning(
                "reward drift",
                f"the reward distribution shifted between steps {labels[k - 1]!r} and {labels[k]!r} (KS {value:.2f})",
                value,
                config.drift_max,
                [_example(data, i) for i in slices[k][: config.examples]],
            )
        )


def config_from_json(text: str) -> MonitorConfig:
    """A `MonitorConfig` from a JSON object of its fields; unknown keys are an error."""
    values = json.loads(text)
    known = set(MonitorConfig.__dataclass_fields__)
    unknown = set(values) - known
    if unknown:
        raise InputError(f"unknown monitor settings {sorted(unknown)}; known: {sorted(known)}")
    return MonitorConfig(**values)
