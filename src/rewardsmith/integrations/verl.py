"""verl adapter: a spec as verl's ``compute_score`` (one sample) and its batch variant.

Read at verl 0.9.1 and tested with its own reward managers (``tests/integrations/test_verl.py``).
verl ≥ 0.9 registers four reward-loop managers, ``naive``, ``dapo``, ``gdpo`` and ``remote``
(``verl/experimental/reward_loop/reward_manager``); the legacy managers ``naive``, ``dapo``,
``batch`` and ``prime`` remain in ``verl/workers/reward_manager``. They call::

    compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=..., **reward_kwargs)
    compute_score(data_sources=..., solution_strs=..., ground_truths=..., extra_infos=..., **reward_kwargs)
    compute_score(data_source, solution_str, ground_truth, extra_info)      # prime, positional

the first from executor threads (``remote``: inside a Ray actor), the second from ``batch``, the
third in a forked ``ProcessPoolExecutor`` child (``prime``). ``reward_kwargs`` come from
``reward.custom_reward_function.reward_kwargs``. What each reads from the answer:

- ``naive``/``dapo``/``gdpo``/``remote``: a dict's ``score`` is the reward and every key is kept
  per row (``reward_extra_info``, stacked across rows, so each row has the same keys); DAPO's
  dynamic sampling (``filter_groups.metric=acc``) and GDPO (``gdpo_reward_keys``) read keys.
- ``prime``: a number, or else ``float(result[0])``. Our dict answers ``result[0]`` with its
  score, so one return value serves every manager.

Point verl at this module (``custom_reward_function.path=pkg://rewardsmith.integrations.verl``,
``name=compute_score``, or ``compute_score_batch`` with the legacy ``batch`` manager) and name
the spec in ``reward_kwargs.spec`` or ``$REWARDSMITH_SPEC``; or build your own with
`make_compute_score`. Mapping: ``data_source`` -> ``task`` (so ``when`` routes by dataset),
``ground_truth`` -> ``reference``, ``solution_str`` -> ``completion``, ``extra_info`` keys ->
extra fields (never overriding those).

verl has no way to skip a sample, so a masked reward (None) is sent as ``masked_value``
(default 0.0) and flagged: the dict's ``masked`` is 1.0 and ``status`` names what happened.
``acc`` is the score (what verl itself logs as ``acc`` for a bare number) or, with
``acc_term``, that term's value. Term names that would overwrite one of these keys, or a key
verl adds itself, are refused when the function is built (`RESERVED_KEYS`).

Example:
    >>> from rewardsmith.integrations.verl import make_compute_score
    >>> compute_score = make_compute_score({"terms": [{"name": "em", "use": "exact_match"}]})
    >>> result = compute_score("gsm8k", "42", "42")
    >>> dict(result)
    {'score': 1.0, 'acc': 1.0, 'status': 'ok', 'masked': 0.0, 'reason': '', 'em': 1.0}
    >>> result[0]  # what verl's prime manager reads
    1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rewardsmith.core.errors import SpecError
from rewardsmith.core.sample import KNOWN_FIELDS, Sample
from rewardsmith.core.score import Score
from rewardsmith.integrations.batched import BatchedScorer, plain, spec_from

__all__ = [
    "RESERVED_KEYS",
    "VerlComputeScore",
    "VerlResult",
    "compute_score",
    "compute_score_batch",
    "make_compute_score",
]

RESERVED_KEYS = frozenset(
    {
        # ours
        "score",
        "acc",
        "status",
        "masked",
        "reason",
        # keys verl's managers and trainer write beside ours, or read by name
        "pred",
        "reward",
        "overlong",
        "overlong_reward",
        "seq_reward",
        "seq_final_reward",
        "input",
        "output",
        "gts",
        "step",
    }
)
"""Keys of verl's per-row dict that a term name may not take (the term would overwrite the
reward, the mask flag, or a key verl writes or reads: DAPO's ``overlong*``, the rollout
dump's ``input``/``output``/``gts``/``step``, validation's ``reward``)."""

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

OUR_KWARGS = frozenset({"masked_value", "return_dict", "acc_term"})
"""Options `compute_score` takes from ``reward_kwargs`` beside ``spec``."""


class VerlResult(dict[str, Any]):
    """The per-row dict verl receives; ``result[0]`` is its score.

    verl's legacy ``prime`` manager takes a number or ``float(result[0])`` (a tuple's first
    item); every other manager reads ``result["score"]`` and keeps every key. The index 0 is
    answered without being a key, so the keys verl stacks and logs stay the same.
    """

    def __missing__(self, key: Any) -> Any:
        if key == 0 and not isinstance(key, bool):
            return self["score"]
        raise KeyError(key)


class VerlComputeScore:
    """A picklable verl ``compute_score`` for one spec.

    Args:
        spec: a reward name, TOML path, dict or `Spec`.
        masked_value: the score verl receives for a masked row (verl cannot skip one).
        return_dict: return a `VerlResult` ``{"score", "acc", "status", "masked", "reason",
            <term>...}``; False returns the bare float (verl then logs it as ``acc``).
        acc_term: the term whose value is ``acc`` (e.g. the correctness term DAPO's
            ``filter_groups`` should compare); None: ``acc`` is the score. A row that term did
            not score has ``acc`` 0.0 (DAPO takes the std of ``acc`` per group, NaN would
            poison it).
        workers: worker processes for cpu rewards.

    Raises:
        SpecError: a term is named like one of `RESERVED_KEYS`, or ``acc_term`` is no term.
    """

    def __init__(
        self,
        spec: Any,
        *,
        masked_value: float = 0.0,
        return_dict: bool = True,
        acc_term: str | None = None,
        workers: int | None = None,
    ) -> None:
        self.scorer = (
            spec if isinstance(spec, BatchedScorer) else BatchedScorer(spec, workers=workers)
        )
        self.masked_value = float(masked_value)
        self.return_dict = return_dict
        self.term_names = [term.name for term in self.scorer.spec.terms]
        for name in self.term_names:
            if name in RESERVED_KEYS:
                raise SpecError(
                    f"spec {self.scorer.spec.name!r}: term {name!r} would overwrite the key "
                    f"{name!r} of verl's per-row dict; rename the term (reserved: "
                    f"{', '.join(sorted(RESERVED_KEYS))})"
                )
        if acc_term is not None and acc_term not in self.term_names:
            raise SpecError(
                f"spec {self.scorer.spec.name!r}: acc_term {acc_term!r} is not one of its terms "
                f"{self.term_names}"
            )
        self.acc_term = acc_term

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
        acc = value if self.acc_term is None else score.components.get(self.acc_term, 0.0)
        result = VerlResult(
            score=value,
            acc=acc,
            status=score.status,
            masked=float(score.value is None),
            reason=score.reason,
        )
        for name in self.term_names:
            result[name] = score.components.get(name, math.nan)
        return result


def make_compute_score(
    spec: Any,
    *,
    masked_value: float = 0.0,
    return_dict: bool = True,
    acc_term: str | None = None,
    workers: int | None = None,
) -> VerlComputeScore:
    """A verl ``compute_score`` for ``spec``; its ``.batch`` is the batch variant."""
    return VerlComputeScore(
        spec,
        masked_value=masked_value,
        return_dict=return_dict,
        acc_term=acc_term,
        workers=workers,
    )


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: dict[str, Any] | None = None,
    *,
    spec: Any = None,
    masked_value: float = 0.0,
    return_dict: bool = True,
    acc_term: str | None = None,
    **kwargs: Any,
) -> float | dict[str, Any]:
    """verl's ``compute_score`` for the spec in ``spec`` (``reward_kwargs``) or
    ``$REWARDSMITH_SPEC``; ``masked_value``, ``return_dict`` and ``acc_term`` as in
    `VerlComputeScore`, also from ``reward_kwargs``."""
    _check_kwargs(kwargs)
    scorer = _shared(spec, "verl compute_score", masked_value, return_dict, acc_term)
    return scorer(data_source, solution_str, ground_truth, extra_info, **kwargs)


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[dict[str, Any] | None] | None = None,
    *,
    spec: Any = None,
    masked_value: float = 0.0,
    return_dict: bool = True,
    acc_term: str | None = None,
    **kwargs: Any,
) -> list[float | dict[str, Any]]:
    """verl's batch ``compute_score`` (the legacy ``batch`` reward manager)."""
    _check_kwargs(kwargs)
    scorer = _shared(spec, "verl compute_score_batch", masked_value, return_dict, acc_term)
    return scorer.batch(data_sources, solution_strs, ground_truths, extra_infos, **kwargs)


def _shared(
    spec: Any, caller: str, masked_value: float, return_dict: bool, acc_term: str | None
) -> VerlComputeScore:
    # Built per call (cheap: the scorer and its engine are shared), so the reserved-name check
    # runs before the first row is scored and names the term.
    return VerlComputeScore(
        spec_from(spec, caller),
        masked_value=masked_value,
        return_dict=return_dict,
        acc_term=acc_term,
    )


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
            f"spec, {', '.join(sorted(OUR_KWARGS))} and verl's own {sorted(VERL_KWARGS)}"
        )


if __name__ != "rewardsmith.integrations.verl":  # pragma: no cover - checked by the tests
    # verl's load_module runs a file path under a fresh module name that no other process
    # can import; the prime manager pickles compute_score into a process pool by reference.
    # Hand out the package's own objects instead, which pickle anywhere.
    from rewardsmith.integrations.verl import (
        VerlComputeScore,
        VerlResult,
        compute_score,
        compute_score_batch,
        make_compute_score,
    )
