"""`build_report`: one self-contained HTML file about a run, to look at rather than read.

Everything is inline (CSS and SVG; no script, font or image is fetched), so the file opens
offline, survives being mailed, and renders the same in any browser.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from rewardsmith.audit.logged import LoggedScores, load_run
from rewardsmith.audit.monitor import MonitorConfig, MonitorReport, monitor_rows
from rewardsmith.audit.overopt import OveroptFit
from rewardsmith.audit.report.svg import Series, histogram, plot

__all__ = ["build_report", "write_report"]

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f8fafc;color:#111827}
header{background:#1e293b;color:#f8fafc;padding:18px 28px}
header h1{margin:0 0 4px 0;font-size:22px} header p{margin:0;color:#cbd5e1;font-size:13px}
main{padding:12px 28px 40px 28px;max-width:1240px}
h2{font-size:17px;margin:26px 0 8px 0;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:14px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:8px}
.chart{width:100%;height:auto;display:block}
.chart .title{font-size:13px;font-weight:600;fill:#111827}
.chart .tick{font-size:10px;fill:#4b5563} .chart .label{font-size:11px;fill:#374151}
.chart .legend{font-size:11px;fill:#111827}
table{border-collapse:collapse;font-size:13px;background:#fff}
td,th{border:1px solid #e2e8f0;padding:4px 8px;text-align:left} th{background:#f1f5f9}
.warn{background:#fef2f2;border-left:4px solid #dc2626;padding:8px 12px;margin:8px 0;border-radius:4px}
.ok{background:#f0fdf4;border-left:4px solid #16a34a;padding:8px 12px;margin:8px 0;border-radius:4px}
.num{font-variant-numeric:tabular-nums}
code{font-size:12px}
"""


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td class='num'>{escape(_cell(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _card(svg: str) -> str:
    return f"<div class='card'>{svg}</div>"


def build_report(
    data: LoggedScores,
    *,
    title: str,
    subtitle: str = "",
    monitor: MonitorReport | None = None,
    rm: dict[str, Any] | None = None,
    overopt: OveroptFit | None = None,
) -> str:
    """The report's HTML text from a loaded run and, optionally, RM and over-optimization results."""
    monitor = monitor or monitor_rows(data, MonitorConfig())
    rewards = [r for r in data.rewards if r is not None]
    statuses: dict[str, int] = {}
    for status in data.statuses:
        statuses[status] = statuses.get(status, 0) + 1
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header><main>",
        "<h2>Summary</h2>",
        _table(
            ["rows", "with a reward", "mean reward", "min", "max", *sorted(statuses)],
            [
                [
                    len(data.ids),
                    len(rewards),
                    sum(rewards) / len(rewards) if rewards else None,
                    min(rewards, default=None),
                    max(rewards, default=None),
                    *[statuses[s] for s in sorted(statuses)],
                ]
            ],
        ),
    ]
    if data.judge_usage is not None:
        used = data.judge_usage
        out.append("<h2>Judge cost</h2>")
        out.append(
            _table(
                [
                    "judge calls",
                    "failed calls",
                    "cache hits",
                    "prompt tokens",
                    "completion tokens",
                    "cost (USD)",
                    "rows that called",
                ],
                [
                    [
                        used["calls"],
                        used["failed_calls"],
                        used["cached_calls"],
                        used["prompt_tokens"],
                        used["completion_tokens"],
                        used["cost_usd"],
                        used["rows"],
                    ]
                ],
            )
        )
    out.append("<h2>Hacking monitors</h2>")
    if monitor.warnings:
        for warning in monitor.warnings:
            example = ", ".join(str(row.get("id")) for row in warning.rows)
            out.append(
                f"<div class='warn'><b>{escape(warning.check)}</b>: {escape(warning.message)} "
                f"(limit {warning.limit:g}). Example rows: <code>{escape(example)}</code></div>"
            )
    else:
        out.append("<div class='ok'>No monitor crossed its threshold.</div>")
    out.append("<h2>Rewards</h2><div class='grid'>")
    out.append(_card(histogram(rewards, title="Reward", xlabel="reward")))
    names = sorted({name for c in data.components for name in c})
    for name in names[:8]:
        values = [c[name] for c in data.components if name in c]
        out.append(_card(histogram(values, title=f"Component: {name}", xlabel=name)))
    if data.lengths is not None:
        pairs = [
            (float(n), r) for n, r in zip(data.lengths, data.rewards, strict=True) if r is not None
        ]
        step = max(1, len(pairs) // 3000)
        corr = monitor.metrics.get("length_correlation")
        label = (
            f"Reward vs completion length (Pearson {corr:.2f})"
            if isinstance(corr, float)
            else "Reward vs completion length"
        )
        out.append(
            _card(
                plot(
                    [
                        Series(
                            "rows",
                            [p[0] for p in pairs[::step]],
                            [p[1] for p in pairs[::step]],
                            kind="points",
                        )
                    ],
                    title=label,
                    xlabel="completion characters",
                    ylabel="reward",
                )
            )
        )
    out.append("</div><h2>Over the run</h2><div class='grid'>")
    labels = monitor.series["step"]
    numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x in labels)
    # Real step numbers when the rows carry them; positions of the windows otherwise.
    steps = [float(x) for x in labels] if numeric else [float(k) for k in range(len(labels))]
    counts = monitor.series.get("status_counts", [{}])[0]
    out.append(
        _card(
            plot(
                [
                    Series(status, [float(s) for s in steps], [float(v) for v in values])
                    for status, values in sorted(counts.items())
                ],
                title="Status counts per step",
                xlabel="step",
                integer_x=True,
                ylabel="rows",
            )
        )
    )
    means = monitor.series.get("mean_reward", [])
    mean_series = [
        Series(
            "mean reward",
            [float(s) for s, m in zip(steps, means, strict=True) if m is not None],
            [m for m in means if m is not None],
        )
    ]
    out.append(
        _card(
            plot(
                mean_series,
                title="Mean reward per step",
                xlabel="step",
                integer_x=True,
                ylabel="reward",
            )
        )
    )
    per_step = monitor.series.get("component_means", [])
    component_names = sorted({name for means_at in per_step for name in means_at})[:8]
    if component_names:
        out.append(
            _card(
                plot(
                    [
                        Series(
                            name,
                            [
                                float(s)
                                for s, m in zip(steps, per_step, strict=True)
                                if m.get(name) is not None
                            ],
                            [m[name] for m in per_step if m.get(name) is not None],
                        )
                        for name in component_names
                    ],
                    title="Component means per step",
                    xlabel="step",
                    integer_x=True,
                    ylabel="mean",
                )
            )
        )
    lengths = monitor.series.get("mean_length")
    if lengths is not None:
        out.append(
            _card(
                plot(
                    [
                        Series(
                            "mean completion length",
                            [
                                float(s)
                                for s, m in zip(steps, lengths, strict=True)
                                if m is not None
                            ],
                            [m for m in lengths if m is not None],
                        )
                    ],
                    title="Completion length per step",
                    xlabel="step",
                    integer_x=True,
                    ylabel="characters",
                )
            )
        )
    if "format_only_rate" in monitor.series:
        out.append(
            _card(
                plot(
                    [
                        Series(
                            "format-only",
                            [float(s) for s in steps],
                            monitor.series["format_only_rate"],
                        ),
                        Series(
                            "error+timeout",
                            [float(s) for s in steps],
                            monitor.series["failure_rate"],
                        ),
                    ],
                    title="Format-only passes and failures per step",
                    xlabel="step",
                    integer_x=True,
                    ylabel="rate",
                    y_range=(0.0, 1.0),
                )
            )
        )
    out.append("</div>")
    if rm is not None:
        out.append(_rm_section(rm))
    if overopt is not None:
        out.append(_overopt_section(overopt))
    out.append(
        f"<p style='color:#6b7280;font-size:12px;margin-top:30px'>rewardsmith report, "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}. Self-contained: no network access needed.</p>"
    )
    out.append("</main></body></html>")
    return "".join(out)


def _rm_section(rm: dict[str, Any]) -> str:
    out = ["<h2>Reward model</h2>"]
    for key in ("v1", "v2"):
        result = rm.get(key)
        if result:
            rows = [
                [name, result["counts"].get(name), value]
                for name, value in result["subsets"].items()
            ]
            out.append(f"<p>RewardBench {key}: score <b>{_cell(result.get('score'))}</b></p>")
            out.append(_table(["subset", "items", "accuracy"], rows))
            if result.get("sections"):
                out.append(
                    _table(["section", "score"], [[k, v] for k, v in result["sections"].items()])
                )
    out.append("<div class='grid'>")
    calibration = rm.get("calibration")
    if calibration:
        curve = calibration["curve"]
        out.append(
            _card(
                plot(
                    [
                        Series("perfect", [0.0, 1.0], [0.0, 1.0], color="#9ca3af", dashed=True),
                        Series("observed", [c[0] for c in curve], [c[1] for c in curve]),
                        Series("bins", [c[0] for c in curve], [c[1] for c in curve], kind="points"),
                    ],
                    title=f"Calibration of σ(r_c − r_r): ECE {calibration['ece']:.3f}, "
                    + (
                        "no skill (prefers the rejected answer)"
                        if calibration.get("no_skill")
                        else f"T {calibration['temperature']:.3g}"
                    ),
                    xlabel="predicted P(chosen wins)",
                    ylabel="observed rate",
                    x_range=(0.0, 1.0),
                    y_range=(0.0, 1.0),
                )
            )
        )
    bias = rm.get("length_bias")
    if bias:
        out.append(
            "<div class='card'>"
            + _table(
                [
                    "longer answer wins (reward)",
                    "chosen is longer (labels)",
                    "Pearson(reward, length)",
                    "Spearman",
                    "pairs",
                ],
                [
                    [
                        bias["longer_wins"],
                        bias["chosen_longer"],
                        bias["pearson"],
                        bias["spearman"],
                        bias["pairs"],
                    ]
                ],
            )
            + "</div>"
        )
    out.append("</div>")
    return "".join(out)


def _overopt_section(fit: OveroptFit) -> str:
    d = [p[0] for p in fit.data]
    top = fit.max_d * 1.15
    grid = [top * k / 200 for k in range(201)]
    series = [
        Series("proxy (points)", d, [p[1] for p in fit.data], kind="points", color="#2563eb"),
        Series("gold (points)", d, [p[2] for p in fit.data], kind="points", color="#dc2626"),
        Series("proxy fit", grid, [fit.proxy(x) for x in grid], color="#2563eb"),
        Series("gold fit", grid, [fit.gold(x) for x in grid], color="#dc2626"),
    ]
    if fit.gold_peak_d is not None and fit.gold_peak_d <= top:
        low = min(min(p[1], p[2]) for p in fit.data)
        high = max(max(p[1], p[2]) for p in fit.data)
        series.append(
            Series(
                "gold peak",
                [fit.gold_peak_d, fit.gold_peak_d],
                [low, high],
                color="#16a34a",
                dashed=True,
            )
        )
    peak = (
        "none in range"
        if fit.gold_peak_d is None
        else f"d = {fit.gold_peak_d:.3g} (KL {fit.gold_peak_kl:.3g})"
    )
    interval = fit.intervals.get("gold_peak_d")
    ci = f", 95% CI d ∈ [{interval[0]:.3g}, {interval[1]:.3g}]" if interval else ""
    diverge = (
        "not reached"
        if fit.divergence_d is None
        else f"d = {fit.divergence_d:.3g} (KL {fit.divergence_kl:.3g})"
    )
    return (
        "<h2>Over-optimization</h2><div class='grid'>"
        + _card(
            plot(
                series,
                title=f"Gold vs proxy reward ({fit.method}); gold peak {peak}",
                xlabel="d = sqrt(KL)",
                ylabel="reward",
            )
        )
        + f"<div class='card'><p>Gold peak: {escape(peak + ci)}.<br>Proxy and gold diverge at {escape(diverge)}.<br>"
        f"Gold fit: α = {fit.gold.alpha:.4g}, β = {fit.gold.beta:.4g}, R² = {_cell(fit.gold.r2)}.<br>"
        f"Proxy fit: α = {fit.proxy.alpha:.4g}, β = {fit.proxy.beta:.4g}, R² = {_cell(fit.proxy.r2)}.</p></div></div>"
    )


def write_report(
    log: Any,
    run: Any,
    output: str | Path,
    *,
    config: MonitorConfig | None = None,
    rm: dict[str, Any] | None = None,
    overopt: OveroptFit | None = None,
    input_path: str | Path | None = None,
) -> Path:
    """Write the HTML report of one run; returns the path written."""
    data = load_run(log, run, input_path)
    monitor = monitor_rows(data, config or MonitorConfig())
    manifest = run.manifest
    subtitle = (
        f"run {run.id} · spec {manifest.get('spec_name')!r} ({manifest.get('spec_hash')}) · "
        f"{manifest.get('status')} · input {manifest.get('input') or '-'}"
    )
    html = build_report(
        data,
        title=f"rewardsmith report: {run.id}",
        subtitle=subtitle,
        monitor=monitor,
        rm=rm,
        overopt=overopt,
    )
    path = Path(output)
    path.write_text(html, encoding="utf-8")
    return path
