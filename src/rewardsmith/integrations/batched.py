"""`BatchedScorer`: a spec scored for trainers that call one sample at a time from many threads.

verl's reward loop and OpenRLHF's agent executor call the reward function once per sample, in
executor threads. Scoring each call alone would pay the engine's per-call overhead every time;
a `MicroBatcher` turns the concurrent calls into one engine call. The scorer pickles without
its batcher or engine (Ray ships it to workers), and starts them again on first use.

Fork safety: trainers fork after our first call (verl's legacy ``prime`` manager scores in a
``ProcessPoolExecutor``; OpenRLHF and data loaders fork workers). A forked child has the
parent's objects but none of its threads: the batcher's scoring thread and the engine's pool
threads are gone, and a lock another thread held at the fork stays held for ever. An
``os.register_at_fork`` hook therefore gives every live scorer new locks and forgets its batcher
and shared engine in the child, which starts its own engine on first use.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from rewardsmith.core.errors import SpecError
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.core.spec import Spec, load_spec
from rewardsmith.engine.api import default_engine
from rewardsmith.engine.batcher import MicroBatcher
from rewardsmith.engine.engine import Engine, prepare_rows

__all__ = ["SPEC_ENV", "BatchedScorer", "plain", "spec_from"]

SPEC_ENV = "REWARDSMITH_SPEC"
"""Environment variable naming the spec when a trainer loads our function with no arguments."""


class BatchedScorer:
    """Scores rows with one spec, micro-batching concurrent callers.

    Args:
        spec: a reward name, TOML path, dict or `Spec`.
        workers: worker processes for cpu rewards (default: the number of cores).
        engine: an engine to use (not pickled; a copy uses the shared default engine).
    """

    def __init__(self, spec: Any, *, workers: int | None = None, engine: Engine | None = None):
        self.spec: Spec = load_spec(spec)
        self.workers = workers
        self._engine = engine
        self._own_engine: Engine | None = None
        self._batcher: MicroBatcher | None = None
        self._lock = threading.RLock()
        _live_scorers.add(self)

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec, "workers": self.workers}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["spec"], workers=state["workers"])  # type: ignore[misc]

    @property
    def engine(self) -> Engine:
        """The engine that scores: the one given, else the process's shared one (or, in a
        forked child, one of its own: the shared one belongs to the parent)."""
        if self._engine is not None:
            return self._engine
        if _forked:
            with self._lock:
                if self._own_engine is None:
                    self._own_engine = Engine(self.workers or 1)
                return self._own_engine
        return default_engine(self.workers)

    def _after_fork_in_child(self) -> None:
        # Nothing here may wait: the objects dropped belong to threads that do not exist here.
        self._lock = threading.RLock()
        self._batcher = None
        self._own_engine = None

    def _get_batcher(self) -> MicroBatcher:
        with self._lock:
            if self._batcher is None:
                self._batcher = MicroBatcher(self.engine, self.spec)
            return self._batcher

    def score_one(self, sample: Sample) -> Score:
        """Score one sample; concurrent callers share an engine call."""
        return self._get_batcher().submit([sample], [sample.id]).result()[0]

    def score_rows(self, rows: list[dict[str, Any]]) -> list[Score]:
        """Score a whole batch in one engine call (rows as dicts; bad rows get ``error``)."""
        prepared, ids = prepare_rows(rows)
        return list(self.engine.score_prepared(prepared, ids, self.spec, self._get_batcher().terms))

    def close(self) -> None:
        with self._lock:
            batcher, self._batcher = self._batcher, None
        if batcher is not None:
            batcher.close()


_scorers: dict[Any, BatchedScorer] = {}
_scorers_lock = threading.Lock()
_live_scorers: weakref.WeakSet[BatchedScorer] = weakref.WeakSet()
_forked = False
"""True in a process forked from one that imported this module."""


def _reset_after_fork() -> None:
    global _scorers_lock, _forked
    _forked = True
    _scorers_lock = threading.Lock()
    for scorer in list(_live_scorers):
        scorer._after_fork_in_child()


os.register_at_fork(after_in_child=_reset_after_fork)


def spec_from(spec: Any, caller: str) -> BatchedScorer:
    """The shared scorer for ``spec`` (or for ``$REWARDSMITH_SPEC`` when spec is None)."""
    source = spec if spec is not None else os.environ.get(SPEC_ENV)
    if source is None:
        raise SpecError(
            f"{caller}: no spec given; pass spec=... (verl: reward_kwargs) or set ${SPEC_ENV} "
            "to a reward name or a TOML path"
        )
    if isinstance(source, Mapping):
        # verl hands over reward_kwargs from OmegaConf: DictConfig/ListConfig, not dict/list.
        source = _plain_config(source)
        key: Any = json.dumps(source, sort_keys=True, default=str)
    else:
        key = source if isinstance(source, str) else id(source)
    with _scorers_lock:
        scorer = _scorers.get(key)
        if scorer is None:
            scorer = _scorers[key] = BatchedScorer(source)
        return scorer


def _plain_config(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _plain_config(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain_config(item) for item in value]
    return value


def plain(value: Any) -> Any:
    """numpy arrays and scalars (as verl passes them) as plain Python values, without numpy."""
    if hasattr(value, "tolist") and callable(value.tolist):
        return value.tolist()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
