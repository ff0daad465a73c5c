"""Inline SVG charts: histograms, scatter plots and line charts with axes, no libraries.

Each function returns one ``<svg>`` element as text, sized by its viewBox so it scales with
the page. Every value is escaped; nothing is fetched at view time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

__all__ = ["PALETTE", "Series", "histogram", "plot"]

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04")

_W, _H = 560, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 30, 44


@dataclass
class Series:
    """One thing to draw: ``kind`` is ``line``, ``points`` or ``bars`` (x = bar centres)."""

    name: str
    xs: list[float]
    ys: list[float]
    kind: str = "line"
    color: str | None = None
    width: float = 0.0
    """Bar width in x units (bars only)."""
    dashed: bool = False


def _nice_ticks(low: float, high: float, count: int = 5, integer: bool = False) -> list[float]:
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.1e}"
    return f"{value:.4g}"


def plot(
    series: list[Series],
    *,
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    integer_x: bool = False,
) -> str:
    """An SVG chart of one or more series sharing axes, with a legend when there are several.

    Example:
        >>> svg = plot([Series("y", [0, 1, 2], [0, 1, 4])], title="squares")
        >>> svg.startswith("<svg") and "squares" in svg and "<polyline" in svg
        True
    """
    xs = [x for s in series for x in s.xs if math.isfinite(x)]
    ys = [y for s in series for y in s.ys if math.isfinite(y)]
    for s in series:
        if s.kind == "bars":
            xs += [x + sign * s.width / 2 for x in s.xs for sign in (-1, 1)]
            ys.append(0.0)
    x0, x1 = x_range or ((min(xs), max(xs)) if xs else (0.0, 1.0))
    y0, y1 = y_range or ((min(ys), max(ys)) if ys else (0.0, 1.0))
    if x1 <= x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if y1 <= y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pad = (y1 - y0) * 0.05 if y_range is None else 0.0
    y0, y1 = y0 - (pad if y0 != 0 else 0), y1 + pad
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def sx(x: float) -> float:
        return _LEFT + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return _TOP + plot_h - (y - y0) / (y1 - y0) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f'<rect x="0" y="0" width="{_W}" height="{_H}" fill="#ffffff"/>',
        f'<text x="{_W / 2}" y="18" text-anchor="middle" class="title">{escape(title)}</text>',
    ]
    for tick in _nice_ticks(y0, y1):
        y = sy(tick)
        parts.append(
            f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_fmt(tick)}</text>'
        )
    for tick in _nice_ticks(x0, x1, 6, integer_x):
        x = sx(tick)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP + plot_h}" y2="{_TOP + plot_h + 4}" stroke="#6b7280"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{_TOP + plot_h + 16}" text-anchor="middle" class="tick">{_fmt(tick)}</text>'
        )
    parts.append(
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#6b7280"/>'
    )
    parts.append(
        f'<text x="{_LEFT + plot_w / 2}" y="{_H - 8}" text-anchor="middle" class="label">{escape(xlabel)}</text>'
    )
    parts.append(
        f'<text transform="translate(14 {_TOP + plot_h / 2}) rotate(-90)" text-anchor="middle" class="label">{escape(ylabel)}</text>'
    )
    for index, s in enumerate(series):
        color = s.color or PALETTE[index % len(PALETTE)]
        points = [
            (x, y) for x, y in zip(s.xs, s.ys, strict=True) if math.isfinite(x) and math.isfinite(y)
        ]
        if s.kind == "bars":
            for x, y in points:
                left, right = sx(x - s.width / 2), sx(x + s.width / 2)
                top, base = sy(max(y, 0.0)), sy(min(y, 0.0))
                parts.append(
                    f'<rect x="{left:.1f}" y="{top:.1f}" width="{max(0.5, right - left - 1):.1f}" '
                    f'height="{max(0.0, base - top):.1f}" fill="{color}" fill-opacity="0.75"/>'
                )
        elif s.kind == "points":
            for x, y in points:
                parts.append(
                    f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.6" fill="{color}" fill-opacity="0.55"/>'
                )
        else:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
            dash = ' stroke-dasharray="5 4"' if s.dashed else ""
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>'
            )
    if len(series) > 1:
        for index, s in enumerate(series):
            color = s.color or PALETTE[index % len(PALETTE)]
            y = _TOP + 12 + 15 * index
            parts.append(
                f'<rect x="{_LEFT + 8}" y="{y - 8}" width="10" height="10" fill="{color}"/>'
            )
            parts.append(
                f'<text x="{_LEFT + 22}" y="{y + 1}" class="legend">{escape(s.name)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    values: list[float], *, title: str, xlabel: str = "", bins: int = 30, color: str | None = None
) -> str:
    """An SVG histogram (row counts per equal-width bin).

    Example:
        >>> "<rect" in histogram([0.0, 1.0, 1.0], title="rewards", bins=2)
        True
    """
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return plot([], title=f"{title} (no values)", xlabel=xlabel)
    low, high = min(finite), max(finite)
    if high == low:  # one value: one bar centred on it
        low, high, bins = low - 0.5, high + 0.5, 1
    width = (high - low) / bins
    counts = [0] * bins
    for v in finite:
        counts[min(bins - 1, int((v - low) / width))] += 1
    centres = [low + width * (k + 0.5) for k in range(bins)]
    return plot(
        [
            Series(
                "rows", centres, [float(c) for c in counts], kind="bars", width=width, color=color
            )
        ],
        title=title,
        xlabel=xlabel,
        ylabel="rows",
    )
