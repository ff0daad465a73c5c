"""Reward-model metrics beyond accuracy: one-vs-many, consistency, calibration, length bias.

Every function takes plain scores (floats; None for a row the reward could not score) so the
same numbers come out whether the scores came from a spec, a learned model or a JSONL file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rewardsmith.audit.stats import pearson, spearman

__all__ = [
    "Calibration",
    "Consistency",
    "LengthBias",
    "OneVsMany",
    "calibration",
    "consistency",
    "length_bias",
    "one_vs_many",
]


@dataclass
class OneVsMany:
    """RewardMATH-style results: one correct answer against many wrong ones."""

    accuracy: float
    """Fraction of items where the correct answer scores strictly above every wrong one."""
    mrr: float
    """Mean reciprocal rank of the correct answer (rank 1 + wrong answers scoring >= it)."""
    items: int


def one_vs_many(items: list[tuple[float | None, list[float | None]]]) -> OneVsMany:
    """Accuracy and MRR over ``(correct_score, wrong_scores)`` items.

    Ties rank the correct answer below the tied wrong answers (a reward that cannot separate
    them has not found the correct one). A missing correct score ranks last.

    Example:
        >>> r = one_vs_many([(3.0, [1.0, 2.0]), (2.0, [2.0, 5.0]), (1.0, [0.0, 0.5])])
        >>> r.accuracy, round(r.mrr, 4)
        (0.6666666666666666, 0.7778)
    """
    if not items:
        raise ValueError("one_vs_many needs at least one item")
    wins = 0
    reciprocal = 0.0
    for correct, wrong in items:
        if correct is None:
            rank = len(wrong) + 1
        else:
            rank = 1 + sum(1 for w in wrong if w is not None and w >= correct)
        wins += rank == 1
        reciprocal += 1 / rank
    return OneVsMany(wins / len(items), reciprocal / len(items), len(items))


@dataclass
class Consistency:
    """Contrast-pair consistency (Shen et al. 2023, "The Trickle-down Impact of Reward
    (In-)consistency on RLHF")."""

    response: float
    """Both prompts prefer their own response: r(a, A) > r(a, B) and r(b, B) > r(b, A)."""
    instruction: float
    """Both responses prefer their own prompt: r(a, A) > r(b, A) and r(b, B) > r(a, B)."""
    pairs: int


def consistency(
    quads: list[tuple[float | None, float | None, float | None, float | None]],
) -> Consistency:
    """Consistency over ``(r(a,A), r(a,B), r(b,A), r(b,B))``: prompt a or b, response A or B.

    Response A is the right answer to prompt a and B to prompt b; a missing score fails the pair.

    Example:
        >>> c = consistency([(3, 1, 0, 2), (3, 1, 4, 2)])
        >>> c.response, c.instruction
        (0.5, 0.5)
    """
    if not quads:
        raise ValueError("consistency needs at least one contrast pair")
    response = instruction = 0
    for aa, ab, ba, bb in quads:
        if None in (aa, ab, ba, bb):
            continue
        response += aa > ab and bb > ba  # type: ignore[operator]
        instruction += aa > ba and bb > ab  # type: ignore[operator]
    return Consistency(response / len(quads), instruction / len(quads), len(quads))


@dataclass
class Calibration:
    """How well ``σ((r_chosen - r_rejected) / T)`` predicts that the chosen answer wins."""

    ece: float
    """Expected calibration error over ``bins`` equal-width bins, at temperature 1."""
    brier: float
    """Mean squared error of the predicted probability, at temperature 1."""
    temperature: float
    """The T that minimises the log loss (inf when the mean margin is <= 0, 0 when every
    margin is > 0)."""
    ece_at_temperature: float | None
    """ECE after dividing the margins by the fitted temperature; None without positive skill,
    where the fit predicts 0.5 for every pair and its ECE of 0 would read as perfect."""
    curve: list[tuple[float, float, int]]
    """Reliability curve at T=1: (mean predicted probability, observed rate, count) per bin."""
    pairs: int
    mean_margin: float = 0.0
    """Mean of ``r_chosen - r_rejected``."""
    no_skill: bool = False
    """The reward does not prefer the chosen answer on average (mean margin <= 0): a
    temperature cannot calibrate it, and the fitted values describe no model."""


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    z = math.exp(x)
    return z / (1 + z)


def _ece(
    margins: list[float], scale: float, bins: int
) -> tuple[float, list[tuple[float, float, int]]]:
    # Each pair is counted in both orientations, (p, chosen won) and (1 - p, rejected lost), so
    # the labels are not all 1 and the reliability curve is symmetric about 0.5.
    sums = [[0.0, 0.0, 0] for _ in range(bins)]
    for margin in margins:
        p = (
            _sigmoid(margin * scale)
            if math.isfinite(scale)
            else (1.0 if margin > 0 else 0.0 if margin < 0 else 0.5)
        )
        for prob, outcome in ((p, 1.0), (1 - p, 0.0)):
            slot = sums[min(bins - 1, int(prob * bins))]
            slot[0] += prob
            slot[1] += outcome
            slot[2] += 1
    total = 2 * len(margins)
    ece = 0.0
    curve = []
    for confidence, hits, count in sums:
        if count:
            ece += count / total * abs(hits / count - confidence / count)
            curve.append((confidence / count, hits / count, int(count)))
    return ece, curve


def _fit_inverse_temperature(margins: list[float]) -> float:
    """argmin over β >= 0 of mean log(1 + exp(-β m)); convex, solved by bisection on the slope."""

    def slope(beta: float) -> float:
        return -sum(m * _sigmoid(-beta * m) for m in margins) / len(margins)

    if slope(0.0) >= 0:  # mean margin <= 0: the best is to predict 0.5 everywhere
        return 0.0
    if min(margins) >= 0:  # no pair is wrong: the loss falls forever as confidence grows
        return math.inf
    high = 1.0
    while slope(high) < 0:  # terminates: a negative margin makes the slope positive eventually
        high *= 2
    low = 0.0
    for _ in range(100):
        mid = (low + high) / 2
        if slope(mid) < 0:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def calibration(margins: list[float | None], bins: int = 10) -> Calibration:
    """Calibration of ``σ(r_c - r_r)`` as the probability that the chosen answer is preferred.

    Example:
        >>> c = calibration([2.0, -1.0, 0.5, 3.0])
        >>> round(c.brier, 4), round(c.temperature, 3)
        (0.1734, 1.154)
        >>> backwards = calibration([-2.0, -1.0, 0.5])  # prefers the rejected answer
        >>> backwards.no_skill, backwards.temperature, backwards.ece_at_temperature
        (True, inf, None)
    """
    if bins < 1:
        raise ValueError("calibration needs bins >= 1")
    values = [m for m in margins if m is not None]
    if not values:
        raise ValueError("calibration needs at least one pair with both scores")
    brier = sum((1 - _sigmoid(m)) ** 2 for m in values) / len(values)
    ece, curve = _ece(values, 1.0, bins)
    beta = _fit_inverse_temperature(values)
    temperature = math.inf if beta == 0 else 0.0 if math.isinf(beta) else 1 / beta
    no_skill = beta == 0
    ece_t = None if no_skill else _ece(values, beta, bins)[0]
    mean_margin = sum(values) / len(values)
    return Calibration(ece, brier, temperature, ece_t, curve, len(values), mean_margin, no_skill)


@dataclass
class LengthBias:
    """Does the reward pay for length?"""

    longer_wins: float | None
    """Among pairs of different length, how often the reward scores the longer answer higher
    (ties count half). 0.5 is length-neutral."""
    chosen_longer: float | None
    """How often the labelled-better answer is the longer one: the data's own length bias,
    the number to compare ``longer_wins`` with."""
    pearson: float | None
    """Correlation of reward with length over every scored answer."""
    spearman: float | None
    pairs: int


def length_bias(
    pairs: list[tuple[float | None, float | None, int, int]],
) -> LengthBias:
    """Length bias over ``(r_chosen, r_rejected, len_chosen, len_rejected)``.

    Example:
        >>> b = length_bias([(2.0, 1.0, 100, 10), (1.0, 3.0, 50, 80), (1.0, 1.0, 30, 20)])
        >>> round(b.longer_wins, 3), round(b.chosen_longer, 3)
        (0.833, 0.667)
    """
    wins = compared = chosen_longer = 0.0
    rewards: list[float] = []
    lengths: list[float] = []
    for rc, rr, lc, lr in pairs:
        for reward, size in ((rc, lc), (rr, lr)):
            if reward is not None:
                rewards.append(reward)
                lengths.append(size)
        if lc == lr or rc is None or rr is None:
            continue
        compared += 1
        chosen_longer += lc > lr
        long_r, short_r = (rc, rr) if lc > lr else (rr, rc)
        wins += 1.0 if long_r > short_r else 0.5 if long_r == short_r else 0.0
    return LengthBias(
        longer_wins=wins / compared if compared else None,
        chosen_longer=chosen_longer / compared if compared else None,
        pearson=pearson(lengths, rewards),
        spearman=spearman(lengths, rewards),
        pairs=int(compared),
    )
