"""rewardsmith's ``math`` verifier against Math-Verify, side by side, on the labelled sets.

Usage:
    python bench/math_verifier.py [--data DIR] [--sets a.jsonl,b.jsonl] [--only rewardsmith|math-verify]
                         [--cold] [--no-score] [--workers N] [--show-errors]

For each set and each verifier it prints accuracy against the labels (``acc``), accuracy
against the labels with the known label errors corrected (``acc*``, see ``LABEL_ERRORS``),
false accepts (said equal, labelled different), false rejects, verifications per second,
p50/p99/max latency, and the ratios rewardsmith / Math-Verify.

Two rewardsmith paths are timed: ``verify()`` called in a plain loop (the verifier's own
speed), and ``rewardsmith.score(rows, spec)`` with the ``math`` reward (what the CLI, the
server and the trainer adapters call: engine, worker processes, the reward's caller-side fast
path). The engine is warmed first with rows that are not in the set, its result cache is
fresh, and every timed row carries its own prompt, so neither the cache nor the per-batch
deduplication can answer a timed row: the printed cache hits of the timed phase are 0. The
``llm asks`` column counts the rows the optional LLM add-on would be asked about (rows the
rules reject or cannot read); the ``fast`` column the rows the caller-side fast path settles.

The run prints the cache state (warm: each verifier keeps its built-in caches across the rows
of a set, and their hits are printed; cold: ``--cold`` clears them before every row) and the
machine's load average at the start and at the end.

Both verifiers run in this process, one row after another, on the same rows. A timing covers
everything one call does: reading the gold answer, extracting and parsing the response and
comparing them. Before each verifier runs on a set, the heap built so far is frozen
(``gc.freeze()``), so a garbage collection scans only that verifier's own objects. By
default each verifier keeps its own built-in caches (Math-Verify caches
its last 20 parsed LaTeX strings; rewardsmith caches parsed gold answers and answer
readings), as in a training loop where the samples of a group share a gold answer. With
``--cold`` every cache of both is cleared before every row.

Rows are called the way each set was labelled: ``mode``, ``match_types``, ``precision``,
``strict`` and ``allow_set_relation_comp`` are passed to Math-Verify as its own test suite
did, and their counterparts (``rules``, ``precision``, ``strict``, ``relation_as_set``) to
rewardsmith. Rows with mode ``string_parse`` check a parser's output, not an equivalence,
and are skipped.

Math-Verify is a benchmark-only dependency, pinned in the ``bench`` extra:
``pip install -e '.[bench]'`` (or ``pip install math-verify==0.9.0``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rewardsmith
from rewardsmith.engine import Engine
from rewardsmith.rewards.math import DEFAULT_RULES, MathConfig, math_fast_path, verify
from rewardsmith.rewards.math.verify import _GOLD_CACHE, _read

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "math"
SETS = (
    "mathverify_cases.jsonl",
    "synthetic_math_2000.jsonl",
    "qwen_math_cot_800.jsonl",
    "mathverify_known_failures.jsonl",
)

LABEL_ERRORS: dict[str, set[Any]] = {
    # 1 - 1/e is not 1 + 1/e: Math-Verify's suite records its own bug as the expectation.
    "mathverify_cases.jsonl": {
        r"tests/test_yujianll.py::test_string_extraction"
        r"[$1 - \\frac{1}{\\mathrm{e}}$-$1 + \\frac{1}{\\mathrm{e}}$-1]"
    },
    # 10{,}000 is 10000: Qwen's grader rejects the thousands separator.
    "qwen_math_cot_800.jsonl": {583},
}


def load(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r.get("mode") != "string_parse" and isinstance(r["expected"], bool)]


def corrected(name: str, row: dict[str, Any]) -> bool:
    key = row.get("id", row.get("idx"))
    wrong = key in LABEL_ERRORS.get(name, set())
    return (not row["expected"]) if wrong else bool(row["expected"])


# -- the two verifiers --------------------------------------------------------------------------


def row_params(row: dict[str, Any]) -> dict[str, Any]:
    """The ``math`` params a row was labelled with (Math-Verify's per-test options); an option
    the row does not state keeps the reward's default."""
    params: dict[str, Any] = {}
    if "expr" not in (row.get("match_types") or ["expr"]):
        # Labelled with LaTeX extraction only: no bare-number fallback.
        params["rules"] = [r for r in DEFAULT_RULES if r != "last_number"]
    if row.get("precision"):
        params["precision"] = int(row["precision"])
    if row.get("strict") is not None:
        params["strict"] = bool(row["strict"])
    if row.get("allow_set_relation_comp") is not None:
        params["relation_as_set"] = bool(row["allow_set_relation_comp"])
    return params


def row_config(row: dict[str, Any]) -> MathConfig:
    params = row_params(row)
    if "rules" in params:
        params["rules"] = tuple(params["rules"])
    return MathConfig(**params)


class Counters:
    """Hits of rewardsmith's built-in caches during a timed phase."""

    def __init__(self) -> None:
        self.gold_hits = 0
        self.reading_hits = 0


def rewardsmith_fn(cold: bool, counters: Counters) -> Callable[[dict[str, Any]], Any]:
    def run(row: dict[str, Any]) -> Any:
        if cold:
            _GOLD_CACHE.clear()
            _read.cache_clear()
        cfg = row_config(row)
        counters.gold_hits += (row["gold"], cfg) in _GOLD_CACHE
        before = _read.cache_info().hits
        verdict = verify(row["gold"], row["pred"], config=cfg)
        counters.reading_hits += _read.cache_info().hits - before
        return verdict

    return run


def mathverify_fn(cold: bool) -> Callable[[dict[str, Any]], bool]:
    try:
        from math_verify import ExprExtractionConfig, LatexExtractionConfig
        from math_verify import parse as mv_parse
        from math_verify import parser as mv_parser
        from math_verify import verify as mv_verify
    except ImportError:
        sys.exit(
            "math-verify is not installed: .venv/bin/pip install -e '.[bench]' "
            "(or .venv/bin/pip install math-verify==0.9.0); --only rewardsmith runs without it"
        )

    caches = [
        getattr(mv_parser, name)
        for name in ("parse_latex_cached", "parse_expr_cached", "extract_latex", "extract_expr")
        if hasattr(getattr(mv_parser, name, None), "cache_clear")
    ]

    def targets(row: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for kind in row.get("match_types") or ["latex", "expr"]:
            if kind == "latex":
                out.append(LatexExtractionConfig(boxed_match_priority=0))
            elif kind == "latex_default":
                out.append(LatexExtractionConfig())
            elif kind == "expr":
                out.append(ExprExtractionConfig())
        return out

    def run(row: dict[str, Any]) -> bool:
        if cold:
            for cache in caches:
                cache.cache_clear()
        if row.get("mode") == "compare_strings":
            config = targets(row)
            gold = mv_parse(row["gold"], config)
            pred = mv_parse(row["pred"], config)
            return bool(
                mv_verify(
                    gold,
                    pred,
                    float_rounding=row.get("precision") or 6,
                    strict=True if row.get("strict") is None else bool(row["strict"]),
                    allow_set_relation_comp=bool(row.get("allow_set_relation_comp")),
                )
            )
        return bool(mv_verify(mv_parse(row["gold"]), mv_parse(row["pred"])))

    return run


# -- measuring ----------------------------------------------------------------------------------


def measure(
    fn: Callable[[dict[str, Any]], bool], rows: list[dict[str, Any]], name: str
) -> dict[str, Any]:
    latencies: list[float] = []
    verdicts: list[bool] = []
    errors = 0
    start = time.perf_counter()
    statuses: list[str] = []
    for row in rows:
        t0 = time.perf_counter()
        try:
            result = fn(row)
        except Exception:  # a crash on one row counts as a wrong answer, not a stop
            result = False
            errors += 1
        latencies.append(time.perf_counter() - t0)
        verdict = bool(result)
        verdicts.append(verdict)
        statuses.append(getattr(result, "status", "ok"))
    total = time.perf_counter() - start
    expected = [bool(r["expected"]) for r in rows]
    fixed = [corrected(name, r) for r in rows]
    pairs = list(zip(verdicts, expected, strict=True))
    latencies.sort()
    return {
        "n": len(rows),
        "accuracy": sum(v == e for v, e in pairs) / len(rows),
        "accuracy_fixed": sum(v == e for v, e in zip(verdicts, fixed, strict=True)) / len(rows),
        "false_accepts": sum(v and not e for v, e in pairs),
        "false_rejects": sum(e and not v for v, e in pairs),
        "per_s": len(rows) / total,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "max_ms": 1000 * latencies[-1],
        "errors": errors,
        "verdicts": verdicts,
        "llm_asks": sum(
            (status == "ok" and not verdict) or status == "parse_error"
            for status, verdict in zip(statuses, verdicts, strict=True)
        ),
    }


ROUNDS = 3
"""Timed passes of the score path over a set; the median is printed (one pass over 800 rows
takes ~50 ms, short enough for a scheduler hiccup on a shared machine to halve it)."""


def measure_score_path(
    engine: Engine, rows: list[dict[str, Any]], name: str, run_id: int
) -> dict[str, Any]:
    """``rewardsmith.score`` over the set, one call per group of rows sharing their params."""
    groups: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        groups.setdefault(json.dumps(row_params(row), sort_keys=True), []).append(position)
    specs = {
        key: {"terms": [{"name": "math", "use": "math", "params": json.loads(key)}]}
        for key in groups
    }
    # Warm-up: start the workers and load the reward with rows that are not in the set.
    for spec in specs.values():
        warm = [
            {
                "prompt": f"warm-up {run_id} {i}",
                "completion": rf"\boxed{{{i}}}",
                "reference": str(i),
            }
            for i in range(20)
        ]
        rewardsmith.score(warm, spec, engine=engine)
    assert engine.cache is not None
    hits_before = engine.cache.hits
    values: list[float | None] = [None] * len(rows)
    times = []
    for round_ in range(ROUNDS):
        # The calling process runs the fast path: its parse caches start each pass empty, as
        # the verify() loop's do (the workers' caches stay warm after the first pass).
        _GOLD_CACHE.clear()
        _read.cache_clear()
        start = time.perf_counter()
        for key, positions in groups.items():
            # Each row carries its own prompt (new each round): no cache hit and no per-batch
            # deduplication can answer it.
            batch = [
                {
                    "prompt": f"{name} row {p} run {run_id} round {round_}",
                    "completion": rows[p]["pred"],
                    "reference": rows[p]["gold"],
                }
                for p in positions
            ]
            scored = rewardsmith.score(batch, specs[key], engine=engine)
            for p, score in zip(positions, scored, strict=True):
                values[p] = score.value
        times.append(time.perf_counter() - start)
    total = statistics.median(times)
    verdicts = [v == 1.0 for v in values]
    expected = [bool(r["expected"]) for r in rows]
    fast = sum(
        math_fast_path(
            rewardsmith.Sample(id="f", completion=r["pred"], reference=r["gold"]), row_params(r)
        )
        is not None
        for r in rows
    )
    return {
        "per_s": len(rows) / total,
        "accuracy": sum(v == e for v, e in zip(verdicts, expected, strict=True)) / len(rows),
        "cache_hits": engine.cache.hits - hits_before,
        "fast": fast,
    }


def fmt(r: dict[str, Any]) -> str:
    return (
        f"{100 * r['accuracy']:6.2f}% {100 * r['accuracy_fixed']:6.2f}% {r['false_accepts']:4d} "
        f"{r['false_rejects']:4d} {r['per_s']:9.1f} {r['p50_ms']:8.3f} {r['p99_ms']:8.2f} "
        f"{r['max_ms']:8.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--only", choices=("rewardsmith", "math-verify"))
    ap.add_argument("--cold", action="store_true", help="clear both verifiers' caches every row")
    ap.add_argument("--show-errors", action="store_true", help="list rows rewardsmith gets wrong")
    ap.add_argument("--no-score", action="store_true", help="skip the rewardsmith.score path")
    ap.add_argument("--workers", type=int, default=2, help="engine workers for the score path")
    args = ap.parse_args()

    counters = Counters()
    runners: dict[str, Callable[[dict[str, Any]], Any]] = {}
    if args.only != "math-verify":
        runners["rewardsmith"] = rewardsmith_fn(args.cold, counters)
    if args.only != "rewardsmith":
        runners["math-verify"] = mathverify_fn(args.cold)
    engine = None
    if args.only != "math-verify" and not args.no_score:
        engine = Engine(args.workers)

    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        "caches: "
        + (
            "cold (--cold: every built-in cache cleared before every row)"
            if args.cold
            else "warm (each verifier keeps its built-in caches across the rows of a set)"
        )
        + "; score path: warm engine, fresh result cache, distinct rows, caller's parse caches "
        "empty at the start of each pass (--cold does not apply to it)"
    )
    header = (
        f"{'set':32s} {'verifier':12s} {'acc':>7s} {'acc*':>7s} {'FA':>4s} {'FR':>4s} "
        f"{'verif/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}"
    )
    print(header)
    print("-" * len(header))
    score_lines: list[str] = []
    for run_id, name in enumerate(args.sets.split(",")):
        rows = load(args.data / name)
        results = {}
        counters.gold_hits = counters.reading_hits = 0
        for label, fn in runners.items():
            _GOLD_CACHE.clear()
            _read.cache_clear()
            # Both verifiers share this process: freeze the heap built so far (imports of
            # sympy and antlr, earlier sets) so that a garbage collection during a row scans
            # only what this verifier allocates, not the other's leftovers.
            gc.collect()
            gc.freeze()
            results[label] = measure(fn, rows, name)
            gc.unfreeze()
            crashed = results[label]["errors"]
            print(
                f"{name:32s} {label:12s} {fmt(results[label])}"
                + (f"  ({crashed} crashed)" if crashed else "")
            )
        if "rewardsmith" in results:
            ours = results["rewardsmith"]
            if args.cold:
                # Cleared before every row: a hit can only be the answer reusing the gold's
                # reading of the same text inside one verification.
                hits = (
                    f"0 across rows (cleared every row); {counters.reading_hits} readings "
                    "shared by a gold and an answer with the same text within a row"
                )
            else:
                hits = (
                    f"gold {counters.gold_hits}, readings {counters.reading_hits} "
                    "(warm: part of what is measured)"
                )
            print(
                f"{'':32s} {'':12s} verify() built-in cache hits: {hits}; llm add-on would be "
                f"asked on {ours['llm_asks']} of {ours['n']} rows"
            )
        if engine is not None:
            gc.collect()
            path = measure_score_path(engine, rows, name, run_id)
            line = (
                f"{name:32s} {100 * path['accuracy']:6.2f}% {path['per_s']:9.1f} "
                f"{path['cache_hits']:6d} {path['fast']:5d}/{len(rows):<5d}"
            )
            if "rewardsmith" in results:
                line += f" {path['per_s'] / results['rewardsmith']['per_s']:9.2f}"
            if "math-verify" in results:
                line += f" {path['per_s'] / results['math-verify']['per_s']:9.1f}"
            score_lines.append(line)
        if len(results) == 2:
            ours, theirs = results["rewardsmith"], results["math-verify"]
            print(
                f"{'':32s} {'ratio':12s} acc {100 * (ours['accuracy'] - theirs['accuracy']):+.2f} pts, "
                f"acc* {100 * (ours['accuracy_fixed'] - theirs['accuracy_fixed']):+.2f} pts, "
                f"false accepts {ours['false_accepts']} vs {theirs['false_accepts']}, "
                f"throughput x{ours['per_s'] / theirs['per_s']:.1f}, "
                f"p99 x{theirs['p99_ms'] / ours['p99_ms']:.1f} lower, "
                f"max x{theirs['max_ms'] / ours['max_ms']:.1f} lower"
            )
        if args.show_errors and "rewardsmith" in results:
            for position, row in enumerate(rows):
                verdict = results["rewardsmith"]["verdicts"][position]
                if verdict == row["expected"]:
                    continue
                other = ""
                if "math-verify" in results:
                    mv = results["math-verify"]["verdicts"][position]
                    other = f" (math-verify {'agrees' if mv == verdict else 'differs'})"
                print(
                    f"    disagreement{other} label={row['expected']} "
                    f"[{row.get('id', row.get('idx'))}] gold={row['gold'][-80:]!r} "
                    f"pred=...{row['pred'][-100:]!r}"
                )
        print()
    if engine is not None:
        print(
            f"rewardsmith.score(rows, spec) with the math reward, {args.workers} workers, "
            f"median of {ROUNDS} passes; hits = result-cache hits in the timed passes; fast = rows "
            "the caller-side fast path settles; /verify() and xMV = throughput ratios"
        )
        head = (
            f"{'set':32s} {'acc':>7s} {'rows/s':>9s} {'hits':>6s} {'fast':>11s}"
            + (f" {'/verify()':>9s}" if "rewardsmith" in runners else "")
            + (f" {'xMV':>9s}" if "math-verify" in runners else "")
        )
        print(head)
        print("-" * len(head))
        for line in score_lines:
            print(line)
        engine.close()
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
