"""Likelihood rewards: how probable the reference answer is after the policy's own reasoning.

RLPR (Yu et al. 2025) and VeriFree (Zhou et al. 2025) reward a reasoning trace by the policy's
probability of producing the gold answer after it, with no verifier: ``P(reference | prompt,
reasoning)``. The reasoning is the completion cut before its own answer (``answer_marker``),
followed by ``answer_prefix``; the reference follows with ``answer_suffix``. Per-token
log-probabilities come from the row (``logps_field``, computed by the trainer's policy) or from a
local causal LM (``model``).

Example:
    >>> from rewardsmith import Sample
    >>> s = Sample(id="1", completion="...", reference="4",
    ...            extra={"reference_logps": [math.log(0.5), math.log(0.8)]})
    >>> round(likelihood(s, reduce="prob_mean").value, 3)
    0.65
    >>> round(likelihood(s, reduce="prob").value, 3)
    0.4
"""

from __future__ import annotations

import math
import re
from typing import Literal

from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.models.implicit import read_logps

__all__ = ["likelihood", "reasoning_context"]

Reduce = Literal["mean", "sum", "prob_mean", "prob"]


def reasoning_context(completion: str, answer_marker: str | None) -> str:
    """The completion up to (not including) the first match of ``answer_marker``, if any."""
    if answer_marker:
        found = re.search(answer_marker, completion)
        if found:
            return completion[: found.start()]
    return completion


def _reduce(logps: list[float], reduce: Reduce) -> float:
    if reduce == "sum":
        return math.fsum(logps)
    if reduce == "mean":
        return math.fsum(logps) / len(logps)
    if reduce == "prob_mean":
        return math.fsum(math.exp(v) for v in logps) / len(logps)
    return math.exp(math.fsum(logps))


@reward(
    "likelihood", version="1", reads=("prompt", "completion", "reference", "extra"), timeout_s=120.0
)
def likelihood(
    sample: Sample,
    *,
    reduce: Reduce = "mean",
    logps_field: str = "reference_logps",
    model: str | None = None,
    answer_marker: str | None = r"<answer>|\\boxed\{",
    answer_prefix: str = "\nAnswer: ",
    answer_suffix: str = "",
) -> Score:
    """Log-probability (or probability) of the reference answer given prompt and reasoning.

    Args:
        sample: the sample; ``reference`` is the gold answer text.
        reduce: ``mean`` (mean token log-prob), ``sum`` (log P(reference)), ``prob_mean`` (mean
            token probability, RLPR) or ``prob`` (P(reference), VeriFree).
        logps_field: extra field with the reference tokens' log-probs (when no ``model``).
        model: a local causal LM directory to compute them instead.
        answer_marker: regex where the policy's own answer starts; the reasoning is cut there
            (model only).
        answer_prefix: text between the reasoning and the reference (model only).
        answer_suffix: text after the reference, scored with it (e.g. ``</answer>``).

    Returns:
        ``ok`` with the reduced value and ``info["tokens"]``; ``invalid_reference`` when the
        reference or the log-prob field is missing, or the log-probs are not a list.

    Known failure modes:
        The reward follows the model's prior over answer formats: "4" and "four" differ, so
        normalise references. ``sum``/``prob`` fall with the reference's length; the ``mean``
        forms do not. A reasoning trace that states the answer early raises the reward without
        being sound. With a ``model`` whose tokenizer differs from the policy's, the numbers
        are not the policy's likelihoods.
    """
    if model is not None:
        if sample.reference is None or str(sample.reference) == "":
            return Score.fail("invalid_reference", "no reference answer to score")
        from rewardsmith.models.bt.data import conversation_text
        from rewardsmith.models.causal import load_causal_lm

        context = (
            conversation_text(sample.prompt)
            + reasoning_context(sample.completion_text, answer_marker)
            + answer_prefix
        )
        logps = load_causal_lm(model).continuation_logprobs(
            context, str(sample.reference) + answer_suffix
        )
    else:
        raw = sample.extra.get(logps_field)
        found = read_logps(sample, logps_field)
        if isinstance(found, str):
            return Score.fail("invalid_reference", found)
        if not isinstance(raw, list):
            return Score.fail(
                "invalid_reference", f"field {logps_field!r} must be a list of per-token log-probs"
            )
        logps = [float(v) for v in raw]
    if not logps:
        return Score.fail("invalid_reference", "the reference has no tokens")
    return Score(value=_reduce(logps, reduce), info={"tokens": len(logps)})
