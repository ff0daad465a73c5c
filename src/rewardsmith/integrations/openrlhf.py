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

The completion is the query after its prompt, with trailing end-of-text markers stripped;
the label is the reference. A masked reward is None unless ``masked_value`` is set: OpenRLHF
turns rewards into tensors and fails on None, which is louder than training on a made-up 0.

Example:
    >>> from rewardsmith.integrations.openrlhf import make_reward_func
    >>> reward_func = make_reward_func({"terms": [{"name": "em", "use": "exact_match"}]})
    >>> reward_func(["Q: 2+2? A: 4<|im_end|>"], ["Q: 2+2? A:"], ["4"])["rewards"]
    [1.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewardsmith.core.sample import Sample
from rewardsmith.integrations.batched import BatchedScorer, plain, spec_from
from rewardsmith.serve.config import DEFAULT_END_TOKENS
from rewardsmith.serve.wire import completion_from_query, openrlhf_answer

__all__ = ["OpenRLHFRewardFunc", "make_reward_func", "reward_func"]


class OpenRLHFRewardFunc:
    """A picklable ``reward_func(queries, prompts, labels, **kwargs)`` for one spec.

    Args:
        spec: a reward name, TOML path, dict or `Spec`.
        end_tokens: markers stripped from the end of each completion.
        masked_value: the reward sent for a masked row (None: send None).
        workers: worker processes for cpu rewards.
    """

    def __init__(
        self,
        spec: Any,
        *,
        end_tokens: Sequence[str] = DEFAULT_END_TOKENS,
        masked_value: float | None = None,
        workers: int | None = None,
    ) -> None:
        self.scorer = (
            spec if isinstance(spec, BatchedScorer) else BatchedScorer(spec, workers=workers)
        )
        self.end_tokens = tuple(end_tokens)
        self.masked_value = masked_value
        self.term_names = [term.name for term in self.scorer.spec.terms]

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
    end_tokens: Sequence[str] = DEFAULT_END_TOKENS,
    masked_value: float | None = None,
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
    """OpenRLHF's ``reward_func`` for the spec named by ``$REWARDSMITH_SPEC`` (or ``spec=``)."""
    scorer = spec_from(kwargs.pop("spec", None), "OpenRLHF reward_func")
    return OpenRLHFRewardFunc(scorer)(queries, prompts, labels, **kwargs)
