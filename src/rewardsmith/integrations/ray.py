"""Ray scale-out: reward workers as Ray actors, and Ray Data scoring.

- `RayEngine`: an `Engine` whose batches are scored by Ray actors (one per CPU by default),
  each holding its own engine. A trainer already on Ray scores through it without a separate
  server, and ``rewardsmith score --backend ray`` uses it so the run log, resume and output
  file are exactly those of the local backend.
- `score_dataset`: adds reward columns to a Ray Dataset with ``map_batches`` over an actor pool.

Same numbers as the local backend: a batch is split only between whole groups (group rewards
see every sample of their group), and a spec whose shaping depends on the whole batch or on
running statistics (``normalize``, ``unlikeliness``, ``transform``, ``credit``) is scored on
one actor, always the same, so its state evolves as it would locally. A dead actor is an
infrastructure failure: `EngineError`, never a reward of 0.

Rewards must be importable where the actors run: built-ins, installed packages, or (locally)
modules on the driver's ``sys.path``, which the actors inherit.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from rewardsmith.core.errors import EngineError, SpecError
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.core.spec import ResolvedTerm, Spec, load_resolved, resolve_terms
from rewardsmith.engine.batch import ScoredBatch
from rewardsmith.engine.engine import Engine, Row

__all__ = ["RayEngine", "RewardActor", "score_dataset"]

_INSTALL_HINT = "the Ray backend needs ray: pip install 'rewardsmith[ray]'"


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_INSTALL_HINT) from exc
    return ray


class RewardActor:
    """What runs inside one Ray actor: an engine and a spec (wrapped with ``ray.remote``)."""

    def __init__(self, spec: Spec, workers: int = 1, sys_path: list[str] | None = None) -> None:
        for entry in reversed(sys_path or []):
            if entry not in sys.path:
                sys.path.insert(0, entry)
        self.spec = spec
        self.terms = resolve_terms(spec)
        self.engine = Engine(workers)

    def score(self, rows: list[Row], ids: list[str]) -> ScoredBatch:
        return self.engine.score_prepared(rows, ids, self.spec, self.terms)

    def pid(self) -> int:
        return os.getpid()

    def close(self) -> None:
        self.engine.close()


def is_row_local(spec: Spec) -> bool:
    """Whether each row's reward depends only on its row (and its group), so batches can be
    split between actors without changing a number."""
    if getattr(spec, "normalize", None) is not None or getattr(spec, "unlikeliness", None):
        return False
    for item in [*spec.terms, *getattr(spec, "ensembles", [])]:
        # Some transforms keep running statistics; treat every shaped term as batch-level.
        if getattr(item, "transform", None) or getattr(item, "credit", None) is not None:
            return False
    return True


class RayEngine(Engine):
    """An engine that scores on Ray actors.

    Args:
        actors: reward actors per spec (default: the cluster's CPUs).
        workers_per_actor: worker processes each actor's engine starts for cpu rewards.
        address: a Ray cluster to join (``ray.init(address=...)``); None starts or reuses a
            local Ray. A Ray this engine started is shut down by `close`.
        max_restarts: how often Ray may restart a dead actor (its task is retried as often).
        actor_cpus: CPUs each actor reserves while it lives.
        start_timeout_s: how long the actors may take to be placed and started; past it (a
            cluster without free CPUs) `EngineError` says so instead of waiting for ever.
        init_kwargs: extra ``ray.init`` arguments (e.g. ``num_cpus``).
        data: score each call as a Ray Data pipeline (``map_batches`` over an actor pool of
            engines, one shard of whole groups per batch) instead of on long-lived actors.
            Offline scoring of files uses it (ARCHITECTURE.md); each call then pays Ray Data's
            start-up (~1.5 s on 2 cores), so give it large batches. Specs with stateful shaping
            still go to one long-lived actor, whose state must outlive the call.
        shard_rows: rows per Ray Data batch in ``data`` mode.

    Example:
        >>> with RayEngine(actors=2) as engine:  # doctest: +SKIP
        ...     batch = engine.score(rows, "math")
    """

    def __init__(
        self,
        actors: int | None = None,
        *,
        workers_per_actor: int = 1,
        address: str | None = None,
        max_restarts: int = 1,
        actor_cpus: float = 1.0,
        start_timeout_s: float = 120.0,
        init_kwargs: dict[str, Any] | None = None,
        data: bool = False,
        shard_rows: int = 1024,
    ) -> None:
        super().__init__(workers_per_actor, cache=False)
        self.data = data
        self.shard_rows = shard_rows
        self.actors = actors
        self.actor_cpus = actor_cpus
        self.start_timeout_s = start_timeout_s
        self.workers_per_actor = workers_per_actor
        self.address = address
        self.max_restarts = max_restarts
        self.init_kwargs = init_kwargs or {}
        self._started_ray = False
        self._pools: dict[str, list[Any]] = {}

    def _ensure_ray(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            ray.init(
                address=self.address,
                include_dashboard=False,
                log_to_driver=False,
                **self.init_kwargs,
            )
            self._started_ray = True
        return ray

    def actors_for(self, spec: Spec) -> list[Any]:
        """The actors scoring ``spec``, started on first use."""
        key = spec.content_hash()
        with self._lock:
            pool = self._pools.get(key)
        if pool is not None:
            return pool
        ray = self._ensure_ray()
        count = self.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        remote = ray.remote(RewardActor).options(
            num_cpus=self.actor_cpus,
            max_restarts=self.max_restarts,
            max_task_retries=self.max_restarts,
        )
        pool = [remote.remote(spec, self.workers_per_actor, list(sys.path)) for _ in range(count)]
        _, pending = ray.wait(
            [actor.pid.remote() for actor in pool], num_returns=count, timeout=self.start_timeout_s
        )
        if pending:
            for actor in pool:
                ray.kill(actor)
            free = ray.available_resources().get("CPU", 0)
            raise EngineError(
                f"{len(pending)} of {count} reward actors did not start within "
                f"{self.start_timeout_s:g} s: each reserves {self.actor_cpus:g} CPU and the "
                f"cluster has {free:g} free; ask for fewer actors (--workers) or free CPUs"
            )
        with self._lock:
            self._pools.setdefault(key, pool)
            return self._pools[key]

    def score_prepared(
        self, rows: list[Row], ids: list[str], spec: Spec, terms: list[ResolvedTerm]
    ) -> ScoredBatch:
        ray = self._ensure_ray()
        if not rows:
            return ScoredBatch([], [])
        grouped = any(term.reward.kind == "group" for term in terms)
        if self.data and is_row_local(spec):
            return self._score_with_data(ray, rows, ids, spec, grouped)
        actors = self.actors_for(spec)
        if not is_row_local(spec):
            return self._get(ray, [actors[0].score.remote(rows, ids)])[0]
        shards = _shards(rows, len(actors), grouped)
        refs = [
            actors[number].score.remote([rows[i] for i in shard], [ids[i] for i in shard])
            for number, shard in enumerate(shards)
        ]
        batches = self._get(ray, refs)
        scores: list[Score | None] = [None] * len(rows)
        for shard, batch in zip(shards, batches, strict=True):
            for index, score in zip(shard, batch, strict=True):
                scores[index] = score
        return ScoredBatch([score for score in scores if score is not None], ids)

    def _score_with_data(
        self, ray: Any, rows: list[Row], ids: list[str], spec: Spec, grouped: bool
    ) -> ScoredBatch:
        import pickle

        count = self.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        deadline = time.monotonic() + self.start_timeout_s
        free = ray.available_resources().get("CPU", 0.0)
        while free < self.actor_cpus and time.monotonic() < deadline:
            time.sleep(0.1)  # CPUs of just-killed actors come back after a moment
            free = ray.available_resources().get("CPU", 0.0)
        if free < self.actor_cpus:
            # Ray Data would wait for ever for a CPU to place its scoring actors on.
            raise EngineError(
                f"Ray Data scoring needs {self.actor_cpus:g} free CPU per actor and the cluster "
                f"has {free:g} free (other actors hold them?); free CPUs or use RayEngine() "
                "without data=True"
            )
        count = max(1, min(count, int(free // self.actor_cpus)))
        shards = _shards(rows, max(count, -(-len(rows) // self.shard_rows)), grouped)
        items = [
            {
                "shard": number,
                "payload": pickle.dumps(([rows[i] for i in shard], [ids[i] for i in shard])),
            }
            for number, shard in enumerate(shards)
        ]
        dataset = ray.data.from_items(items).map_batches(
            _ShardScorer,
            fn_constructor_kwargs={
                "spec": spec,
                "workers": self.workers_per_actor,
                "sys_path": list(sys.path),
            },
            batch_size=1,
            batch_format="pyarrow",
            concurrency=min(count, len(shards)),
            num_cpus=self.actor_cpus,
        )
        try:
            results = dataset.take_all()
        except Exception as exc:
            raise EngineError(f"Ray Data scoring failed: {type(exc).__name__}: {exc}") from exc
        scores: list[Score | None] = [None] * len(rows)
        for result in results:
            shard = shards[result["shard"]]
            for index, score in zip(shard, pickle.loads(result["payload"]), strict=True):
                scores[index] = score
        missing = sum(score is None for score in scores)
        if missing:
            raise EngineError(f"Ray Data returned no score for {missing} rows")
        return ScoredBatch([score for score in scores if score is not None], ids)

    @staticmethod
    def _get(ray: Any, refs: list[Any]) -> list[ScoredBatch]:
        try:
            return list(ray.get(refs))
        except ray.exceptions.RayActorError as exc:
            raise EngineError(
                f"a reward actor died and could not be restarted: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            ) from exc

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        if pools:
            ray = _ray()
            for actor in (actor for pool in pools for actor in pool):
                ray.kill(actor)
        if self._started_ray:
            _ray().shutdown()
            self._started_ray = False
        super().close()


def _shards(rows: list[Row], count: int, grouped: bool) -> list[list[int]]:
    """Up to ``count`` contiguous shards of row positions, never splitting a group."""
    units: list[list[int]] = []
    if grouped:
        by_group: dict[Any, list[int]] = {}
        for index, row in enumerate(rows):
            key = row.group if isinstance(row, Sample) and row.group is not None else ("row", index)
            by_group.setdefault(key, []).append(index)
        units = list(by_group.values())
    else:
        units = [[index] for index in range(len(rows))]
    target = max(1, -(-len(rows) // count))
    shards: list[list[int]] = [[]]
    for unit in units:
        if shards[-1] and len(shards[-1]) + len(unit) > target and len(shards) < count:
            shards.append([])
        shards[-1].extend(unit)
    return shards


class _ShardScorer:
    """The ``map_batches`` callable of `RayEngine`'s data mode: one shard (pickled prepared
    rows) in, its pickled scores out."""

    def __init__(self, spec: Spec, workers: int, sys_path: list[str]) -> None:
        self.actor = RewardActor(spec, workers, sys_path)

    def __call__(self, table: Any) -> Any:
        import pickle

        import pyarrow as pa

        numbers = table.column("shard").to_pylist()
        payloads = []
        for blob in table.column("payload").to_pylist():
            rows, ids = pickle.loads(blob)
            payloads.append(pickle.dumps(list(self.actor.score(rows, ids))))
        return pa.table({"shard": numbers, "payload": pa.array(payloads, pa.binary())})


class _DatasetScorer:
    """The ``map_batches`` callable: one engine per Ray Data actor."""

    def __init__(self, spec: Spec, workers: int, sys_path: list[str]) -> None:
        self.actor = RewardActor(spec, workers, sys_path)

    def __call__(self, table: Any) -> Any:
        import msgspec
        import pyarrow as pa

        from rewardsmith.engine.engine import prepare_rows

        rows = table.to_pylist()
        prepared, ids = prepare_rows(rows)
        batch = self.actor.score(prepared, ids)
        encode = msgspec.json.Encoder().encode
        return (
            table.append_column("reward", pa.array([s.value for s in batch], pa.float64()))
            .append_column("status", pa.array([s.status for s in batch], pa.string()))
            .append_column("reason", pa.array([s.reason for s in batch], pa.string()))
            .append_column(
                "components", pa.array([encode(s.components).decode() for s in batch], pa.string())
            )
        )


def score_dataset(
    dataset: Any,
    spec: Any,
    *,
    batch_size: int = 256,
    concurrency: int | None = None,
    workers_per_actor: int = 1,
) -> Any:
    """A Ray Dataset with ``reward``, ``status``, ``reason`` and ``components`` (JSON) columns.

    Rows are scored by ``map_batches`` over an actor pool of ``concurrency`` actors (default:
    the cluster's CPUs). Only row-local specs without group rewards can be split into
    arbitrary Ray Data batches; for others use `RayEngine`, which keeps groups together.
    """
    ray = _ray()
    loaded, terms = load_resolved(spec)
    if not is_row_local(loaded) or any(term.reward.kind == "group" for term in terms):
        raise SpecError(
            f"spec {loaded.name!r} has group rewards or batch-level shaping, which Ray Data's "
            "arbitrary batches would change; score it with RayEngine instead"
        )
    actors = concurrency or max(1, int(ray.cluster_resources().get("CPU", 1)))
    return dataset.map_batches(
        _DatasetScorer,
        fn_constructor_kwargs={
            "spec": loaded,
            "workers": workers_per_actor,
            "sys_path": list(sys.path),
        },
        batch_size=batch_size,
        batch_format="pyarrow",
        concurrency=actors,
        num_cpus=1,
    )
