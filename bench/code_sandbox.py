"""The ``code`` reward's sandbox against one ``python -I -S`` subprocess per test, in one run.

Usage:
    python bench/code_sandbox.py [--workers 2] [--trivial-tests 1000] [--humaneval PATH] [--problems N]

Two workloads, each run by ``--workers`` worker processes (one per core, like the engine's pool):

* trivial: a program that reads a number and prints it plus one, one test per sample. Its
  per-test latency is almost all overhead: p50/p99 are the sandbox's cost per test.
* HumanEval: the 164 canonical solutions with the asserts as tests (~7 per problem, rewritten
  into independent calls; the few that cannot be run as a residual script).

Two systems:

* rewardsmith: the ``code`` reward end to end (extraction, reference parsing, a warm zygote per
  worker forking one confined child per test, comparison in the worker).
* baseline: ``subprocess.run([python, "-I", "-S", "-c", program + test])`` per test from the
  same workers, the output compared the same way (no isolation beyond a fresh interpreter).
* peer (HumanEval only): what most RL code harnesses do: the program and *all* of a problem's
  asserts in one plain ``python -I -S`` subprocess, passed when it exits 0 (all-or-nothing,
  no isolation, the program can see and patch the asserts). Tests/s counts the same tests.

It prints tests/s, p50/p99 per-test latency and the ratios, the protections that were on, and
the load average (other work on the machine slows every system alike: the ratios hold).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

DEFAULT_HUMANEVAL = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "code" / "HumanEval.jsonl.gz"
)
TRIVIAL = "print(int(input()) + 1)\n"


# -- work done inside the worker processes ---------------------------------------------------


def _warm(_: int) -> list[str]:
    from rewardsmith.sandbox import default_sandbox

    time.sleep(0.2)  # let every worker take one warm-up task
    return default_sandbox().protections.as_dict()["active"]


def _rewardsmith_trivial(numbers: list[int]) -> tuple[list[float], int]:
    from rewardsmith import Sample
    from rewardsmith.rewards.code import code

    latencies, passed = [], 0
    for n in numbers:
        sample = Sample(
            id=str(n),
            completion=f"```python\n{TRIVIAL}```",
            reference={"tests": [{"input": f"{n}\n", "output": f"{n + 1}\n"}]},
        )
        start = time.perf_counter()
        score = code(sample)
        latencies.append(time.perf_counter() - start)
        passed += score.value == 1.0
    return latencies, passed


def _baseline_trivial(numbers: list[int]) -> tuple[list[float], int]:
    from rewardsmith.rewards.code import tokens_match
    from rewardsmith.sandbox import real_python

    python = real_python()
    latencies, passed = [], 0
    for n in numbers:
        start = time.perf_counter()
        done = subprocess.run(
            [python, "-I", "-S", "-c", TRIVIAL],
            input=f"{n}\n".encode(),
            capture_output=True,
            timeout=10,
        )
        ok = done.returncode == 0 and tokens_match(done.stdout, f"{n + 1}\n")[0]
        latencies.append(time.perf_counter() - start)
        passed += ok
    return latencies, passed


def _rewardsmith_humaneval(problems: list[dict[str, Any]]) -> tuple[list[float], int, int]:
    from rewardsmith import Sample
    from rewardsmith.rewards.code import code

    latencies, tests, passed = [], 0, 0
    for problem in problems:
        sample = Sample(
            id=problem["task_id"],
            completion=f"```python\n{problem['prompt']}{problem['canonical_solution']}\n```",
            reference={"asserts": problem["test"] + "\ncheck(" + problem["entry_point"] + ")"},
        )
        start = time.perf_counter()
        score = code(sample)
        elapsed = time.perf_counter() - start
        count = score.info["tests"]
        latencies.extend([elapsed / count] * count)
        tests += count
        passed += score.info["passed"]
    return latencies, tests, passed


def _baseline_humaneval(problems: list[dict[str, Any]]) -> tuple[list[float], int, int]:
    """The same tests, each as one ``python -I -S -c`` run of program + one check."""
    from rewardsmith.rewards.code import parse_reference, values_equal
    from rewardsmith.sandbox import real_python

    python = real_python()
    latencies, tests, passed = [], 0, 0
    for problem in problems:
        program = problem["prompt"] + problem["canonical_solution"]
        parsed = parse_reference(
            {"asserts": problem["test"] + "\ncheck(" + problem["entry_point"] + ")"}
        )
        scripts: list[tuple[str, Any]] = []
        for case in parsed.calls:
            call = f"{case.fn}(*{case.args!r}, **{case.kwargs!r})"
            scripts.append((f"{program}\nprint(repr({call}))\n", case))
        if parsed.residual is not None:
            scripts.append((f"{program}\n{parsed.residual}\nprint('ok')\n", None))
        for script, case in scripts:
            start = time.perf_counter()
            done = subprocess.run(
                [python, "-I", "-S", "-c", script], capture_output=True, timeout=30
            )
            ok = done.returncode == 0
            if ok and case is not None:
                import ast

                got = ast.literal_eval(done.stdout.decode().strip())
                ok = (
                    bool(got)
                    if case.compare == "truthy"
                    else not got
                    if case.compare == "falsy"
                    else abs(got - case.expected) < case.tol
                    if case.compare == "close" and case.tol > 0
                    else values_equal(got, case.expected)
                    if case.compare != "close"
                    else abs(got - case.expected) <= 1e-9 * max(1.0, abs(case.expected))
                )
            latencies.append(time.perf_counter() - start)
            tests += 1
            passed += ok
    return latencies, tests, passed


def _peer_humaneval(problems: list[dict[str, Any]]) -> tuple[list[float], int, int]:
    """One plain subprocess per problem running the program and all its asserts together."""
    from rewardsmith.rewards.code import parse_reference
    from rewardsmith.sandbox import real_python

    python = real_python()
    latencies, tests, passed = [], 0, 0
    for problem in problems:
        program = problem["prompt"] + problem["canonical_solution"]
        check = problem["test"] + "\ncheck(" + problem["entry_point"] + ")\n"
        count = parse_reference({"asserts": check}).count  # the tests rewardsmith counts
        start = time.perf_counter()
        done = subprocess.run(
            [python, "-I", "-S", "-c", program + "\n" + check], capture_output=True, timeout=30
        )
        elapsed = time.perf_counter() - start
        latencies.extend([elapsed / count] * count)
        tests += count
        passed += count if done.returncode == 0 else 0
    return latencies, tests, passed


# -- driver ------------------------------------------------------------------------------------


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _compare(
    pool: ProcessPoolExecutor, systems: dict[str, Any], items: list[Any], rounds: int = 4
) -> dict[str, tuple[float, list[float], int, int]]:
    """Run every system on the same items, alternating in rounds so that a change in the
    machine's load during the run falls on both systems alike."""
    totals: dict[str, list[Any]] = {name: [0.0, [], 0, 0] for name in systems}
    per_round = _chunks(items, max(1, -(-len(items) // rounds)))
    for number, part in enumerate(per_round):
        chunks = _chunks(part, max(1, len(part) // (pool._max_workers * 4)))  # type: ignore[attr-defined]
        order = list(systems) if number % 2 == 0 else list(reversed(systems))
        for name in order:
            start = time.perf_counter()
            results = list(pool.map(systems[name], chunks))
            total = totals[name]
            total[0] += time.perf_counter() - start
            total[1].extend(x for r in results for x in r[0])
            if len(results[0]) == 2:
                total[2] += sum(len(r[0]) for r in results)
                total[3] += sum(r[1] for r in results)
            else:
                total[2] += sum(r[1] for r in results)
                total[3] += sum(r[2] for r in results)
    return {name: (t[0], t[1], t[2], t[3]) for name, t in totals.items()}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _line(
    name: str, elapsed: float, latencies: list[float], tests: int, passed: int
) -> dict[str, float]:
    rate = tests / elapsed
    p50, p99 = _pct(latencies, 0.50) * 1000, _pct(latencies, 0.99) * 1000
    print(
        f"  {name:<12} {tests:>6} tests  {passed:>6} passed  {rate:>8.1f} tests/s  "
        f"p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  mean {statistics.fmean(latencies) * 1000:6.2f} ms"
    )
    return {"rate": rate, "p50": p50, "p99": p99}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trivial-tests", type=int, default=1000)
    parser.add_argument("--humaneval", type=Path, default=DEFAULT_HUMANEVAL)
    parser.add_argument("--problems", type=int, default=164)
    args = parser.parse_args()

    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        active = next(iter(pool.map(_warm, range(args.workers))))
        print(f"workers: {args.workers}  cpus: {os.cpu_count()}  python: {sys.version.split()[0]}")
        print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        print(f"protections on: {', '.join(active)}")

        numbers = list(range(args.trivial_tests))
        list(pool.map(_rewardsmith_trivial, _chunks(numbers[: 20 * args.workers], 20)))  # warm
        print("\ntrivial program (one stdio test per sample):")
        runs = _compare(
            pool, {"rewardsmith": _rewardsmith_trivial, "baseline": _baseline_trivial}, numbers
        )
        ours = _line("rewardsmith", *runs["rewardsmith"])
        base = _line("baseline", *runs["baseline"])
        print(
            f"  ratio: {ours['rate'] / base['rate']:.2f}x tests/s, p50 {base['p50'] / ours['p50']:.2f}x lower, "
            f"p99 {base['p99'] / ours['p99']:.2f}x lower"
        )

        if args.humaneval.exists():
            with gzip.open(args.humaneval, "rt", encoding="utf-8") as handle:
                problems = [json.loads(line) for line in handle][: args.problems]
            print(f"\nHumanEval canonical solutions ({len(problems)} problems, asserts as tests):")
            systems = {
                "rewardsmith": _rewardsmith_humaneval,
                "baseline": _baseline_humaneval,
                "peer": _peer_humaneval,
            }
            runs = _compare(pool, systems, problems)
            ours = _line("rewardsmith", *runs["rewardsmith"])
            base = _line("baseline", *runs["baseline"])
            peer = _line("peer", *runs["peer"])
            print(
                f"  ratio vs baseline (one subprocess per test): {ours['rate'] / base['rate']:.2f}x tests/s"
            )
            print(
                f"  ratio vs peer (all asserts in one plain subprocess): "
                f"{ours['rate'] / peer['rate']:.2f}x tests/s"
            )
        else:
            print(f"\nHumanEval skipped: {args.humaneval} not found")
        print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
