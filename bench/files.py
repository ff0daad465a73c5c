"""File scoring: `rewardsmith score` with examples/qa.toml against a plain Python loop.

Run: .venv/bin/python bench/files.py [--rows 100000 1000000] [--workers 2] [--repeat 1]

For each size it writes synthetic QA / multiple-choice rows (think/answer format, groups of 4)
and prints, from one run on this machine:

- the anchor: a plain single-threaded loop that reads the JSONL (stdlib ``json``), does the
  spec's work by hand (``<answer>`` extraction and normalised comparison, choice letter,
  think/answer format, overlong penalty, gate, weighted sum) and writes JSONL;
- ``rewardsmith score FILE --spec examples/qa.toml`` as a subprocess (the user's path: run log
  included), its wall time, its peak RSS (from wait4, this process tree), and the ratio
  anchor_time / score_time (>= 1.0 means at least as fast as the loop);
- with ``--repeat N``, N anchor/CLI pairs per size run alternately (the machine's speed
  drifts between minutes, less within a pair), each pair's ratio and their median;
- the RSS ratio between the largest and the smallest size (the peak over the pairs), and the
  load average;
- where the time goes, in-process on the smallest size: µs per row for reading, preparing
  samples, planning, running the spec's rewards, combining, the run log and writing.

The input file is written fresh for every size, so the page cache holds it (warm) for both
the anchor and the CLI; each run writes a fresh run log, so there are no resumed rows or cached
scores (the CLI's summary is checked: every row scored, none resumed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "qa.toml"

_WORDS = ["Paris", "Lyon", "Berlin", "Rome", "Madrid", "Oslo", "Vienna", "Prague"]


def write_rows(path: Path, count: int) -> None:
    """Synthetic rows in the shape examples/qa.jsonl has, 4 samples per group."""
    with path.open("w") as handle:
        for i in range(count):
            group = i // 4
            if group % 2:
                gold = "ABCD"[group % 4]
                guess = "ABCD"[(i * 7) % 4]
                row = {
                    "id": f"r{i}",
                    "task": "mcq",
                    "group": f"g{group}",
                    "prompt": f"Question {group}? A) one B) two C) three D) four",
                    "completion": f"<think>Option {guess} looks right.</think><answer>{guess}</answer>",
                    "reference": gold,
                }
            else:
                gold = _WORDS[group % len(_WORDS)]
                said = _WORDS[(i * 3) % len(_WORDS)]
                body = " ".join(string.ascii_lowercase[(i + k) % 26] * 3 for k in range(i % 40))
                completion = (
                    f"<think>{body} so it is {said}.</think><answer>{said}</answer>"
                    if i % 5
                    else f"The capital is {said}."
                )
                row = {
                    "id": f"r{i}",
                    "task": "qa",
                    "group": f"g{group}",
                    "prompt": f"What is the capital of country {group}?",
                    "completion": completion,
                    "reference": gold,
                }
            handle.write(json.dumps(row) + "\n")


# -- the anchor: the spec's work written by hand -------------------------------------------------

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S)
_PUNCT = str.maketrans("", "", string.punctuation)


def _norm(text: str) -> str:
    text = text.lower().translate(_PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _format_ok(text: str) -> bool:
    spans = []
    for tag in ("think", "answer"):
        opening, closing = f"<{tag}>", f"</{tag}>"
        if text.count(opening) != 1 or text.count(closing) != 1:
            return False
        start, end = text.index(opening), text.index(closing)
        if end < start or not text[start + len(opening) : end].strip():
            return False
        spans.append((start, end + len(closing)))
    rest = text[: spans[0][0]] + text[spans[0][1] : spans[1][0]] + text[spans[1][1] :]
    return spans[0][1] <= spans[1][0] and not rest.strip()


def plain_loop(source: Path, target: Path) -> None:
    with source.open() as inp, target.open("w") as out:
        for line in inp:
            row = json.loads(line)
            text = row["completion"]
            fmt = 1.0 if _format_ok(text) else 0.0
            found = _ANSWER.findall(text)
            if row["task"] == "qa":
                correct = float(bool(found) and _norm(found[-1]) == _norm(row["reference"]))
            else:
                letters = re.findall(r"\b([A-D])\b", found[-1]) if found else []
                correct = float(bool(letters) and letters[-1] == row["reference"])
            correct *= fmt  # gate = "format"
            size = len(text)
            over = min(0.0, (1000 - 400 - size) / 400) if size > 600 else 0.0
            over = -1.0 if size > 1000 else over
            reward = correct + 0.2 * fmt + over
            row.update(
                reward=reward,
                status="ok",
                reason="",
                components={"correct": correct, "format": fmt, "overlong": over},
            )
            out.write(json.dumps(row) + "\n")


def run_cli(source: Path, target: Path, log_dir: Path, workers: int) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in bytes (the CLI process and what it waited for), stdout."""
    command = [
        sys.executable,
        "-m",
        "rewardsmith.cli",
        "score",
        str(source),
        "--spec",
        str(SPEC),
        "--output",
        str(target),
        "--log-dir",
        str(log_dir),
        "--workers",
        str(workers),
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    out = process.stdout.read().decode() if process.stdout else ""
    err = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"rewardsmith score failed:\n{out}\n{err}")
    return wall, usage.ru_maxrss * 1024, out


def breakdown(source: Path, work: Path) -> dict[str, float]:
    """Seconds per phase of the file path, run in this process, phase by phase."""
    from rewardsmith import load_spec
    from rewardsmith.core.spec import resolve_terms
    from rewardsmith.engine import Engine, prepare_rows
    from rewardsmith.engine.engine import _Plan
    from rewardsmith.io.readers import ChunkReader
    from rewardsmith.io.runlog import RunLog
    from rewardsmith.io.writers import RowWriter, output_row

    spec = load_spec(SPEC)
    terms = resolve_terms(spec)
    engine = Engine(1)
    shaper = engine.shaper(spec)
    run = RunLog(work / "runs_breakdown").create(spec, terms, input_path="-", output_path="-")
    spent: dict[str, float] = {}
    clock = time.perf_counter

    def tick(phase: str, since: float) -> float:
        now = clock()
        spent[phase] = spent.get(phase, 0.0) + now - since
        return now

    with RowWriter(work / "breakdown.jsonl") as writer:
        mark = clock()
        for chunk in ChunkReader(source, 512):
            mark = tick("read", mark)
            prepared, ids = prepare_rows(chunk)
            mark = tick("prepare samples", mark)
            plan = _Plan(prepared, spec, terms, engine.cache)
            mark = tick("plan", mark)
            plan.run_inline()
            mark = tick("rewards (qa.toml's own code)", mark)
            scores, _report = plan.combine_all(ids, shaper)
            mark = tick("combine (shaping)", mark)
            run.append(range(len(ids)), ids, scores)
            mark = tick("run log", mark)
            writer.write([output_row(i, s, r) for i, s, r in zip(ids, scores, chunk, strict=True)])
            mark = tick("write", mark)
    run.close()
    tick("run log", mark)
    engine.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="anchor/CLI pairs per size, run alternately; the median ratio is printed too",
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    print(
        f"{'rows':>9} {'plain loop s':>13} {'score s':>9} {'rows/s':>9} {'vs loop':>8} "
        f"{'peak RSS MB':>12}"
    )
    rss = {}
    spent: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for count in args.rows:
            source = work / f"qa_{count}.jsonl"
            write_rows(source, count)
            ratios = []
            # Alternating pairs: this machine's speed drifts between minutes, and a ratio
            # within one pair drifts less than one taken across the whole run.
            for repetition in range(args.repeat):
                start = time.perf_counter()
                plain_loop(source, work / "plain.jsonl")
                anchor = time.perf_counter() - start
                scored, runs = work / f"scored_{count}.jsonl", work / f"runs_{count}_{repetition}"
                wall, peak, out = run_cli(source, scored, runs, args.workers)
                with scored.open() as handle:
                    written = sum(1 for _ in handle)
                assert written == count, (written, count)
                assert "resumed" not in out.lower() or "resumed: 0" in out.lower(), out
                rss[count] = max(rss.get(count, 0), peak)
                ratios.append(anchor / wall)
                print(
                    f"{count:>9,} {anchor:>13.2f} {wall:>9.2f} {count / wall:>9,.0f} "
                    f"{anchor / wall:>7.2f}x {peak / 2**20:>12.0f}"
                )
                shutil.rmtree(runs)
                scored.unlink()  # so the next CLI run's rename does not pay for freeing it
            if args.repeat > 1:
                print(
                    f"{count:>9,} median of {args.repeat} pairs: {statistics.median(ratios):.2f}x"
                )
            if count == min(args.rows):
                spent = breakdown(source, work)
            (work / "plain.jsonl").unlink()
            source.unlink()
    small = min(args.rows)
    print(f"where the time goes, in-process, {small:,} rows (us/row):")
    for phase, seconds in spent.items():
        print(f"  {phase:<30}{seconds / small * 1e6:>8.1f}")
    print(f"  {'total':<30}{sum(spent.values()) / small * 1e6:>8.1f}")
    if len(rss) > 1:
        small, large = min(rss), max(rss)
        print(f"peak RSS at {large:,} rows / at {small:,} rows: {rss[large] / rss[small]:.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
