"""Ray scale-out: reward workers as Ray actors, and Ray Data scoring.

- `RayEngine`: an `Engine` whose batches are scored by Ray actors (one per CPU by default),
  each holding its own engine. A trainer already on Ray scores through it without a separate
  server, and ``rewardsmith score --backend ray`` uses it so the run log, resume and output
  file are exactly those of the local backend.
- `score_dataset` (from `rewardsmith.integrations.ray_data`, re-exported here): adds reward
  columns to a Ray Dataset with ``map_batches`` over an actor pool.

Same numbers as the local backend: a batch is split only between whole groups (group rewards
see every sample of their group), and a spec whose shaping depends on the whole batch or on
running statistics (``normalize``, ``unlikeliness``, ``transform``, ``credit``) is scored on
one actor, always the same, so its state evolves as it would locally.

Dead actors (a row that kills its process, a lost node): Ray neither restarts our actors nor
retries their tasks (an automatic retry of a row that kills its actor loops for ever). We do it,
bounded: the failed shard goes to a new actor, split in halves so that a row that kills every
actor it reaches ends up alone; alone, it is tried ``max_restarts + 1`` times and then scored as
``error`` with the reason, and the run goes on. Every re-scored row is counted in `recovery`
and logged as a warning. Ray Data mode hands a failed call to the same recovery on actors.

Rewards must be importable where the actors run: built-ins, installed packages, or (locally)
modules on the driver's ``sys.path``, which the actors inherit.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from rewardsmith.core.errors import EngineError
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.core.spec import ResolvedTerm, Spec
from rewardsmith.engine.batch import ScoredBatch
from rewardsmith.engine.engine import Engine, Row
from rewardsmith.integrations.ray_actor import RewardActor, _ray, is_row_local
from rewardsmith.integrations.ray_data import _ShardScorer, score_dataset

__all__ = ["RayEngine", "RayRecovery", "RewardActor", "score_dataset"]

_CLIENT_HINT = (
    "a ray:// address needs the Ray client (grpcio): pip install 'ray[client]' "
    "(or 'rewardsmith[ray]', which includes it)"
)
logger = logging.getLogger(__name__)


@dataclass
class RayRecovery:
    """What `RayEngine` did about dead actors since it started (cumulative)."""

    actor_deaths: int = 0
    """Tasks lost because their actor died (a row that kills it, a lost node, a kill)."""
    rescored_rows: int = 0
    """Rows sent again to a new actor after such a loss."""
    failed_rows: int = 0
    """Rows that killed every actor they were tried on, scored ``error``."""
    reasons: list[str] = field(default_factory=list)
    """The first line of each actor death (at most the last 20)."""


class RayEngine(Engine):
    """An engine that scores on Ray actors.

    Args:
        actors: reward actors per spec (default: the cluster's CPUs).
        workers_per_actor: worker processes each actor's engine starts for cpu rewards.
        address: a Ray cluster to join (``ray.init(address=...)``); None starts or reuses a
            local Ray. A Ray this engine started is shut down by `close`.
        max_restarts: how often a row whose actor died is sent again, alone, to a new actor
            before it is scored ``error`` (bounded: never Ray's endless retries).
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
        self.recovery = RayRecovery()
        if max_restarts < 0:
            raise ValueError("max_restarts must be >= 0 (retries are bounded)")
        if address is not None and address.startswith("ray://"):
            try:
                import grpc  # noqa: F401  (what ray[client] adds)
            except ImportError as exc:
                raise ImportError(_CLIENT_HINT) from exc

    def _ensure_ray(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            try:
                ray.init(
                    address=self.address,
                    include_dashboard=False,
                    log_to_driver=False,
                    **self.init_kwargs,
                )
            except ImportError as exc:
                raise ImportError(f"{_CLIENT_HINT}: {exc}") from exc
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise EngineError(
                    f"could not join the Ray cluster at {self.address or 'a local Ray'}: "
                    f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                ) from exc
            self._started_ray = True
        return ray

    def _new_actors(self, ray: Any, spec: Spec, count: int) -> list[Any]:
        # Ray restarts nothing and retries nothing (max_restarts=0, max_task_retries=0): a
        # retried task of a row that kills its actor would kill the restarted one, for ever.
        remote = ray.remote(RewardActor).options(
            num_cpus=self.actor_cpus,
            max_restarts=0,
            max_task_retries=0,
            scheduling_strategy="SPREAD",
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
        return pool

    def actors_for(self, spec: Spec) -> list[Any]:
        """The actors scoring ``spec``, started on first use."""
        key = spec.content_hash()
        with self._lock:
            pool = self._pools.get(key)
        if pool is not None:
            return pool
        ray = self._ensure_ray()
        count = self.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        pool = self._new_actors(ray, spec, count)
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
            # Batch-level shaping: the whole batch on one actor, whose state must persist;
            # its loss cannot be recovered without changing the numbers.
            return self._get(ray, [actors[0].score.remote(rows, ids)])[0]
        units = _units(rows, grouped)
        jobs = [_Job(shard) for shard in _pack(units, len(actors))]
        scores = self._run_jobs(ray, spec, rows, ids, jobs)
        return ScoredBatch(scores, ids)

    def _run_jobs(
        self,
        ray: Any,
        spec: Spec,
        rows: list[Row],
        ids: list[str],
        jobs: list[_Job],
        *,
        only: bool = False,
    ) -> list[Score]:
        """Score jobs on the spec's actors; a job whose actor died goes to a new actor, split
        until a row that kills actors is alone, and alone at most ``max_restarts + 1`` times.

        Returns a score per row of ``rows``, or with ``only`` per row of the jobs, in job order.
        """
        actors = self.actors_for(spec)
        scores: list[Score | None] = [None] * len(rows)
        free = list(range(len(actors)))
        running: dict[Any, tuple[int, _Job]] = {}
        queue = list(jobs)
        while queue or running:
            while queue and free:
                job, number = queue.pop(0), free.pop(0)
                indices = job.indices
                ref = actors[number].score.remote(
                    [rows[i] for i in indices], [ids[i] for i in indices]
                )
                running[ref] = (number, job)
            [ref], _ = ray.wait(list(running), num_returns=1)
            number, job = running.pop(ref)
            try:
                batch = ray.get(ref)
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as exc:
                reason = _first_line(exc)
                actors[number] = self._replace_actor(ray, spec, actors[number])
                queue.extend(self._after_death(job, reason, scores))
            except ray.exceptions.RayTaskError as exc:
                # The engine itself raised (rows never raise: they become statuses): a bug or
                # a broken environment on that node, not something a retry fixes.
                raise EngineError(f"a reward actor failed: {_first_line(exc)}") from exc
            else:
                for index, score in zip(job.indices, batch, strict=True):
                    scores[index] = score
            free.append(number)
        wanted = [i for job in jobs for i in job.indices] if only else range(len(rows))
        result = [scores[index] for index in wanted]
        if any(score is None for score in result):  # pragma: no cover - every job ends scored
            raise EngineError("Ray scoring returned no score for some rows")
        return [score for score in result if score is not None]

    def _after_death(self, job: _Job, reason: str, scores: list[Score | None]) -> list[_Job]:
        """The jobs to run after ``job``'s actor died; a lone unit past its tries is scored."""
        recovery = self.recovery
        recovery.actor_deaths += 1
        recovery.reasons = [*recovery.reasons, reason][-20:]
        if len(job.units) > 1:
            half = len(job.units) // 2
            retry = [_Job(job.units[:half], job.tries), _Job(job.units[half:], job.tries)]
        elif job.tries < self.max_restarts:
            retry = [_Job(job.units, job.tries + 1)]
        else:
            rows = len(job.indices)
            recovery.failed_rows += rows
            logger.warning(
                "%d row(s) killed the reward actor on each of %d tries; scored error: %s",
                rows,
                job.tries + 1,
                reason,
            )
            for index in job.indices:
                scores[index] = Score.fail(
                    "error",
                    f"the reward actor died while scoring this row, on each of {job.tries + 1} "
                    f"tries (a reward that crashes or exhausts its process?): {reason}",
                    ray_attempts=job.tries + 1,
                )
            return []
        again = sum(len(item.indices) for item in retry)
        recovery.rescored_rows += again
        logger.warning(
            "a reward actor died (%s); %d row(s) sent again to a new actor (%d re-scored so far)",
            reason,
            again,
            recovery.rescored_rows,
        )
        return retry

    def _replace_actor(self, ray: Any, spec: Spec, dead: Any) -> Any:
        with contextlib.suppress(Exception):  # already gone, which is what we want
            ray.kill(dead, no_restart=True)
        [actor] = self._new_actors(ray, spec, 1)
        return actor

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
        packed = _pack(_units(rows, grouped), max(count, -(-len(rows) // self.shard_rows)))
        shards = [[index for unit in shard for index in unit] for shard in packed]
        items = [
            {
                "shard": number,
                "payload": pickle.dumps(([rows[i] for i in shard], [ids[i] for i in shard])),
            }
            for number, shard in enumerate(shards)
        ]
        with warnings.catch_warnings():
            # max_restarts/max_task_retries reach the actors only as ray_remote_args, which
            # Ray 2.60 flags as deprecated; Ray's own docs still name this way to disable them.
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*")
            dataset = self._dataset(ray, items, spec, count, len(shards))
        scores: list[Score | None] = [None] * len(rows)
        done: set[int] = set()
        try:
            for result in dataset.iter_rows():
                shard = shards[result["shard"]]
                for index, score in zip(shard, pickle.loads(result["payload"]), strict=True):
                    scores[index] = score
                done.add(result["shard"])
        except Exception as exc:
            # An actor died (or the pipeline failed): the shards not returned go to long-lived
            # actors, with the bounded per-row recovery of actor mode.
            lost = [_Job(shard) for number, shard in enumerate(packed) if number not in done]
            reason = _first_line(exc)
            self.recovery.actor_deaths += 1
            self.recovery.reasons = [*self.recovery.reasons, reason][-20:]
            again = sum(len(job.indices) for job in lost)
            self.recovery.rescored_rows += again
            logger.warning(
                "Ray Data scoring failed (%s); %d row(s) sent again to reward actors", reason, again
            )
            rescored = self._run_jobs(ray, spec, rows, ids, lost, only=True)
            for index, score in zip(
                [i for job in lost for i in job.indices], rescored, strict=True
            ):
                scores[index] = score
        missing = sum(score is None for score in scores)
        if missing:
            raise EngineError(f"Ray Data returned no score for {missing} rows")
        return ScoredBatch([score for score in scores if score is not None], ids)

    def _dataset(
        self, ray: Any, items: list[dict[str, Any]], spec: Spec, count: int, shards: int
    ) -> Any:
        return ray.data.from_items(items).map_batches(
            _ShardScorer,
            fn_constructor_kwargs={
                "spec": spec,
                "workers": self.workers_per_actor,
                "sys_path": list(sys.path),
            },
            batch_size=1,
            batch_format="pyarrow",
            concurrency=min(count, shards),
            num_cpus=self.actor_cpus,
            # Ray Data's actor pools restart actors and retry tasks without end by default:
            # a row that kills its actor would loop for ever. Fail fast and recover instead.
            max_restarts=0,
            max_task_retries=0,
        )

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


@dataclass
class _Job:
    """Whole units (groups, or single rows) sent to one actor; ``tries``: earlier deaths of
    this job's rows alone."""

    units: list[list[int]]
    tries: int = 0

    @property
    def indices(self) -> list[int]:
        return [index for unit in self.units for index in unit]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def _units(rows: list[Row], grouped: bool) -> list[list[int]]:
    """Row positions in the pieces that may not be split: a group, or a single row."""
    if not grouped:
        return [[index] for index in range(len(rows))]
    by_group: dict[Any, list[int]] = {}
    for index, row in enumerate(rows):
        key = row.group if isinstance(row, Sample) and row.group is not None else ("row", index)
        by_group.setdefault(key, []).append(index)
    return list(by_group.values())


def _pack(units: list[list[int]], count: int) -> list[list[list[int]]]:
    """Up to ``count`` shards of consecutive units, about equal in rows."""
    total = sum(len(unit) for unit in units)
    target = max(1, -(-total // count))
    shards: list[list[list[int]]] = [[]]
    size = 0
    for unit in units:
        if shards[-1] and size + len(unit) > target and len(shards) < count:
            shards.append([])
            size = 0
        shards[-1].append(unit)
        size += len(unit)
    return shards
