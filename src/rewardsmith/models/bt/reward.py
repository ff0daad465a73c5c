"""The ``rm`` reward: a saved reward model as a spec term, with batched inference.

``rm`` is an ``io`` reward: each call puts its (prompt, completion) on a queue, and one batch
per model runs in a background thread as soon as the event loop is idle for a moment (or the
queue reaches ``batch_size``). The engine submits every row of a batch at once, so up to
``concurrency`` rows (the term's engine param, 16 by default; raise it with the batch size) share
one forward pass, while the engine still applies its timeout and concurrency limit per row. The
model is loaded once per process; embeddings go through the model's embedding cache, and the
engine's content-hash cache answers a repeated completion without any model call.

Example spec term::

    [[terms]]
    name = "rm"
    use = "rm"
    params = { model = "runs/rm-minilm", pool = "mean_minus_std", lam = 0.5, concurrency = 64 }
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from rewardsmith.core.params import CheckedParam, PositiveInt
from rewardsmith.core.policy import GRADER_FAULT
from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.models.bt.data import conversation_text
from rewardsmith.models.bt.model import MANIFEST, PairScorer, load_reward_model

__all__ = ["ModelDir", "rm_reward"]


class ModelDir(str, CheckedParam):
    """A directory written by ``rewardsmith rm train`` (checked when the spec loads)."""

    base: ClassVar[Any] = str

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        if not (Path(value) / MANIFEST).is_file():
            raise ValueError(f"{value!r} is not a saved reward model (no {MANIFEST} in it)")
        return value


_models: dict[tuple[str, str | None, str, int], PairScorer] = {}
_models_lock = threading.Lock()


def _model(path: str, cache: str | None, device: str) -> PairScorer:
    # The manifest's mtime is part of the key: a model retrained in place is loaded again.
    manifest = Path(path).resolve() / MANIFEST
    key = (str(manifest.parent), cache, device, manifest.stat().st_mtime_ns)
    with _models_lock:
        found = _models.get(key)
        if found is None:
            found = _models[key] = load_reward_model(path, cache=cache, device=device)
        return found


class _Batcher:
    """Collects rows for one model on one event loop and scores them in batches."""

    def __init__(self, path: str, cache: str | None, device: str, batch_size: int) -> None:
        self.path, self.cache, self.device, self.batch_size = path, cache, device, batch_size
        self.pending: list[tuple[str, str, asyncio.Future[np.ndarray]]] = []
        self.running = False
        self.task: asyncio.Task[None] | None = None
        # One thread per model: torch calls for one model never overlap.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rewardsmith-rm")

    def submit(self, prompt: str, response: str) -> asyncio.Future[np.ndarray]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[np.ndarray] = loop.create_future()
        self.pending.append((prompt, response, future))
        if not self.running:
            self.running = True
            # A short pause lets the other rows of the engine's batch join this one.
            loop.call_later(0.005, self._start_drain, loop)
        return future

    def _start_drain(self, loop: asyncio.AbstractEventLoop) -> None:
        # Keep a reference: the loop holds tasks only weakly.
        self.task = loop.create_task(self._drain())

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                batch = [item for item in self.pending[: self.batch_size] if not item[2].done()]
                del self.pending[: self.batch_size]
                if not batch:
                    continue
                try:
                    values = await loop.run_in_executor(self.executor, self._score, batch)
                except Exception as exc:
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (*_, future), row in zip(batch, values, strict=True):
                    if not future.done():  # the engine may have timed the row out
                        future.set_result(row)
        finally:
            self.running = False

    def _score(self, batch: list[tuple[str, str, Any]]) -> np.ndarray:
        model = _model(self.path, self.cache, self.device)
        return model.score([p for p, _, _ in batch], [r for _, r, _ in batch])


# Batchers per event loop: their futures belong to that loop.
_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], _Batcher]] = (
    weakref.WeakKeyDictionary()
)


def _batcher(path: str, cache: str | None, device: str, batch_size: int) -> _Batcher:
    per_loop = _batchers.setdefault(asyncio.get_running_loop(), {})
    key = (path, cache, device, batch_size)
    found = per_loop.get(key)
    if found is None:
        found = per_loop[key] = _Batcher(path, cache, device, batch_size)
    return found


@reward("rm", kind="io", version="1", reads=("prompt", "completion"), timeout_s=300.0)
async def rm_reward(
    sample: Sample,
    *,
    model: ModelDir,
    pool: Literal["mean", "median", "min", "mean_minus_var", "mean_minus_std"] = "mean",
    lam: float = 1.0,
    cache: str | None = None,
    device: str = "cpu",
    batch_size: PositiveInt = 64,
    timeout_s: float = 300.0,
) -> Score:
    """The reward a trained Bradley-Terry model gives the completion (a real number, no range).

    Args:
        sample: the sample; the prompt (chat messages rendered as ``role: content`` lines) and
            the completion text are scored together.
        model: a directory written by ``rewardsmith rm train``.
        pool: how the k heads of an ensemble become one value (``rewardsmith.shaping.ensembles``):
            ``mean``; ``min`` (worst case); ``mean_minus_std``/``mean_minus_var`` (penalise
            disagreement, Coste et al. 2023); ``median``.
        lam: λ of the uncertainty penalty.
        cache: embedding cache file (default ``$REWARDSMITH_HOME/cache/embeddings.sqlite``).
        device: torch device.
        batch_size: most rows per forward pass.
        timeout_s: the engine's limit for the row; at 90% of it the row ends as a ``timeout``
            marked as the grader's (``info["fault"] = "grader"``, masked by default): a slow
            model is not the policy's fault.

    Returns:
        ``ok`` with the pooled reward; with k > 1 heads, components ``head_0`` ... and
        ``info["std"]``, the heads' spread (an uncertainty signal).

    Known failure modes:
        A BT reward is only defined up to a constant and is not comparable across models;
        normalise it per group or batch before mixing it with 0/1 verifiers. A head on a small
        frozen encoder learns shallow cues: on AlpacaEval pairs "the longer answer wins" is
        right 88% of the time, and the reward follows length; audit for it. Text beyond
        ``max_length`` tokens is not seen.

    Example:
        >>> rm_reward.kind, rm_reward.reads
        ('io', ('prompt', 'completion'))
    """
    batcher = _batcher(str(model), cache, device, int(batch_size))
    limit = 0.9 * timeout_s
    try:
        heads = await asyncio.wait_for(
            batcher.submit(conversation_text(sample.prompt), sample.completion_text), limit
        )
    except TimeoutError:
        return Score.fail(
            "timeout", f"the reward model gave no score within {limit:.3g}s", fault=GRADER_FAULT
        )
    values = [float(v) for v in heads]
    if len(values) == 1:
        return Score(value=values[0])
    from rewardsmith.shaping.ensembles import pool as pool_values

    return Score(
        value=pool_values(values, pool, lam=lam),
        components={f"head_{i}": v for i, v in enumerate(values)},
        info={"std": float(np.std(values))},
    )
