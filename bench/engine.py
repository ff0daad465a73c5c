"""Engine overhead: a cheap reward through a plain loop vs `rewardsmith.score`, and kill cost.

Run: .venv/bin/python bench/engine.py [--rows 1000] [--repeat 5]

Prints, from one run on this machine:
- rows/s of a cheap exact-match reward in a plain Python loop (the anchor);
- rows/s through `rewardsmith.score` when the reward is ``inline`` and when it runs in the
  worker pool, the per-row engine overhead, and the ratios to the anchor;
- the cost of a timeout: how late past its deadline a hanging call is answered, and how long
  until the replacement worker has answered the next call.
"""

from __future__ import annotations

import argparse
import statistics
import time

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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
