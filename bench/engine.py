"""Engine overhead: a cheap reward through a plain loop vs `rewardsmith.score`, kill cost, and
the ``math`` reward through the engine against Math-Verify and against its own in-process loop.

Run: .venv/bin/python bench/engine.py [--rows 1000] [--repeat 5] [--data /work/shared/data/math]

Prints, from one run on this machine (with the load average before and after):
- rows/s of a cheap exact-match reward in a plain Python loop (the anchor);
- rows/s through `rewardsmith.score` when the reward is ``inline`` and when it runs in the
  worker pool, the per-row engine overhead, and the ratios to the anchor;
- the cost of a timeout: how late past its deadline a hanging call is answered, and how long
  until the replacement worker has answered the next call;
- ``math`` on qwen_math_cot_800: Math-Verify's ``verify(parse(gold), parse(pred))`` in a loop,
  rewardsmith's ``math_answer`` in an in-process loop, and ``rewardsmith.score(rows, spec)`` on a
  warm engine (workers started, reward loaded) whose score cache is cleared before every timed
  repetition; the cache hits counted during the timed phase are printed (they must be 0).
  Every path gets one untimed pass first, so each keeps its own internal caches (parsed gold
  answers) warm, as in training; timings are the best of ``--repeat``, interleaved.
- ``math`` on synthetic_math_2000: two workers against one, same rows, same warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import rewardsmith
from rewardsmith import Engine, Sample


def _normalize(text: str) -> str:
    return " ".join(text.lower().split())


def plain_exact_match(row: dict[str, str]) -> float:
    return float(_normalize(row["completion"]) == _normalize(row["reference"]))


@rewardsmith.reward("bench.exact_inline", inline=True, reads=("completion", "reference"))
def exact_inline(sample: Sample) -> float:
    """Exact match, run in the calling process."""
    return float(_normalize(sample.completion_text) == _normalize(sample.reference))


@rewardsmith.reward("bench.exact_pool", reads=("completion", "reference"))
def exact_pool(sample: Sample) -> float:
    """Exact match, run in the worker pool."""
    return float(_normalize(sample.completion_text) == _normalize(sample.reference))


@rewardsmith.reward("bench.hang", timeout_s=0.2)
def hang(sample: Sample) -> float:
    """Hangs when told to."""
    if sample.completion_text == "hang":
        while True:
            pass
    return 1.0


def _rows(count: int, salt: int) -> list[dict[str, str]]:
    return [
        {
            "id": f"{salt}-{i}",
            "completion": f"The answer is {i % 97} ({salt})",
            "reference": f"the answer is {i % 89} ({salt})",
        }
        for i in range(count)
    ]


def _best_seconds(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for attempt in range(repeat):
        start = time.perf_counter()
        fn(attempt)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/math"))
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    n = args.rows
    with Engine(workers=args.workers, cache=False) as engine:
        engine.score(_rows(8, -1), "bench.exact_pool")  # start the workers before timing

        plain = _best_seconds(lambda k: [plain_exact_match(r) for r in _rows(n, k)], args.repeat)
        inline = _best_seconds(
            lambda k: engine.score(_rows(n, k), "bench.exact_inline"), args.repeat
        )
        pooled = _best_seconds(lambda k: engine.score(_rows(n, k), "bench.exact_pool"), args.repeat)

        print(f"cheap reward, batch of {n} rows, best of {args.repeat}, {args.workers} workers")
        print(
            f"{'path':<28}{'rows/s':>12}{'us/row':>10}{'overhead us/row':>18}{'vs plain loop':>15}"
        )
        for name, seconds in (
            ("plain Python loop (anchor)", plain),
            ("score(), inline reward", inline),
            ("score(), worker pool", pooled),
        ):
            overhead = (seconds - plain) / n * 1e6
            print(
                f"{name:<28}{n / seconds:>12,.0f}{seconds / n * 1e6:>10.1f}{overhead:>18.1f}{plain / seconds:>14.2f}x"
            )

        lateness, recovery = [], []
        for attempt in range(5):
            start = time.perf_counter()
            batch = engine.score([{"completion": "hang", "reference": str(attempt)}], "bench.hang")
            answered = time.perf_counter() - start
            assert batch[0].status == "timeout", batch[0]
            lateness.append(answered - 0.2)
            start = time.perf_counter()
            after = engine.score(
                [{"completion": "ok", "reference": str(attempt)}] * args.workers, "bench.hang"
            )
            assert all(s.status == "ok" for s in after)
            recovery.append(time.perf_counter() - start)
        print(
            f"timeout kill: answered {statistics.median(lateness) * 1e3:.1f} ms after the 200 ms deadline "
            f"(median of 5, max {max(lateness) * 1e3:.1f} ms); next call on the replacement worker "
            f"{statistics.median(recovery) * 1e3:.1f} ms"
        )

    math_section(args.data, args.repeat)
    print(f"load average after: {os.getloadavg()}")


def _math_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        rows = [json.loads(line) for line in handle]
    return [
        {"id": str(i), "completion": r["pred"], "reference": r["gold_raw"], "gold": r["gold"]}
        for i, r in enumerate(rows)
    ]


def _timed_engine(engine: Engine, rows: list[dict[str, str]], spec: object) -> tuple[float, int]:
    """Seconds for one cold-cache batch, and the cache hits it had."""
    assert engine.cache is not None
    engine.cache.clear()
    hits = engine.cache.hits
    start = time.perf_counter()
    batch = engine.score(rows, spec)
    seconds = time.perf_counter() - start
    assert batch.status_counts["timeout"] == 0 and batch.status_counts["error"] == 0
    return seconds, engine.cache.hits - hits


def math_section(data: Path, repeat: int) -> None:
    from rewardsmith.rewards.math import math_answer

    spec = {"terms": [{"name": "math", "use": "math"}]}
    rows = _math_rows(data / "qwen_math_cot_800.jsonl")
    samples = [Sample.from_row(row, i) for i, row in enumerate(rows)]
    try:
        import math_verify
    except ImportError:  # a bench-only anchor: pip install math-verify
        math_verify = None

    def mv_loop() -> None:
        for row in rows:
            math_verify.verify(math_verify.parse(row["gold"]), math_verify.parse(row["completion"]))

    def own_loop() -> None:
        for sample in samples:
            math_answer(sample)

    times: dict[str, list[float]] = {"mv": [], "loop": [], "engine": []}
    hits = 0
    with Engine(workers=2) as engine:
        engine.score(rows, spec)  # warm: workers started, reward loaded, gold answers parsed
        own_loop()
        if math_verify is not None:
            mv_loop()
        for _ in range(repeat):
            start = time.perf_counter()
            own_loop()
            times["loop"].append(time.perf_counter() - start)
            seconds, got = _timed_engine(engine, rows, spec)
            times["engine"].append(seconds)
            hits += got
            if math_verify is not None and len(times["mv"]) < 2:  # ~3 s a pass: two are enough
                start = time.perf_counter()
                mv_loop()
                times["mv"].append(time.perf_counter() - start)
    n = len(rows)
    loop, eng = min(times["loop"]), min(times["engine"])
    print(f"\nmath on qwen_math_cot_800 ({n} rows), best of {repeat}; 2 workers, warm engine")
    print(f"{'path':<44}{'rows/s':>10}{'vs Math-Verify':>16}{'vs own loop':>13}")
    mv = min(times["mv"]) if times["mv"] else None
    for name, seconds in (
        ("Math-Verify verify(parse, parse) loop", mv),
        ("math_answer() in-process loop", loop),
        ("rewardsmith.score(rows, spec), cold cache", eng),
    ):
        if seconds is None:
            print(f"{name:<44}{'(math-verify not installed)':>26}")
            continue
        vs_mv = f"{mv / seconds:.1f}x" if mv else "-"
        print(f"{name:<44}{n / seconds:>10,.0f}{vs_mv:>16}{loop / seconds:>12.2f}x")
    # The machine's speed can drift within a run: each repetition times the loop and the
    # engine back to back, so the ratio within a repetition is the steadier figure.
    rounds = sorted(a / b for a, b in zip(times["loop"], times["engine"], strict=True))
    print(
        f"score vs own loop within each repetition: median {statistics.median(rounds):.2f}x "
        f"(range {rounds[0]:.2f}x-{rounds[-1]:.2f}x)"
    )
    print(f"score cache hits during the timed phase: {hits}")

    synthetic = _math_rows(data / "synthetic_math_2000.jsonl")
    # Both engines stay up and take turns, so a change in the machine's load hits both alike.
    per_workers: dict[int, float] = {}
    with Engine(workers=1) as one, Engine(workers=2) as two:
        engines = {1: one, 2: two}
        for engine in engines.values():
            engine.score(synthetic, spec)
        for _ in range(repeat):
            for workers, engine in engines.items():
                seconds = _timed_engine(engine, synthetic, spec)[0]
                per_workers[workers] = min(per_workers.get(workers, seconds), seconds)
    print(
        f"math on synthetic_math_2000 ({len(synthetic)} rows): 1 worker {per_workers[1]:.3f}s, "
        f"2 workers {per_workers[2]:.3f}s, speed-up {per_workers[1] / per_workers[2]:.2f}x"
    )


if __name__ == "__main__":
    main()
