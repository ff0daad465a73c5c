"""Self-certainty: how far the policy's token distributions are from uniform (Kang et al. 2025).

Self-certainty of a response is the mean over its tokens of ``KL(U ‖ p_t)``, the divergence of
the uniform distribution from the token distribution; a higher value means a more confident
model, and among N samples of one prompt the most self-certain is a strong best-of-N pick
without a reward model (it also serves as an intrinsic reward, as in INTUITOR).

An API returns only the top-k log-probs per token, so this computes the divergence over the
top-k, renormalised to sum to 1 (``renormalize=True``, the default) or as given. Accepted shapes
of the row field: a list per token of numbers, of ``{token: logprob}`` dicts, or of OpenAI
``top_logprobs`` entries (``[{"token": ..., "logprob": ...}]``), or a whole OpenAI ``logprobs``
object (``{"content": [{"top_logprobs": [...]}, ...]}``). Or ``model`` computes it over the full
vocabulary with a local causal LM.

Example:
    >>> from rewardsmith import Sample
    >>> flat = Sample(id="a", completion="x", extra={"top_logprobs": [[math.log(0.5)] * 2]})
    >>> self_certainty(flat).value
    0.0
    >>> sure = Sample(id="b", completion="x", extra={"top_logprobs": [[math.log(0.98), math.log(0.02)]]})
    >>> round(self_certainty(sure).value, 3)
    1.273
"""

from __future__ import annotations

import math
from typing import Any, Literal

from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.models.causal import kl_from_uniform

__all__ = ["self_certainty", "token_top_logprobs"]


def _numbers(entry: Any) -> list[float] | None:
    if isinstance(entry, dict) and "top_logprobs" in entry:
        entry = entry["top_logprobs"]
    if isinstance(entry, dict):
        entry = list(entry.values())
    if not isinstance(entry, list) or not entry:
        return None
    out: list[float] = []
    for item in entry:
        if isinstance(item, dict):
            item = item.get("logprob")
        if isinstance(item, bool) or not isinstance(item, int | float):
            return None
        value = float(item)
        if math.isnan(value) or value > 1e-6:
            return None
        out.append(max(value, -1e4))  # -inf (a token the API reports as impossible) stays finite
    return out


def token_top_logprobs(raw: Any, field: str) -> list[list[float]] | str:
    """Per-token lists of top-k log-probs from one of the accepted shapes, or the problem."""
    if isinstance(raw, dict) and isinstance(raw.get("content"), list):
        raw = raw["content"]
    if not isinstance(raw, list):
        return f"field {field!r} must be a list with one entry per token, got {type(raw).__name__}"
    tokens: list[list[float]] = []
    for position, entry in enumerate(raw):
        numbers = _numbers(entry)
        if numbers is None:
            return f"field {field!r}: token {position} has no list of top log-probs ({entry!r:.60})"
        tokens.append(numbers)
    return tokens


def _renormalised(logprobs: list[float]) -> list[float]:
    top = max(logprobs)
    total = top + math.log(math.fsum(math.exp(v - top) for v in logprobs))
    return [v - total for v in logprobs]


@reward("self_certainty", version="1", reads=("prompt", "completion", "extra"), timeout_s=120.0)
def self_certainty(
    sample: Sample,
    *,
    field: str = "top_logprobs",
    renormalize: bool = True,
    model: str | None = None,
    form: Literal["kl_uniform", "neg_entropy"] = "kl_uniform",
) -> Score:
    """Mean per-token self-certainty of the completion (higher = more confident).

    Args:
        sample: the sample.
        field: extra field with the per-token top-k log-probs.
        renormalize: renormalise each token's top-k to a distribution before the divergence.
        model: a local causal LM directory: use the full vocabulary instead of ``field``.
        form: ``kl_uniform`` (``KL(U ‖ p)``, the paper's measure) or ``neg_entropy``
            (``−H(p)``, the token-entropy form, field only).

    Returns:
        ``ok`` with the mean over tokens and ``info["tokens"]``; ``invalid_reference`` when the
        field is missing or malformed; ``parse_error`` when it has no tokens.

    Known failure modes:
        Confidence is not correctness: a model that is confidently wrong scores high, and a
        policy trained on this alone collapses to repetitive, low-entropy text. Over top-k the
        value depends on k (compare responses scored with the same k). It is meaningful only
        between responses of the same model.
    """
    if model is not None:
        from rewardsmith.models.bt.data import conversation_text
        from rewardsmith.models.causal import load_causal_lm

        per_token = load_causal_lm(model).continuation_certainty(
            conversation_text(sample.prompt), sample.completion_text
        )
    else:
        raw = sample.extra.get(field)
        if raw is None:
            return Score.fail("invalid_reference", f"field {field!r} is missing")
        tokens = token_top_logprobs(raw, field)
        if isinstance(tokens, str):
            return Score.fail("invalid_reference", tokens)
        if renormalize:
            tokens = [_renormalised(t) for t in tokens]
        if form == "kl_uniform":
            per_token = [kl_from_uniform(t) for t in tokens]
        else:
            per_token = [math.fsum(math.exp(v) * v for v in t) for t in tokens]
    if not per_token:
        return Score.fail("parse_error", "no tokens to measure")
    return Score(value=math.fsum(per_token) / len(per_token), info={"tokens": len(per_token)})
