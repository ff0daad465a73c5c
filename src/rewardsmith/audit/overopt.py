"""Over-optimization fits: where does optimizing the proxy reward stop paying in gold reward?

Gao, Schulman & Hilton (2023), "Scaling Laws for Reward Model Overoptimization", fit gold
reward as a function of ``d = sqrt(KL(π || π_init))``:

- best-of-n: ``R(d) = d (α - β d)``, with ``KL_bon = log n - (n - 1) / n``;
- RL: ``R(d) = d (α - β log d)``.

Both are linear in (α, β), so they are fitted by least squares, with an intercept ``c`` so the
points need not be measured relative to the initial policy. The gold peak is at
``d* = α / 2β`` (best-of-n) or ``d* = exp(α/β - 1)`` (RL). Proxy and gold *diverge* where the
proxy's slope, relative to its own initial slope α, exceeds the gold's relative slope by
``tolerance`` (default 0.5): the proxy still pays for progress that gold no longer credits.
Intervals come from a bootstrap over points.

Example:
    >>> pts = [{"n": n, "proxy": 0.3 * d + 0.01 * d * d, "gold": d * (0.5 - 0.1 * d)}
    ...        for n in (1, 2, 4, 8, 16, 64, 256, 1024, 4096) for d in [bon_distance(n)]]
    >>> fit = fit_overoptimization(pts, bootstrap=0)
    >>> round(fit.gold.alpha, 3), round(fit.gold.beta, 3), round(fit.gold_peak_d, 3)
    (0.5, 0.1, 2.5)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from rewardsmith.audit.scoring import require_numpy
from rewardsmith.core.errors import InputError

__all__ = ["CurveFit", "OveroptFit", "bon_distance", "fit_curve", "fit_overoptimization"]

Method = Literal["bon", "rl"]


def bon_distance(n: int) -> float:
    """``sqrt(KL)`` of best-of-n sampling against the base policy: ``sqrt(log n - (n-1)/n)``."""
    if n < 1:
        raise ValueError(f"best-of-n needs n >= 1, got {n}")
    return math.sqrt(max(0.0, math.log(n) - (n - 1) / n))


@dataclass
class CurveFit:
    """``R(d) = c + d (α - β d)`` (bon) or ``c + d (α - β log d)`` (rl)."""

    method: Method
    alpha: float
    beta: float
    c: float
    r2: float | None

    def __call__(self, d: float) -> float:
        if self.method == "bon":
            return self.c + d * (self.alpha - self.beta * d)
        return self.c + (d * (self.alpha - self.beta * math.log(d)) if d > 0 else 0.0)

    def slope(self, d: float) -> float:
        if self.method == "bon":
            return self.alpha - 2 * self.beta * d
        return self.alpha - self.beta * (math.log(d) + 1) if d > 0 else math.inf

    def peak(self) -> float | None:
        """The d of the maximum, or None when the fitted curve never turns down."""
        if self.beta <= 0:
            return None
        if self.method == "bon":
            return self.alpha / (2 * self.beta)
        exponent = self.alpha / self.beta - 1
        return math.exp(exponent) if exponent < 700 else None


def fit_curve(d: list[float], r: list[float], method: Method) -> CurveFit:
    """Least-squares fit of one Gao et al. curve."""
    np = require_numpy()
    x = np.asarray(d, dtype=float)
    y = np.asarray(r, dtype=float)
    if len(x) < 3:
        raise ValueError(f"a curve fit needs at least 3 points, got {len(x)}")
    second = x * x if method == "bon" else np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)
    design = np.column_stack([np.ones_like(x), x, -second])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - float((residual**2).sum()) / total if total > 0 else None
    return CurveFit(method, float(coef[1]), float(coef[2]), float(coef[0]), r2)


@dataclass
class OveroptFit:
    """Fitted proxy and gold curves, the gold peak and the divergence point, with intervals."""

    method: Method
    points: int
    proxy: CurveFit
    gold: CurveFit
    gold_peak_d: float | None
    gold_peak_kl: float | None
    gold_peak_value: float | None
    divergence_d: float | None
    divergence_kl: float | None
    max_d: float
    intervals: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    """95% bootstrap percentile intervals of gold_peak_d, gold_peak_kl and divergence_d (None
    when too few resamples had a peak or divergence)."""
    data: list[tuple[float, float, float]] = field(default_factory=list)
    """The points as (d, proxy, gold)."""


def _divergence(proxy: CurveFit, gold: CurveFit, max_d: float, tolerance: float) -> float | None:
    if proxy.alpha <= 0 or gold.alpha <= 0:
        return 0.0 if proxy.alpha > 0 >= gold.alpha else None
    steps = 2000
    for k in range(1, steps + 1):
        d = max_d * k / steps
        if proxy.slope(d) / proxy.alpha - gold.slope(d) / gold.alpha >= tolerance:
            return d
    return None


def _read_points(
    points: list[dict[str, Any]],
) -> tuple[list[float], list[float], list[float], Method]:
    d, proxy, gold = [], [], []
    kinds = set()
    for index, point in enumerate(points):
        where = f"point {index}"
        for name in ("proxy", "gold"):
            value = point.get(name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise InputError(f"{where}: field {name!r} must be a finite number, got {value!r}")
        if "n" in point:
            n = point["n"]
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise InputError(f"{where}: field 'n' must be an integer >= 1, got {n!r}")
            d.append(bon_distance(n))
            kinds.add("bon")
        elif "kl" in point:
            kl = point["kl"]
            if isinstance(kl, bool) or not isinstance(kl, int | float) or not kl >= 0:
                raise InputError(f"{where}: field 'kl' must be a number >= 0, got {kl!r}")
            d.append(math.sqrt(kl))
            kinds.add("rl")
        else:
            raise InputError(f"{where}: needs field 'n' (best-of-n) or 'kl' (RL)")
        proxy.append(float(point["proxy"]))
        gold.append(float(point["gold"]))
    if len(kinds) > 1:
        raise InputError("points mix 'n' (best-of-n) and 'kl' (RL); fit them separately")
    return d, proxy, gold, kinds.pop() if kinds else "rl"  # type: ignore[return-value]


def fit_overoptimization(
    points: list[dict[str, Any]],
    *,
    method: Method | None = None,
    tolerance: float = 0.5,
    bootstrap: int = 1000,
    seed: int = 0,
) -> OveroptFit:
    """Fit proxy and gold curves to points ``{"n" or "kl", "proxy", "gold"}``.

    Args:
        points: one per policy (or per n), with the mean proxy and gold reward there.
        method: ``bon`` or ``rl``; default from the points (``n`` means best-of-n).
        tolerance: relative-slope gap that counts as divergence.
        bootstrap: resamples for the intervals (0 for none).
        seed: bootstrap seed.
    """
    d, proxy, gold, detected = _read_points(points)
    method = method or detected
    if len(d) < 3:
        raise InputError(f"an over-optimization fit needs at least 3 points, got {len(d)}")
    max_d = max(d)
    result = _fit_once(d, proxy, gold, method, tolerance, max_d)
    result.data = list(zip(d, proxy, gold, strict=True))
    if bootstrap > 0:
        np = require_numpy()
        rng = np.random.default_rng(seed)
        samples: dict[str, list[float]] = {
            "gold_peak_d": [],
            "gold_peak_kl": [],
            "divergence_d": [],
        }
        for _ in range(bootstrap):
            pick = rng.integers(0, len(d), len(d))
            if len({d[i] for i in pick}) < 3:
                continue
            fit = _fit_once(
                [d[i] for i in pick],
                [proxy[i] for i in pick],
                [gold[i] for i in pick],
                method,
                tolerance,
                max_d,
            )
            if fit.gold_peak_d is not None:
                samples["gold_peak_d"].append(fit.gold_peak_d)
                samples["gold_peak_kl"].append(fit.gold_peak_d**2)
            if fit.divergence_d is not None:
                samples["divergence_d"].append(fit.divergence_d)
        for name, values in samples.items():
            enough = len(values) >= bootstrap // 2
            result.intervals[name] = (
                (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
                if enough
                else None
            )
    return result


def _fit_once(
    d: list[float],
    proxy: list[float],
    gold: list[float],
    method: Method,
    tolerance: float,
    max_d: float,
) -> OveroptFit:
    proxy_fit = fit_curve(d, proxy, method)
    gold_fit = fit_curve(d, gold, method)
    peak = gold_fit.peak()
    divergence = _divergence(proxy_fit, gold_fit, max_d, tolerance)
    return OveroptFit(
        method=method,
        points=len(d),
        proxy=proxy_fit,
        gold=gold_fit,
        gold_peak_d=peak,
        gold_peak_kl=None if peak is None else peak * peak,
        gold_peak_value=None if peak is None else gold_fit(peak),
        divergence_d=divergence,
        divergence_kl=None if divergence is None else divergence * divergence,
        max_d=max_d,
    )
