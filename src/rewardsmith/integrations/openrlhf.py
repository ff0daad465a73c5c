"""OpenRLHF adapter: a file-based ``reward_func(queries, prompts, labels)``.

OpenRLHF (read at v0.11.0, ``openrlhf/utils/agent.py``, ``SingleTurnAgentExecutor``) takes
``--remote_rm_url`` as either an HTTP URL (served by ``rewardsmith serve``: ``POST /get_reward``)
or the path of a ``.py`` file whose ``reward_func`` it loads with
``importlib.util.spec_from_file_location`` and calls in a thread, one sample at a time, as
``reward_func([query], [prompt], [label])``. ``query`` is prompt + response decoded with
special tokens; the answer is ``{"rewards", "scores", "extra_logs"}`` with one number per query.

Use this module's own path with ``$REWARDSMITH_SPEC`` naming the spec::

    REWARDSMITH_SPEC=math.toml ... --remote_rm_url "$(python -c 'import rewardsmith.integrations.openrlhf as m; print(m.__file__)')"

or a two-line file of your own: ``reward_func = make_reward_func("math.toml")``.

The completion is the query after its prompt, with trailing end-of-sequence markers stripped
(`END_MARKERS`: Qwen, Llama 3, DeepSeek, Mistral, Gemma, Phi; OpenRLHF decodes with
``skip_special_tokens=False``); the label is the reference.

A masked row: OpenRLHF turns each answer into tensors (``torch.tensor([reward])`` and one per
``extra_logs`` key) and fails on None, so the reward is a number, ``masked_value`` (default
0.0), and ``extra_logs["rewardsmith/masked"]`` is 1.0 for that row (``rewardsmith/failed`` says
whether a failure caused it). ``masked_value=None`` sends None instead, for a trainer of your own
that can skip a sample. Every term is logged as ``rewardsmith/<term>``, so the terms ``masked``
and ``failed`` are refused when the function is built.

Example:
    >>> from rewardsmith.integrations.openrlhf import make_reward_func
    >>> reward_func = make_reward_func({"terms": [{"name": "em", "use": "exact_match"}]})
    >>> reward_func(["Q: 2+2? A: 4<｜end▁of▁sentence｜>"], ["Q: 2+2? A:"], ["4"])["rewards"]
    [1.0]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from rewardsmith.core.errors import SpecError
from rewardsmith.core.sample import Sample
from rewardsmith.integrations.batched import BatchedScorer, plain, spec_from
from rewardsmith.serve.config import DEFAULT_END_TOKENS
from rewardsmith.serve.wire import completion_from_query, openrlhf_answer

__all__ = [
    "END_MARKERS",
    "RESERVED_TERM_NAMES",
    "OpenRLHFRewardFunc",
    "make_reward_func",
    "reward_func",
]

END_MARKERS: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *DEFAULT_END_TOKENS,
            "<｜end▁of▁sentence｜>",  # DeepSeek V2/V3/R1 (full-width bars, U+2581)
            "<|EOT|>",  # DeepSeek-Coder
            "<|eom_id|>",  # Llama 3.1 tool calls
            "<|end▁of▁sentence|>",  # DeepSeek as some chat templates spell it (ASCII bars)
        )
    )
)
"""End-of-sequence markers stripped from the end of a completion: the server's defaults
(Qwen ``<|im_end|>``/``<|endoftext|>``, Llama 3 ``<|eot_id|>``/``<|end_of_text|>``, Mistral
``</s>``, Gemma ``<eos>``/``<end_of_turn>``, Phi ``<|end|>``) plus DeepSeek's."""

MASKED_VALUE_ENV = "REWARDSMITH_MASKED_VALUE"
"""Environment variable: the masked reward of the module-level `reward_func`."""

RESERVED_TERM_NAMES = frozenset({"masked", "failed"})
"""Term names that would overwrite our own ``rewardsmith/masked`` and ``rewardsmith/failed``."""


class OpenRLHFRewardFunc:
    """A picklable ``reward_func(queries, prompts, labels, **kwargs)`` for one spec.

    Args:
        spec: a reward name, TOML path, dict or `Spec`.
        end_tokens: markers stripped from the end of each completion (default `END_MARKERS`).
        masked_value: the reward sent for a masked row, flagged by
            ``extra_logs["rewardsmith/masked"]``; None sends None, which OpenRLHF cannot
            tensorise.
        workers: worker processes for cpu rewards.

    Raises:
        SpecError: a term is named ``masked`` or ``failed`` (see `RESERVED_TERM_NAMES`).
    """

    def __init__(
        self,
        spec: Any,
        *,
        end_tokens: Sequence[str] = END_MARKERS,
        masked_value: float | None = 0.0,
        workers: int | None = None,
    ) -> None:
        self.scorer = (
            spec if isinstance(spec, BatchedScorer) else BatchedScorer(spec, workers=workers)
        )
        self.end_tokens = tuple(end_tokens)
        self.masked_value = None if masked_value is None else float(masked_value)
        self.term_names = [term.name for term in self.scorer.spec.terms]
        for name in self.term_names:
            if name in RESERVED_TERM_NAMES:
                raise SpecError(
                    f"spec {self.scorer.spec.name!r}: term {name!r} would be logged as "
                    f"rewardsmith/{name}, which already says whether a row was "
                    f"{name}; rename the term"
                )

    def __call__(
        self,
        queries: Sequence[str],
        prompts: Sequence[str] | None = None,
        labels: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        count = len(queries)
        for name, values in (("prompts", prompts), ("labels", labels)):
            if values is not None and len(values) != count:
                raise ValueError(f"{name} has {len(values)} items but queries has {count}")
        samples = []
        for index, query in enumerate(queries):
            prompt = str(prompts[index]) if prompts is not None else ""
            completion = completion_from_query(str(query), prompt, self.end_tokens)
            if completion is None:
                raise ValueError(
                    f"queries[{index}] does not contain its prompt (prompts[{index}]); OpenRLHF "
                    "passes prompt + response as the query"
                )
            reference = plain(labels[index]) if labels is not None else None
            samples.append(
                Sample(
                    id=f"query-{index}", prompt=prompt, completion=completion, reference=reference
                )
            )
        if len(samples) == 1:
            scores = [self.scorer.score_one(samples[0])]
        else:
            rows = [
                {"prompt": s.prompt, "completion": s.completion, "reference": s.reference}
                for s in samples
            ]
            scores = self.scorer.score_rows(rows)
        answer = openrlhf_answer(scores, self.term_names, self.masked_value)
        return {"rewards": answer.rewards, "scores": answer.scores, "extra_logs": answer.extra_logs}


def make_reward_func(
    spec: Any,
    *,
    end_tokens: Sequence[str] = END_MARKERS,
    masked_value: float | None = 0.0,
    workers: int | None = None,
) -> OpenRLHFRewardFunc:
    """OpenRLHF's ``reward_func`` for ``spec``."""
    return OpenRLHFRewardFunc(
        spec, end_tokens=end_tokens, masked_value=masked_value, workers=workers
    )


def reward_func(
    queries: Sequence[str],
    prompts: Sequence[str] | None = None,
    labels: Sequence[Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """OpenRLHF's ``reward_func`` for the spec named by ``$REWARDSMITH_SPEC`` (or ``spec=``);
    a masked row's reward is ``$REWARDSMITH_MASKED_VALUE`` (default 0.0; ``none`` sends None)."""
    scorer = spec_from(kwargs.pop("spec", None), "OpenRLHF reward_func")
    masked = os.environ.get(MASKED_VALUE_ENV, "0.0")
    try:
        masked_value = None if masked.strip().lower() in ("none", "null") else float(masked)
    except ValueError:
        raise ValueError(f"${MASKED_VALUE_ENV}={masked!r} is not a number (or 'none')") from None
    return OpenRLHFRewardFunc(scorer, masked_value=masked_value)(queries, prompts, labels, **kwargs)
