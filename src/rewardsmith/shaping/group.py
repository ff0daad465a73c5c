"""Group rewards: rewards that only make sense across the samples of one prompt.

- ``group.majority_vote`` (TTRL, Zuo et al. 2025, "Test-Time Reinforcement Learning"): the
  group's most common extracted answer is taken as a pseudo-label; a sample earns 1.0 when its
  answer equals it and 0.0 otherwise. When the row carries a gold ``reference``, the info says
  whether the pseudo-label was right (`label_accuracy` summarizes a batch).
- `unlikeliness` (He et al. 2025, "Rewarding the Unlikely: Lifting GRPO Beyond Distribution
  Sharpening"): ``r_i * (1 - beta * rank_i / G)``, rank 0 for the sample with the lowest mean
  token log-prob, so the policy's most likely correct samples are paid least.
- `pkpo_rewards` (Walder and Karkhanis 2025, "Pass@K Policy Optimization"): for 0/1 rewards,
  the unbiased per-sample rewards whose policy gradient is that of pass@k: ``k/n`` for a correct
  sample, ``(k/n) * rho(n-1, c, k-1)`` for a wrong one, ``rho(n, c, k) = 1 - C(n-c, k)/C(n, k)``.

Example:
    >>> unlikeliness([1.0, 1.0, 0.0], logprobs=[-0.1, -2.0, -1.0], beta=0.5)
    [0.6666666666666667, 1.0, 0.0]
    >>> [round(r, 4) for r in pkpo_rewards([1.0, 0.0, 0.0, 0.0], k=2)]
    [0.5, 0.1667, 0.1667, 0.1667]
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from fractions import Fraction
from typing import Any

from rewardsmith.core.extract import extract_answer
from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.shaping.normalize import group_indices, usable

__all__ = ["canonical_answer", "label_accuracy", "majority_vote", "pkpo_rewards", "unlikeliness"]


def canonical_answer(text: str) -> str:
    """An answer in a form where equal answers compare equal: whitespace and a trailing period
    removed, ``$`` stripped, and numbers (``2``, ``2.0``, ``4/2``) written as one fraction."""
    cleaned = "".join(text.split()).rstrip(".").strip("$").rstrip(".")
    try:
        number = Fraction(cleaned.replace(",", "")) if cleaned else None
    except (ValueError, ZeroDivisionError):
        number = None
    return str(number) if number is not None else cleaned


def _answer_of(sample: Sample, source: str) -> str | None:
    if source.startswith("field:"):
        raw = sample.get(source.removeprefix("field:"))
        return None if raw is None or str(raw).strip() == "" else canonical_answer(str(raw))
    if source == "text":
        text = sample.completion_text.strip()
        return canonical_answer(text) if text else None
    found = extract_answer(sample.completion_text)
    return canonical_answer(found.text) if found is not None and found.text.strip() else None


@reward(
    "group.majority_vote", kind="group", inline=True, reads=("completion", "reference", "extra")
)
def majority_vote(samples: list[Sample], *, answer: str = "extract") -> list[Score]:
    """TTRL majority-vote reward: 1.0 when a sample's answer equals the group's most common one.

    Args:
        answer: where each answer comes from: ``extract`` (boxed, <answer> tag, "final answer",
            "Answer:" line), ``text`` (the whole completion), or ``field:<name>`` (a row field
            the trainer filled).

    Known failure modes:
        A sample with no answer gets ``parse_error`` and does not vote. Ties between equally
        common answers go to the one that appeared first. A group of one always agrees with
        itself (reward 1.0): use groups of several samples. The pseudo-label is only as good as
        the majority; watch ``label_correct`` (needs a gold ``reference``).
    """
    if answer not in ("extract", "text") and not answer.startswith("field:"):
        raise ValueError(f"answer must be 'extract', 'text' or 'field:<name>', not {answer!r}")
    answers = [_answer_of(sample, answer) for sample in samples]
    votes = Counter(item for item in answers if item is not None)
    if not votes:
        return [Score.fail("parse_error", "no answer found") for _ in samples]
    top = max(votes.values())
    label = next(item for item in answers if item is not None and votes[item] == top)
    voters = sum(votes.values())
    scores = []
    for sample, given in zip(samples, answers, strict=True):
        if given is None:
            scores.append(Score.fail("parse_error", "no answer found", pseudo_label=label))
            continue
        info: dict[str, Any] = {
            "answer": given,
            "pseudo_label": label,
            "support": top / voters,
            "voters": voters,
            "group": sample.group,
        }
        if sample.reference is not None:
            info["label_correct"] = canonical_answer(str(sample.reference)) == label
        scores.append(Score(value=float(given == label), info=info))
    return scores


def label_accuracy(scores: Sequence[Score], term: str | None = None) -> float | None:
    """TTRL's label accuracy: the fraction of groups whose pseudo-label equals the gold
    reference (groups without a reference are left out; rows without a group count alone).
    ``term`` names the majority-vote term when reading combined row scores."""
    verdicts: dict[Any, bool] = {}
    for position, score in enumerate(scores):
        info = score.info
        if term is not None:
            info = info.get("terms", {}).get(term, {}).get("info", {})
        if "label_correct" in info:
            key = info.get("group")
            verdicts[("row", position) if key is None else ("group", key)] = bool(
                info["label_correct"]
            )
    return sum(verdicts.values()) / len(verdicts) if verdicts else None


def unlikeliness(
    rewards: Sequence[float | None],
    logprobs: Sequence[float | None],
    groups: Sequence[Hashable | None] | None = None,
    *,
    beta: float = 0.25,
) -> list[float | None]:
    """``r_i * (1 - beta * rank_i / G)`` within each group, ranks by log-prob (0 = least likely).

    ``G`` counts the group's rows with a usable reward and log-prob; other rows keep their
    reward (None stays None, a reward without a log-prob is returned unchanged).
    """
    if len(rewards) != len(logprobs):
        raise ValueError(f"{len(rewards)} rewards but {len(logprobs)} log-probs")
    out = list(rewards)
    for members in group_indices(len(rewards), groups):
        kept = [i for i in members if usable(rewards[i]) and usable(logprobs[i])]
        ordered = sorted(kept, key=lambda i: logprobs[i])  # type: ignore[arg-type,return-value]
        size = len(kept)
        for position, index in enumerate(ordered):
            out[index] = float(rewards[index]) * (1.0 - beta * position / size)  # type: ignore[arg-type]
    return out


def _rho(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimate from n samples with c correct: ``1 - C(n-c, k) / C(n, k)``."""
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pkpo_rewards(
    rewards: Sequence[float | None],
    groups: Sequence[Hashable | None] | None = None,
    *,
    k: int,
    threshold: float = 1.0,
) -> list[float | None]:
    """PKPO's transformed rewards for binary outcomes (correct = reward >= ``threshold``).

    Needs ``k <= n`` usable rows per group; smaller groups raise ``ValueError``.
    """
    out: list[float | None] = [None] * len(rewards)
    for members in group_indices(len(rewards), groups):
        kept = [i for i in members if usable(rewards[i])]
        n = len(kept)
        if n == 0:
            continue
        if k > n:
            raise ValueError(f"pass@{k} needs at least {k} samples per group, a group has {n}")
        correct = [float(rewards[i]) >= threshold for i in kept]  # type: ignore[arg-type]
        c = sum(correct)
        wrong_value = (k / n) * _rho(n - 1, c, k - 1) if n > 1 else 0.0
        for index, is_correct in zip(kept, correct, strict=True):
            out[index] = k / n if is_correct else wrong_value
    return out
