"""verl adapter: a spec as verl's ``compute_score`` (one sample) and its batch variant.

verl (read at v0.8.0.dev, ``verl/experimental/reward_loop/reward_manager/naive.py`` and
``verl/workers/reward_manager/batch.py``) calls the configured function as::

    compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=..., **reward_kwargs)
    compute_score(data_sources=..., solution_strs=..., ground_truths=..., extra_infos=..., **reward_kwargs)

the first from executor threads, one sample per call; ``reward_kwargs`` come from
``custom_reward_function.reward_kwargs`` in its config. A float or a dict with ``score`` is
expected; every other key of the dict is logged, so each row carries the same keys.

Point verl at this module (``custom_reward_function.path=pkg://rewardsmith.integrations.verl``,
``name=compute_score`` or ``compute_score_batch`` with the ``batch`` reward manager) and name the
spec in ``reward_kwargs.spec`` or ``$REWARDSMITH_SPEC``; or build your own with
`make_compute_score`. Mapping: ``data_source`` -> ``task`` (so ``when`` routes by dataset),
``ground_truth`` -> ``reference``, ``solution_str`` -> ``completion``, ``extra_info`` keys ->
extra fields (never overriding those).

verl has no way to skip a sample, so a masked reward (None) is sent as ``masked_value``
(default 0.0) and flagged: the dict's ``masked`` is 1.0 and ``status`` names what happened.

Example:
    >>> from rewardsmith.integrations.verl import make_compute_score
    >>> compute_score = make_compute_score({"terms": [{"name": "em", "use": "exact_match"}]})
    >>> compute_score("gsm8k", "42", "42")
    {'score': 1.0, 'status': 'ok', 'masked': 0.0, 'reason': '', 'em': 1.0}
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rewardsmith.core.sample import KNOWN_FIELDS, Sample
from rewardsmith.core.score import Score
from rewardsmith.integrations.batched import BatchedScorer, plain, spec_from

__all__ = ["VerlComputeScore", "compute_score", "compute_score_batch", "make_compute_score"]

VERL_KWARGS = frozenset(
    {
        "reward_router_address",
        "reward_model_tokenizer",
        "sandbox_fusion_url",
        "concurrent_semaphore",
        "memory_limit_mb",
    }
)
"""Keyword arguments verl itself may add to the call; accepted and not used."""


class VerlComputeScore:
    """A picklable verl ``compute_score`` for one spec.

    Args:
        spec: a reward name, TOML path, dict or `Spec`.
        masked_value: the score verl receives for a masked row (verl cannot skip one).
        return_dict: return ``{"score", "status", "masked", "reason", <term>...}``; False
            returns the bare float.
        workers: worker processes for cpu rewards.
    """

    def __init__(
        self,
        spec: Any,
        *,
        masked_value: float = 0.0,
        return_dict: bool = True,
        workers: int | None = None,
    ) -> None:
        self.scorer = (
            spec if isinstance(spec, BatchedScorer) else BatchedScorer(spec, workers=workers)
        )
        self.masked_value = float(masked_value)
        self.return_dict = return_dict
        self.term_names = [term.name for term in self.scorer.spec.terms]

    def __call__(
        self,
        data_source: Any,
        solution_str: str,
        ground_truth: Any,
        extra_info: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> float | dict[str, Any]:
        _check_kwargs(kwargs)
        sample = Sample.from_row(_row(data_source, solution_str, ground_truth, extra_info), 0)
        return self._result(self.scorer.score_one(sample))

    def batch(
        self,
        data_sources: Sequence[Any],
        solution_strs: Sequence[str],
        ground_truths: Sequence[Any],
        extra_infos: Sequence[dict[str, Any] | None] | None = None,
        **kwargs: Any,
    ) -> list[float | dict[str, Any]]:
        """The batch variant (verl's ``batch`` reward manager): one result per sample."""
        _check_kwargs(kwargs)
        count = len(solution_strs)
        infos = list(extra_infos) if extra_infos is not None else [None] * count
        for name, values in (
            ("data_sources", data_sources),
            ("ground_truths", ground_truths),
            ("extra_infos", infos),
        ):
            if len(values) != count:
                raise ValueError(f"{name} has {len(values)} items but solution_strs has {count}")
        rows = [
            _row(source, solution, truth, info)
            for source, solution, truth, info in zip(
                data_sources, solution_strs, ground_truths, infos, strict=True
            )
        ]
        return [self._result(score) for score in self.scorer.score_rows(rows)]

    def _result(self, score: Score) -> float | dict[str, Any]:
        value = score.value if score.value is not None else self.masked_value
        if not self.return_dict:
            return value
        result: dict[str, Any] = {
            "score": value,
            "status": score.status,
            "masked": float(score.value is None),
            "reason": score.reason,
        }
        for name in self.term_names:
            result[name] = score.components.get(name, math.nan)
        return result


def make_compute_score(
    spec: Any, *, masked_value: float = 0.0, return_dict: bool = True, workers: int | None = None
) -> VerlComputeScore:
    """A verl ``compute_score`` for ``spec``; its ``.batch`` is the batch variant."""
    return VerlComputeScore(
        spec, masked_value=masked_value, return_dict=return_dict, workers=workers
    )


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: dict[str, Any] | None = None,
    *,
    spec: Any = None,
    masked_value: float = 0.0,
    **kwargs: Any,
) -> float | dict[str, Any]:
    """verl's ``compute_score`` for the spec in ``spec`` (``reward_kwargs``) or ``$REWARDSMITH_SPEC``."""
    _check_kwargs(kwargs)
    scorer = VerlComputeScore(spec_from(spec, "verl compute_score"), masked_value=masked_value)
    return scorer(data_source, solution_str, ground_truth, extra_info, **kwargs)


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[dict[str, Any] | None] | None = None,
    *,
    spec: Any = None,
    masked_value: float = 0.0,
    **kwargs: Any,
) -> list[float | dict[str, Any]]:
    """verl's batch ``compute_score`` (``reward_manager=batch``)."""
    _check_kwargs(kwargs)
    scorer = VerlComputeScore(
        spec_from(spec, "verl compute_score_batch"), masked_value=masked_value
    )
    return scorer.batch(data_sources, solution_strs, ground_truths, extra_infos, **kwargs)


def _row(
    data_source: Any, solution: str, truth: Any, info: dict[str, Any] | None
) -> dict[str, Any]:
    row = {k: plain(v) for k, v in (info or {}).items() if k not in KNOWN_FIELDS}
    row["completion"] = plain(solution)
    row["reference"] = plain(truth)
    row["task"] = None if data_source is None else str(plain(data_source))
    return row


def _check_kwargs(kwargs: dict[str, Any]) -> None:
    unknown = sorted(set(kwargs) - VERL_KWARGS)
    if unknown:
        # A typo in reward_kwargs (`sepc=`) must not be ignored silently.
        raise TypeError(
            f"unexpected keyword argument(s) {unknown}; rewardsmith's verl compute_score takes "
            f"spec, masked_value and verl's own {sorted(VERL_KWARGS)}"
        )
