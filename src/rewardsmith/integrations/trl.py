"""TRL adapter: a spec as ``GRPOTrainer(reward_funcs=...)`` callables.

TRL calls each reward function with keyword arguments: ``prompts``, ``completions`` (strings,
or lists of chat messages), ``completion_ids``, every dataset column as a per-sample list, and
``trainer_state``, ``log_extra``, ``log_metric`` (TRL ≥ 0.24; read from TRL 1.16's
``GRPOTrainer._calculate_rewards``). It expects one ``float | None`` per completion, where None
means "this function does not score this sample".

Two shapes:

- one combined function (default): the spec's reward, weights, gates and policy included;
- one function per term (``per_term=True``): TRL weights them with ``GRPOConfig.reward_weights``
  (use `reward_weights(spec)`) and can aggregate them itself (``multi_objective_aggregation``).
  The spec is scored once per batch and each function reads its own term.

Example:
    >>> from rewardsmith.integrations.trl import reward_funcs
    >>> [fn] = reward_funcs({"terms": [{"name": "em", "use": "exact_match"}]}, workers=1)
    >>> fn.__name__
    'rewardsmith'
    >>> fn(prompts=["2+2?"], completions=["4"], completion_ids=[[19]], reference=["4"])
    [1.0]
"""

from __future__ import annotations

import asyncio
import functools
import re
import threading
from collections.abc import Sequence
from typing import Any

from rewardsmith.core.errors import SpecError
from rewardsmith.core.score import STATUSES
from rewardsmith.core.spec import Spec, load_spec, resolve_terms
from rewardsmith.engine.api import default_engine
from rewardsmith.engine.batch import ScoredBatch
from rewardsmith.engine.engine import Engine, prepare_rows

__all__ = ["AsyncRewardFunction", "RewardFunction", "reward_funcs", "reward_weights"]

TRL_RUNTIME_KWARGS = frozenset(
    {"trainer_state", "log_extra", "log_metric", "environments", "completion_ids"}
)
"""Keyword arguments TRL adds that are not dataset columns; never copied into samples."""


def reward_funcs(
    spec: Any,
    *,
    per_term: bool = False,
    reference: str | None = "reference",
    task: str | None = "task",
    group: str | None = None,
    num_generations: int | None = None,
    engine: Engine | None = None,
    workers: int | None = None,
    log_metrics: bool = True,
    asynchronous: bool = False,
) -> list[RewardFunction]:
    """Reward functions for ``GRPOTrainer(reward_funcs=...)``, scoring with ``spec``.

    Args:
        spec: a reward name, TOML path, dict or `Spec` (validated now, not at the first step).
        per_term: one function per spec term instead of one combined function.
        reference: the dataset column holding the reference (TRL's own rewards use
            ``solution``); None when the spec needs no reference.
        task: the column that routes rows to terms (``when``); ignored when absent.
        group: the column tying samples together for group rewards. By default groups are
            TRL's own: consecutive blocks of ``num_generations`` completions, read from the
            `GRPOTrainer` calling us (``num_generations_eval`` in evaluation).
        num_generations: the block size when the caller is not a `GRPOTrainer` (TRL's own
            value wins when it is); None there groups the completions of one prompt text.
        engine: the engine to score with (default: the shared one for ``workers``).
        workers: worker processes for cpu rewards when no engine is given.
        log_metrics: report, per batch, through TRL's ``log_metric``: the share of each status
            (``rewardsmith/status/<status>``), the masked share (``rewardsmith/masked``) and
            each term's mean over the rows it scored (``rewardsmith/<term>/mean``), so failures
            and components show next to TRL's reward curves.
        asynchronous: coroutine functions (`AsyncRewardFunction`): TRL runs them on its
            event loop concurrently with the trainer's other async reward functions (an LLM
            judge of its own, say), each scoring in a thread; the per-term functions still
            score the batch once.

    Each sample also gets ``completion_tokens`` (the length of TRL's ``completion_ids``) as an
    extra field, for rewards that count model tokens.

    Raises:
        SpecError: ``per_term=True`` with a spec TRL cannot combine. (Term names need no
            reservation here: each metric has its own path under ``rewardsmith/``.)
    """
    loaded = load_spec(spec)
    combine = getattr(loaded, "combine", "sum")
    if per_term and (combine != "sum" or getattr(loaded, "ensembles", None)):
        raise SpecError(
            f"spec {loaded.name!r}: per_term=True hands the combination to TRL (a weighted sum "
            f"of the terms), but this spec combines with {combine!r}"
            f"{' and ensembles' if getattr(loaded, 'ensembles', None) else ''}; use the "
            "combined function (per_term=False)"
        )
    if num_generations is not None and num_generations <= 0:
        raise ValueError(f"num_generations must be positive, got {num_generations}")
    scorer = _Scorer(loaded, reference, task, group, num_generations, engine, workers, log_metrics)
    kind = AsyncRewardFunction if asynchronous else RewardFunction
    if not per_term:
        return [kind(scorer, None, _identifier("rewardsmith", loaded.name))]
    return [kind(scorer, term.name, _identifier("", term.name)) for term in loaded.terms]


def reward_weights(spec: Any) -> list[float]:
    """The spec's term weights, in the order of ``reward_funcs(spec, per_term=True)``, for
    ``GRPOConfig(reward_weights=...)``."""
    return [term.weight for term in load_spec(spec).terms]


class RewardFunction:
    """One TRL reward function: a callable with a ``__name__`` (TRL logs rewards under it).

    Picklable (the engine is not pickled; a copy starts one when first called).
    """

    def __init__(self, scorer: _Scorer, term: str | None, name: str) -> None:
        self.scorer = scorer
        self.term = term
        self.__name__ = name

    def __repr__(self) -> str:
        return f"<rewardsmith TRL reward {self.__name__!r}>"

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        if completion_ids is not None:
            kwargs["completion_ids"] = completion_ids
        batch = self.scorer.score(prompts, completions, kwargs)
        if self.term is None:
            return [score.value for score in batch]
        # A row the spec masks is None in every function: TRL then marks it unscorable
        # (advantage 0) instead of training it on the sum of the terms that did score.
        # Otherwise a term that did not apply, or whose failure is masked, has no component:
        # None tells TRL to leave this function out of that sample's sum.
        return [None if score.value is None else score.components.get(self.term) for score in batch]


class AsyncRewardFunction(RewardFunction):
    """A `RewardFunction` TRL awaits (its ``__call__`` is a coroutine function, which TRL's
    ``is_async_callable`` looks for); the scoring runs in a thread, off TRL's event loop."""

    async def __call__(  # type: ignore[override]
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        call = functools.partial(RewardFunction.__call__, self, **kwargs)
        return await asyncio.to_thread(call, prompts, completions, completion_ids)


class _Scorer:
    """Scores one TRL batch with the spec; shared by the per-term functions of one spec."""

    def __init__(
        self,
        spec: Spec,
        reference: str | None,
        task: str | None,
        group: str | None,
        num_generations: int | None,
        engine: Engine | None,
        workers: int | None,
        log_metrics: bool,
    ) -> None:
        self.spec = spec
        self.terms = resolve_terms(spec)
        self.reference = reference
        self.task = task
        self.group = group
        self.num_generations = num_generations
        self.engine = engine
        self.workers = workers
        self.log_metrics = log_metrics
        self._lock = threading.Lock()
        self._last: tuple[Any, Any, ScoredBatch] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(engine=None, _lock=None, _last=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def score(
        self, prompts: Sequence[Any], completions: Sequence[Any], kwargs: dict[str, Any]
    ) -> ScoredBatch:
        with self._lock:
            # TRL passes the same list objects to every reward function of one step: score
            # once, answer the other per-term functions from this batch.
            last = self._last
            if last is not None and last[0] is prompts and last[1] is completions:
                return last[2]
            batch = self._score(prompts, completions, kwargs)
            self._last = (prompts, completions, batch)
            return batch

    def _score(
        self, prompts: Sequence[Any], completions: Sequence[Any], kwargs: dict[str, Any]
    ) -> ScoredBatch:
        count = len(completions)
        if len(prompts) != count:
            raise ValueError(f"TRL passed {len(prompts)} prompts for {count} completions")
        columns = {k: v for k, v in kwargs.items() if k not in TRL_RUNTIME_KWARGS}
        for name, values in columns.items():
            if not isinstance(values, list | tuple) or len(values) != count:
                size = len(values) if isinstance(values, list | tuple) else type(values).__name__
                raise ValueError(
                    f"column {name!r}: expected one value per completion ({count}), got {size}"
                )
        if self.reference is not None and self.reference not in columns:
            raise ValueError(
                f"the dataset has no column {self.reference!r} for the reference; TRL passed "
                f"columns {sorted(columns)}. Pass reference='<column>' to reward_funcs "
                "(reference=None if the spec needs none)."
            )
        if self.group is not None and self.group not in columns:
            raise ValueError(f"group column {self.group!r} is not among {sorted(columns)}")
        mapped = {self.reference, self.task, self.group} - {None}
        extra_names = [name for name in columns if name not in mapped]
        groups = self._groups(prompts, columns, kwargs.get("log_metric"))
        token_ids = kwargs.get("completion_ids")
        if token_ids is not None and len(token_ids) != count:
            raise ValueError(f"completion_ids has {len(token_ids)} items for {count} completions")
        rows = []
        for index in range(count):
            row = {name: columns[name][index] for name in extra_names}
            row["prompt"] = prompts[index]
            row["completion"] = completions[index]
            row["group"] = groups[index]
            if token_ids is not None and "completion_tokens" not in row:
                row["completion_tokens"] = len(token_ids[index])
            if self.reference is not None:
                row["reference"] = columns[self.reference][index]
            if self.task is not None and self.task in columns:
                row["task"] = columns[self.task][index]
            rows.append(row)
        prepared, ids = prepare_rows(rows)
        engine = self.engine or default_engine(self.workers)
        batch = engine.score_prepared(prepared, ids, self.spec, self.terms)
        log_metric = kwargs.get("log_metric")
        if self.log_metrics and callable(log_metric) and count:
            self._log(batch, log_metric)
        return batch

    def _log(self, batch: ScoredBatch, log_metric: Any) -> None:
        count = len(batch)
        counts = batch.status_counts
        for status in STATUSES:
            log_metric(f"rewardsmith/status/{status}", counts[status] / count)
        log_metric("rewardsmith/masked", sum(s.value is None for s in batch) / count)
        for term in self.spec.terms:
            values = [s.components[term.name] for s in batch if term.name in s.components]
            # A term that scored no row of this batch logs nothing rather than a made-up 0.
            if values:
                log_metric(f"rewardsmith/{term.name}/mean", sum(values) / len(values))

    def _groups(
        self, prompts: Sequence[Any], columns: dict[str, Any], log_metric: Any
    ) -> list[str]:
        if self.group is not None:
            return [str(value) for value in columns[self.group]]
        size, offset = _trl_generation_blocks(log_metric, len(prompts))
        if size is None and self.num_generations is not None:
            size = self.num_generations
            if len(prompts) % size:
                raise ValueError(
                    f"{len(prompts)} completions are not whole groups of num_generations={size}"
                )
        if size is not None:
            # GRPO's RepeatSampler lays out each prompt's completions as one contiguous block;
            # the block, not the prompt text, is the group (a prompt repeated in the dataset
            # is two groups for TRL, whose advantages are per block).
            return [f"generation-{(offset + index) // size}" for index in range(len(prompts))]
        first: dict[str, int] = {}
        groups = []
        for index, prompt in enumerate(prompts):
            key = prompt if isinstance(prompt, str) else repr(prompt)
            groups.append(f"prompt-{first.setdefault(key, index)}")
        return groups


def _trl_generation_blocks(log_metric: Any, count: int) -> tuple[int | None, int]:
    """TRL's group size and this process's offset into the global batch, read from the
    `GRPOTrainer` whose bound ``_log_metric`` TRL hands every reward function.

    (None, 0) when the caller is not a GRPOTrainer. In evaluation TRL groups by
    ``num_generations_eval``; with several processes each holds an equal slice of the
    generation batch, so a block may straddle two processes, and a group reward then sees
    the part of the group on its own process.
    """
    trainer = getattr(log_metric, "__self__", None)
    size = getattr(trainer, "num_generations", None)
    if not isinstance(size, int) or size <= 0:
        return None, 0
    model = getattr(trainer, "model", None)
    if model is not None and not getattr(model, "training", True):
        size = getattr(trainer, "num_generations_eval", None) or size
    accelerator = getattr(trainer, "accelerator", None)
    rank = getattr(accelerator, "process_index", 0) if accelerator is not None else 0
    return int(size), int(rank) * count


def _identifier(prefix: str, name: str) -> str:
    cleaned = re.sub(r"\W+", "_", name).strip("_")
    if not prefix:
        return cleaned or "term"
    return prefix if not cleaned or cleaned == "unnamed" else f"{prefix}_{cleaned}"
