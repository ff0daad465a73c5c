"""Implicit rewards of DPO-trained models: ``β·(log π(y|x) − log π_ref(y|x))`` and relatives.

A DPO-trained policy ``π`` defines a reward through its reference model ``π_ref`` (Rafailov et
al. 2023). RewardBench scores DPO models this way, and also reference-free (``β·log π``); SimPO
(Meng et al. 2024) uses the length-normalised ``β/|y|·log π``. The per-token log-probabilities
come from the row (``policy_logps``, ``ref_logps``: lists of numbers, or their sums) or from
local causal LMs (``policy_model``, ``ref_model`` directories).

Example:
    >>> from rewardsmith import Sample
    >>> s = Sample(id="1", completion="y", extra={"policy_logps": [-0.5, -1.0], "ref_logps": [-1.0, -1.5]})
    >>> dpo_implicit(s, beta=0.1).value
    0.1
    >>> round(dpo_implicit(s, form="simpo", beta=2.0).value, 4)
    -1.5
"""

from __future__ import annotations

import math
from typing import Any, Literal

from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

__all__ = ["dpo_implicit", "read_logps"]

Form = Literal["dpo", "dpo_norm", "ref_free", "simpo"]


def read_logps(sample: Sample, field: str) -> tuple[float, int | None] | str:
    """(sum, token count or None) from a row field: a list of per-token log-probs or their sum.

    Returns the problem as text when the field is missing or not log-probabilities.
    """
    raw: Any = sample.extra.get(field)
    if raw is None:
        return f"field {field!r} is missing"
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        values, count = [float(raw)], None
    elif isinstance(raw, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in raw
    ):
        values, count = [float(v) for v in raw], len(raw)
    else:
        return (
            f"field {field!r} must be a list of per-token log-probs or their sum, got {raw!r:.60}"
        )
    for value in values:
        if not math.isfinite(value) or value > 1e-6:
            return f"field {field!r} holds {value}, not a log-probability (finite, <= 0)"
    return math.fsum(values), count


def _from_model(path: str, sample: Sample) -> tuple[float, int]:
    from rewardsmith.models.bt.data import conversation_text
    from rewardsmith.models.causal import load_causal_lm

    logps = load_causal_lm(path).continuation_logprobs(
        conversation_text(sample.prompt), sample.completion_text
    )
    return math.fsum(logps), len(logps)


@reward("dpo.implicit", version="1", reads=("prompt", "completion", "extra"), timeout_s=120.0)
def dpo_implicit(
    sample: Sample,
    *,
    beta: float = 0.1,
    form: Form = "dpo",
    policy_field: str = "policy_logps",
    ref_field: str = "ref_logps",
    policy_model: str | None = None,
    ref_model: str | None = None,
) -> Score:
    """The implicit reward of a DPO-trained policy for the completion.

    Args:
        sample: the sample; log-probs are read from its extra fields unless models are given.
        beta: the DPO β (the scale of the reward).
        form: ``dpo`` ``β·(Σ log π − Σ log π_ref)``; ``dpo_norm`` the same per token;
            ``ref_free`` ``β·Σ log π``; ``simpo`` ``β·(Σ log π)/|y|``.
        policy_field: extra field with the policy's per-token log-probs of the completion.
        ref_field: extra field with the reference model's (``dpo`` and ``dpo_norm`` only).
        policy_model: a local causal LM directory to compute the policy log-probs instead.
        ref_model: a local causal LM directory to compute the reference log-probs instead.

    Returns:
        ``ok`` with the reward, ``info`` holding the log-prob sums and token count;
        ``invalid_reference`` when a needed field is missing or malformed, or the per-token
        lists differ in length (the two models must share a tokenizer).

    Known failure modes:
        ``dpo`` grows with length when the policy is more confident than the reference on
        every token, so long completions win; ``dpo_norm``/``simpo`` divide by length. The
        reward is meaningful only for the (policy, reference) pair the policy was trained
        against, with the same chat template used to compute both.
    """
    policy: tuple[float, int | None]
    reference: tuple[float, int | None]
    if policy_model is not None:
        policy = _from_model(policy_model, sample)
    else:
        found = read_logps(sample, policy_field)
        if isinstance(found, str):
            return Score.fail("invalid_reference", found)
        policy = found
    policy_sum, policy_count = policy
    info: dict[str, Any] = {"policy_logp": policy_sum, "tokens": policy_count}
    needs_count = form in ("dpo_norm", "simpo")
    if needs_count and policy_count is None:
        return Score.fail(
            "invalid_reference", f"form {form!r} needs per-token log-probs in {policy_field!r}"
        )
    if form == "ref_free":
        return Score(value=beta * policy_sum, info=info)
    if form == "simpo":
        return Score(value=beta * policy_sum / max(policy_count or 1, 1), info=info)
    if ref_model is not None:
        reference = _from_model(ref_model, sample)
    else:
        found = read_logps(sample, ref_field)
        if isinstance(found, str):
            return Score.fail("invalid_reference", found)
        reference = found
    ref_sum, ref_count = reference
    info["ref_logp"] = ref_sum
    if policy_count is not None and ref_count is not None and policy_count != ref_count:
        return Score.fail(
            "invalid_reference",
            f"{policy_field!r} has {policy_count} tokens but {ref_field!r} has {ref_count}: "
            "both must be log-probs of the same tokens",
        )
    if form == "dpo":
        return Score(value=beta * (policy_sum - ref_sum), info=info)
    return Score(value=beta * (policy_sum - ref_sum) / max(policy_count or 1, 1), info=info)
