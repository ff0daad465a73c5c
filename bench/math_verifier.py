"""rewardsmith's ``math`` verifier against Math-Verify, side by side, on the labelled sets.

Usage:
    python bench/math_verifier.py [--data DIR] [--sets a.jsonl,b.jsonl] [--only rewardsmith|math-verify]
                         [--cold] [--show-errors]

For each set and each verifier it prints accuracy against the labels (``acc``), accuracy
against the labels with the known label errors corrected (``acc*``, see ``LABEL_ERRORS``),
false accepts (said equal, labelled different), false rejects, verifications per second,
p50/p99/max latency, and the ratios rewardsmith / Math-Verify.

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

Math-Verify is a benchmark-only dependency: ``pip install math-verify``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rewardsmith.rewards.math import DEFAULT_RULES, MathConfig, verify
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


def rewardsmith_fn(cold: bool) -> Callable[[dict[str, Any]], bool]:
    def run(row: dict[str, Any]) -> bool:
        if cold:
            _GOLD_CACHE.clear()
            _read.cache_clear()
        rules = DEFAULT_RULES
        if "expr" not in (row.get("match_types") or ["expr"]):
            # Labelled with LaTeX extraction only: no bare-number fallback.
            rules = tuple(r for r in DEFAULT_RULES if r != "last_number")
        cfg = MathConfig(
            rules=rules,
            precision=row.get("precision") or 6,
            strict=True if row.get("strict") is None else bool(row["strict"]),
            relation_as_set=bool(row.get("allow_set_relation_comp")),
        )
        return verify(row["gold"], row["pred"], config=cfg).equal

    return run


def mathverify_fn(cold: bool) -> Callable[[dict[str, Any]], bool]:
    try:
        from math_verify import ExprExtractionConfig, LatexExtractionConfig
        from math_verify import parse as mv_parse
        from math_verify import parser as mv_parser
        from math_verify import verify as mv_verify
    except ImportError:
        sys.exit("math-verify is not installed: pip install math-verify")

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
    for row in rows:
        t0 = time.perf_counter()
        try:
            verdict = fn(row)
        except Exception:  # a crash on one row counts as a wrong answer, not a stop
            verdict = False
            errors += 1
        latencies.append(time.perf_counter() - t0)
        verdicts.append(verdict)
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
    args = ap.parse_args()

    runners: dict[str, Callable[[dict[str, Any]], bool]] = {}
    if args.only != "math-verify":
        runners["rewardsmith"] = rewardsmith_fn(args.cold)
    if args.only != "rewardsmith":
        runners["math-verify"] = mathverify_fn(args.cold)

    print(f"caches: {'cleared every row (--cold)' if args.cold else 'built-in caches on'}")
    header = (
        f"{'set':32s} {'verifier':12s} {'acc':>7s} {'acc*':>7s} {'FA':>4s} {'FR':>4s} "
        f"{'verif/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}"
    )
    print(header)
    print("-" * len(header))
    for name in args.sets.split(","):
        rows = load(args.data / name)
        results = {}
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


if __name__ == "__main__":
    main()
