"""Process reward models: split a solution into steps, score each step, aggregate.

A step scorer is any callable ``scorer(prompt, steps) -> list[float]`` giving one score per step
(for a PRM, usually the probability that the step is correct). Scores come from one of:

- the row: a list of numbers in an extra field (``steps_field``), e.g. computed by a PRM served
  elsewhere (vLLM's reward pooling, a Math-Shepherd/Qwen-PRM run);
- an import path ``scorer = "pkg.module:fn"`` to a step scorer, or to a factory called once per
  process with ``scorer_args`` that returns one (`reward_model_steps` is such a factory: it
  scores each prefix of the solution with a saved Bradley-Terry model).

Aggregation (`rewardsmith.shaping.credit.aggregate`): ``min`` (the weakest step; PRM800K),
``product``, ``last``, ``mean``, ``sum``, or ``pure`` (PURE's softmax-weighted min-form). The
step scores also go to ``info["steps"]``, where a term's ``credit`` table can re-aggregate them.

Example:
    >>> split_steps("Step 1: x = 2\\nStep 2: y = 3\\nSo 5.", "step_header")
    ['Step 1: x = 2', 'Step 2: y = 3\\nSo 5.']
    >>> from rewardsmith import Sample
    >>> s = Sample(id="1", completion="a\\n\\nb\\n\\nc", extra={"step_scores": [0.9, 0.2, 0.8]})
    >>> prm(s, steps_field="step_scores").value
    0.2
"""

from __future__ import annotations

import functools
import importlib
import math
import re
from collections.abc import Sequence
from typing import Any, Final, Literal, Protocol

from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.shaping.credit import aggregate

__all__ = ["StepScorer", "prm", "reward_model_steps", "split_steps"]

SplitRule = Literal["double_newline", "newline", "step_header"]

_STEP_HEADER: Final = re.compile(r"(?im)^(?=\s*(?:#+\s*)?step\s*\d+\s*[:.)])")


class StepScorer(Protocol):
    """Scores the steps of one solution; returns one float per step."""

    def __call__(self, prompt: str, steps: Sequence[str]) -> Sequence[float]: ...


def split_steps(
    text: str, rule: SplitRule = "double_newline", separator: str | None = None
) -> list[str]:
    """Steps of a solution, stripped, empty ones dropped.

    Args:
        text: the solution.
        rule: ``double_newline`` (paragraphs; the Qwen2.5-Math-PRM convention), ``newline``
            (lines; PRM800K) or ``step_header`` (at each line starting ``Step N:``; text before
            the first header is its own step).
        separator: a regex to split at instead of ``rule``.
    """
    if separator is not None:
        parts = re.split(separator, text)
    elif rule == "double_newline":
        parts = re.split(r"\n\s*\n", text)
    elif rule == "newline":
        parts = text.split("\n")
    elif rule == "step_header":
        parts = _STEP_HEADER.split(text)
    else:
        raise ValueError(f"unknown split rule {rule!r}")
    return [part.strip() for part in parts if part.strip()]


@functools.lru_cache(maxsize=8)
def _load_scorer(target: str, args_json: str) -> StepScorer:
    import json

    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"scorer {target!r} is not an import path 'package.module:function'")
    found: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        found = getattr(found, part)
    args = json.loads(args_json)
    return found(**args) if args else found


def reward_model_steps(model: str, cache: str | None = None, device: str = "cpu") -> StepScorer:
    """A step scorer from a saved Bradley-Terry model: ``σ(r(prompt, steps[:i+1]))`` per step.

    A BT model trained on whole answers is only a proxy for step correctness; use a model
    trained on step labels (or a real PRM's scores through ``steps_field``) where you have one.
    """
    from rewardsmith.models.bt.model import load_reward_model

    loaded = load_reward_model(model, cache=cache, device=device)

    def score(prompt: str, steps: Sequence[str]) -> list[float]:
        prefixes = ["\n\n".join(steps[: i + 1]) for i in range(len(steps))]
        values = loaded.score([prompt] * len(prefixes), prefixes).mean(1)
        return [1.0 / (1.0 + math.exp(-float(v))) for v in values]

    return score


@reward("prm", version="1", reads=("prompt", "completion", "extra"), timeout_s=120.0)
def prm(
    sample: Sample,
    *,
    aggregate_by: Literal["min", "product", "last", "mean", "sum", "pure"] = "min",
    temperature: float = 0.1,
    split: SplitRule = "double_newline",
    separator: str | None = None,
    steps_field: str | None = None,
    scorer: str | None = None,
    scorer_args: dict[str, Any] | None = None,
) -> Score:
    """Process reward: each step of the completion scored, then aggregated into one value.

    Args:
        sample: the sample.
        aggregate_by: ``min``, ``product``, ``last``, ``mean``, ``sum`` or ``pure``.
        temperature: PURE's softmax temperature (``pure`` only).
        split: how the completion is cut into steps (see `split_steps`).
        separator: a regex to split at instead of ``split``.
        steps_field: an extra field of the row holding one score per step (precomputed).
        scorer: ``package.module:callable``, a `StepScorer` (or a factory with ``scorer_args``).
        scorer_args: keyword arguments of the factory, e.g. ``{"model": "runs/rm"}`` for
            ``rewardsmith.models.prm:reward_model_steps``.

    Returns:
        ``ok`` with the aggregate and ``info["steps"]`` (one score per step); ``parse_error``
        when the completion has no steps; ``invalid_reference`` when ``steps_field`` is missing,
        not a list of numbers, or its length differs from the number of steps.

    Known failure modes:
        ``product`` shrinks with the number of steps and so rewards short solutions; ``mean``
        and ``sum`` reward padding with easy correct steps (PURE's reward-hacking finding);
        ``min`` is the robust default. Step splitting must match how the PRM was trained: a PRM
        trained on paragraphs scores lines poorly.
    """
    if (steps_field is None) == (scorer is None):
        return Score.fail("error", "give exactly one of steps_field or scorer")
    steps = split_steps(sample.completion_text, split, separator)
    if not steps:
        return Score.fail("parse_error", "the completion has no steps")
    if steps_field is not None:
        raw = sample.extra.get(steps_field)
        if not isinstance(raw, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in raw
        ):
            return Score.fail(
                "invalid_reference",
                f"field {steps_field!r} must be a list of numbers, got {raw!r:.80}",
            )
        if len(raw) != len(steps):
            return Score.fail(
                "invalid_reference",
                f"field {steps_field!r} has {len(raw)} scores but the completion has {len(steps)} "
                f"steps (split={split!r})",
            )
        scores = [float(v) for v in raw]
    else:
        import json

        step_scorer = _load_scorer(str(scorer), json.dumps(scorer_args or {}, sort_keys=True))
        from rewardsmith.models.bt.data import conversation_text

        scores = [float(v) for v in step_scorer(conversation_text(sample.prompt), steps)]
        if len(scores) != len(steps):
            return Score.fail(
                "error", f"scorer returned {len(scores)} scores for {len(steps)} steps"
            )
    if any(math.isnan(v) for v in scores):
        return Score.fail("error", "a step score is NaN")
    value = aggregate(scores, aggregate_by, temperature=temperature)
    return Score(value=value, info={"steps": scores, "n_steps": len(steps)})
