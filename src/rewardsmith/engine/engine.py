"""The engine: routes every (row, term) to where it may run, caches, and combines the results.

Where a term runs follows from its reward's kind:

- ``inline`` rewards (cheap, cannot hang) run in the calling thread;
- ``cpu`` rewards run in the `WorkerPool`, where a time limit kills the worker; a cpu reward
  may declare a ``fast_path`` that settles easy rows in the calling thread (see `Engine`);
- ``io`` rewards run on the `AsyncRunner` with a concurrency limit, retries and timeouts;
- ``group`` rewards get all samples of one ``group`` at once (in the pool unless inline).

A repeated call (same reward, params and read fields) is run once per batch and answered from
the cache afterwards; inline rewards are not cached, since hashing a row costs more than they
do. One failing row never costs another: every problem becomes a status.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

import msgspec

from rewardsmith.core.policy import apply_policy
from rewardsmith.core.reward import _exception_score
from rewardsmith.core.sample import Sample, SampleError
from rewardsmith.core.score import Score, coerce_score
from rewardsmith.core.spec import ResolvedTerm, Spec, load_resolved
from rewardsmith.engine.aio import AsyncRunner
from rewardsmith.engine.batch import ScoredBatch
from rewardsmith.engine.cache import ScoreCache, term_keyer
from rewardsmith.engine.pool import Job, WorkerPool
from rewardsmith.shaping.advantages import compute_advantages
from rewardsmith.shaping.combine import Shaper

__all__ = ["Engine", "Row", "prepare_rows"]

Row = Sample | Score
"""A prepared row: a `Sample`, or a `Score` for a row that failed before scoring."""


def prepare_rows(rows: Iterable[Any], *, start: int = 0) -> tuple[list[Row], list[str]]:
    """Turn input rows into samples; a malformed row becomes an ``error`` score naming the field.

    Returns the prepared rows and their ids (generated as ``row-<index>`` where missing).
    """
    prepared: list[Row] = []
    ids: list[str] = []
    for index, row in enumerate(rows, start):
        if isinstance(row, (Sample, Score)):  # a tuple: faster per row than `Sample | Score`
            prepared.append(row)
            ids.append(row.id if isinstance(row, Sample) else f"row-{index}")
            continue
        try:
            sample = Sample.from_row(row, index)
        except SampleError as exc:
            raw_id = row.get("id") if isinstance(row, dict) else None
            ids.append(str(raw_id) if isinstance(raw_id, str | int) else f"row-{index}")
            prepared.append(Score.fail("error", f"row {index}: {exc}", field=exc.field))
            continue
        prepared.append(sample)
        ids.append(sample.id)
    return prepared, ids


class Engine:
    """Scores batches of rows against specs. Reuse one engine: it keeps warm workers and a cache.

    Worker processes start from a clean interpreter (never the caller's main module) as soon as
    a spec with ``cpu`` terms is first scored or passed to `warm`; see docs/engine.md.

    A ``cpu`` reward may carry a ``fast_path`` attribute: ``fast_path(sample, params) -> Score |
    None``, called in the calling thread before any worker; a `Score` settles the row (it must
    be exactly what the reward would return), ``None`` (or an exception) sends the row on to a
    worker as usual. Use it for cheap, exact, non-hanging answers only (e.g. math answers that
    normalisation alone decides). The engine measures it and uses it only while it pays: while
    its cost per row is below the worker time it saves divided by the number of workers.

    Args:
        workers: worker processes for ``cpu`` rewards (default: the number of cores).
        cache: keep results by content hash (True), or pass a `ScoreCache`, or False.
        memory_mb: resident-memory limit (MiB) for each worker process while it runs a row;
            wins over a spec's ``limits.worker_memory_mb`` (default: the spec's, else 4096;
            0: no limit).
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        cache: bool | ScoreCache = True,
        memory_mb: int | None = None,
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.memory_mb = memory_mb
        if isinstance(cache, ScoreCache):
            self.cache: ScoreCache | None = cache
        else:
            self.cache = ScoreCache() if cache else None
        self._pool: WorkerPool | None = None
        self._aio: AsyncRunner | None = None
        self._lock = threading.Lock()
        self._shapers: dict[str, Shaper] = {}
        self._warmed: set[tuple[Any, ...]] = set()
        self._fast: dict[tuple[str, str], _FastPathStats] = {}

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def pool(self) -> WorkerPool:
        with self._lock:
            if self._pool is None:
                self._pool = WorkerPool(self.workers, memory_mb=self.memory_mb)
            return self._pool

    @property
    def aio(self) -> AsyncRunner:
        with self._lock:
            if self._aio is None:
                self._aio = AsyncRunner()
            return self._aio

    def warm(self, spec: Any) -> None:
        """Start the worker processes for ``spec``'s cpu terms now, in the background, so the
        first scored batch does not wait for them. Raises `EngineError` if a reward cannot be
        sent to a worker (see docs/engine.md)."""
        _loaded, terms = load_resolved(spec)
        self._warm_terms(terms)

    def _warm_terms(self, terms: list[ResolvedTerm]) -> None:
        wanted = [
            (term.reward, term.params)
            for term in terms
            if term.reward.kind != "io" and not term.reward.inline
        ]
        key = tuple((reward.ref, reward.version, repr(params)) for reward, params in wanted)
        if wanted and key not in self._warmed:
            self._warmed.add(key)
            self.pool.warm(wanted)

    @property
    def stats(self) -> dict[str, float]:
        """Counters of the worker pool: ``worker_starts``, ``worker_start_failures`` (rows
        failed because a worker could not start or load a reward: reason ``worker start-up
        failed``, never ``timeout``), ``worker_start_s_max``, ``worker_kills`` (deadline
        kills) and ``worker_deaths``."""
        pool = self._pool
        if pool is None:
            names = ("starts", "start_failures", "start_s_max", "kills", "deaths")
            return {f"worker_{name}": 0.0 for name in names}
        return {
            "worker_starts": float(pool.starts),
            "worker_start_failures": float(pool.start_failures),
            "worker_start_s_max": pool.start_seconds,
            "worker_kills": float(pool.kills),
            "worker_deaths": float(pool.deaths),
        }

    def close(self) -> None:
        """Stop worker processes and the event loop thread; the engine can start them again."""
        with self._lock:
            pool, aio = self._pool, self._aio
            self._pool = self._aio = None
            self._warmed = set()
        if pool is not None:
            pool.shutdown()
        if aio is not None:
            aio.shutdown()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def shaper(self, spec: Spec) -> Shaper:
        """The `Shaper` this engine uses for ``spec``: it keeps running transform statistics
        across calls (save them with ``state_dict()``, restore with ``load_state_dict()``)."""
        key = spec.content_hash()
        with self._lock:
            found = self._shapers.get(key)
            if found is None:
                found = self._shapers[key] = Shaper(spec)
            return found

    # -- scoring ------------------------------------------------------------------------------

    def score(self, rows: Iterable[Any], spec: Any) -> ScoredBatch:
        """Score rows (dicts or samples) with a spec (name, path, dict or `Spec`), in order."""
        loaded, terms = load_resolved(spec)
        prepared, ids = prepare_rows(rows)
        return self.score_prepared(prepared, ids, loaded, terms)

    def _memory_for(self, spec: Spec) -> int | None:
        """The worker memory limit for this spec's rows: the engine's own setting wins."""
        return self.memory_mb if self.memory_mb is not None else spec.limits.worker_memory_mb

    def score_prepared(
        self, rows: list[Row], ids: list[str], spec: Spec, terms: list[ResolvedTerm]
    ) -> ScoredBatch:
        """Score rows already prepared by `prepare_rows` with an already-resolved spec."""
        self._warm_terms(terms)
        plan = _Plan(rows, spec, terms, self.cache, self._fast, self.workers)
        pool_batch = (
            self.pool.run(plan.pool_jobs, memory_mb=self._memory_for(spec))
            if plan.pool_jobs
            else None
        )
        io_futures = [
            self.aio.submit(
                term.reward,
                term.params,
                sample,
                timeout_s=term.timeout_s,
                retries=term.retries,
                concurrency=term.concurrency,
                limit_key=(term.reward.ref, term.name, term.concurrency),
            )
            for term, sample in plan.io_calls
        ]
        plan.run_inline()
        if pool_batch is not None:
            for waiter, result in zip(plan.pool_waiters, pool_batch.wait(), strict=True):
                plan.deliver(waiter, result)
                if waiter.fast is not None and isinstance(result, Score):
                    waiter.fast.worker_row(result.latency_s)
        for waiter, future in zip(plan.io_waiters, io_futures, strict=True):
            plan.deliver(waiter, _io_result(future))
        scores, constraints = plan.combine_all(ids, self.shaper(spec))
        if spec.normalize is None:
            return ScoredBatch(scores, ids, constraints=constraints)
        advantages, report = compute_advantages(
            spec.normalize, scores, rows, weights=_weights(spec)
        )
        return ScoredBatch(
            scores, ids, advantages=advantages, normalization=report, constraints=constraints
        )


def _weights(spec: Spec) -> dict[str, float]:
    """Top-level component weights: terms outside ensembles, and ensembles."""
    members = {member for ensemble in spec.ensembles for member in ensemble.terms}
    weights = {term.name: term.weight for term in spec.terms if term.name not in members}
    weights.update({ensemble.name: ensemble.weight for ensemble in spec.ensembles})
    return weights


def _io_result(future: Future[Score]) -> Score:
    try:
        return future.result()
    except Exception as exc:
        return Score.fail("error", f"io call failed: {type(exc).__name__}: {exc}")


class _Waiter:
    """Where one computed result goes: a term, a key for the cache, and the rows waiting on it."""

    __slots__ = ("fast", "key", "rows", "term")

    def __init__(
        self,
        term: ResolvedTerm,
        key: bytes | None,
        rows: list[int],
        fast: _FastPathStats | None = None,
    ) -> None:
        self.term = term
        self.key = key
        self.rows = rows
        self.fast = fast


class _FastPathStats:
    """Whether a term's fast path pays: it runs in the one calling thread, so it is worth using
    only while it costs less per row than the share of worker time it saves. (A fast path as
    costly as the reward would turn N workers into one thread.) A few rows of every batch keep
    probing it, so the choice follows the data."""

    PROBE = 16

    def __init__(self) -> None:
        self.call_s: float | None = None  # the fast path's cost per call
        self.settled = 0.0  # the share of rows it settles
        self.worker_s: float | None = None  # a worker's compute per row of this term

    def use_for(self, workers: int) -> bool:
        if self.call_s is None or self.worker_s is None:
            return False  # still measuring: only the probe rows try it
        return self.call_s < self.settled * self.worker_s / workers

    def called(self, seconds: float, settled: bool) -> None:
        if self.call_s is None:
            self.call_s, self.settled = seconds, float(settled)
        else:
            self.call_s = 0.95 * self.call_s + 0.05 * seconds
            self.settled = 0.95 * self.settled + 0.05 * float(settled)

    def worker_row(self, seconds: float) -> None:
        self.worker_s = seconds if self.worker_s is None else 0.95 * self.worker_s + 0.05 * seconds


class _Plan:
    """One batch: which (row, term) pairs are answered, cached, deduplicated or still to run."""

    def __init__(
        self,
        rows: list[Row],
        spec: Spec,
        terms: list[ResolvedTerm],
        cache: ScoreCache | None,
        fast_stats: dict[tuple[str, str], _FastPathStats] | None = None,
        workers: int = 1,
    ) -> None:
        self.rows = rows
        self.fast_stats = fast_stats if fast_stats is not None else {}
        self.workers = workers
        self.spec = spec
        self.cache = cache
        self.results: list[dict[str, Score]] = [{} for _ in rows]
        self.pool_jobs: list[Job] = []
        self.pool_waiters: list[_Waiter] = []
        self.io_calls: list[tuple[ResolvedTerm, Sample]] = []
        self.io_waiters: list[_Waiter] = []
        self.inline: list[tuple[_Waiter, Any]] = []
        self.inline_terms: list[tuple[ResolvedTerm, list[tuple[int, Sample]]]] = []
        self._pending: dict[tuple[str, bytes], _Waiter] = {}
        limit = spec.limits.max_completion_chars
        self.samples = [(index, row) for index, row in enumerate(rows) if isinstance(row, Sample)]
        self.refusals: dict[int, str] = {}
        for index, row in self.samples:
            completion = row.completion
            # A string under the limit needs no call: the text is the string itself.
            if type(completion) is str and len(completion) <= limit:
                continue
            reason = _size_refusal(row, limit)
            if reason is not None:
                self.refusals[index] = reason
        for term in terms:
            if term.reward.kind == "group":
                self._plan_groups(term)
            else:
                self._plan_each(term)

    def _plan_each(self, term: ResolvedTerm) -> None:
        reward = term.reward
        if reward.inline and reward.kind != "io":
            # Cheap by declaration: no cache key (hashing costs more), no waiter per row.
            self.inline_terms.append((term, self._runnable(term)))
            return
        keyer = term_keyer(reward, term.params) if self.cache is not None else None
        fast_path = getattr(reward, "fast_path", None) if reward.kind == "cpu" else None
        stats = None
        using = False
        if fast_path is not None:
            stats = self.fast_stats.setdefault((term.name, reward.id), _FastPathStats())
            using = stats.use_for(self.workers)
        clock = time.perf_counter
        for count, (index, row) in enumerate(self._runnable(term)):
            # In use, every 64th row skips it, to keep measuring the workers; out of use, the
            # first rows of each batch still try it, to keep measuring the fast path.
            tried = stats is not None and (count % 64 != 63 if using else count < stats.PROBE)
            if tried:
                start = clock()
                settled = _try_fast_path(fast_path, row, term.params)
                stats.called(clock() - start, settled is not None)  # type: ignore[union-attr]
                if settled is not None:
                    self.results[index][term.name] = settled
                    continue
            key = keyer(row) if keyer is not None else None
            if self._from_cache_or_pending(key, index, term):
                continue
            waiter = _Waiter(term, key, [index], None if tried else stats)
            if key is not None:
                self._pending[term.name, key] = waiter
            if reward.kind == "io":
                self.io_calls.append((term, row))
                self.io_waiters.append(waiter)
            else:
                self.pool_jobs.append(Job(reward, term.params, row, term.timeout_s))
                self.pool_waiters.append(waiter)

    def _plan_groups(self, term: ResolvedTerm) -> None:
        groups: dict[Any, list[int]] = {}
        for index, row in self._runnable(term):
            groups.setdefault(row.group if row.group is not None else ("row", index), []).append(
                index
            )
        # Group results are not cached: a group is rarely repeated whole.
        for members in groups.values():
            samples = [self.rows[index] for index in members]
            waiter = _Waiter(term, None, members)
            if term.reward.inline:
                self.inline.append((waiter, samples))
            else:
                self.pool_jobs.append(Job(term.reward, term.params, samples, term.timeout_s))
                self.pool_waiters.append(waiter)

    def _runnable(self, term: ResolvedTerm) -> list[tuple[int, Sample]]:
        """The rows this term must run on; rows routed elsewhere or refused are answered here."""
        if term.spec.when is None and not self.refusals:
            return self.samples
        name, results, refusals = term.name, self.results, self.refusals
        applies: dict[str | None, Score | None] = {}
        runnable = []
        for index, row in self.samples:
            task = row.task
            if task not in applies:
                applies[task] = _not_applicable(term, task)
            skipped = applies[task]
            if skipped is not None:
                # One shared answer per task: nothing downstream mutates a term's score.
                results[index][name] = skipped
            elif refusals and index in refusals:
                results[index][name] = Score.fail("refused", refusals[index])
            else:
                runnable.append((index, row))
        return runnable

    def _from_cache_or_pending(self, key: bytes | None, index: int, term: ResolvedTerm) -> bool:
        if key is None or self.cache is None:
            return False
        pending = self._pending.get((term.name, key))
        if pending is not None:
            pending.rows.append(index)
            return True
        cached = self.cache.get(key)
        if cached is not None:
            self.results[index][term.name] = cached
            return True
        return False

    def run_inline(self) -> None:
        for term, rows in self.inline_terms:
            _run_inline_term(term, rows, self.results)
        for waiter, payload in self.inline:
            term = waiter.term
            if isinstance(payload, list):
                self.deliver(waiter, term.reward.run_group(payload, term.params))
            else:
                self.deliver(waiter, term.reward.run(payload, term.params))

    def deliver(self, waiter: _Waiter, result: Score | list[Score]) -> None:
        if isinstance(result, list):
            self._deliver_group(waiter.term, waiter.rows, result)
            return
        if waiter.key is not None and self.cache is not None:
            self.cache.put(waiter.key, result)
        first, *rest = waiter.rows
        self.results[first][waiter.term.name] = result
        for index in rest:
            self.results[index][waiter.term.name] = msgspec.structs.replace(result)

    def _deliver_group(self, term: ResolvedTerm, members: list[int], scores: list[Score]) -> None:
        for index, score in zip(members, scores, strict=True):
            self.results[index][term.name] = msgspec.structs.replace(score)

    def combine_all(
        self, ids: list[str], shaper: Shaper
    ) -> tuple[list[Score], dict[str, Any] | None]:
        """Every row's combined score; the samples are shaped together (transform statistics,
        group comparisons), rows that failed before scoring keep their status. Also returns
        the batch's constrained-combine record (None for other combine modes)."""
        results = self.results
        if len(self.samples) == len(self.rows):  # no row failed before scoring: no index map
            shaped, constraints = shaper.combine_with_report(results, self.rows, ids)  # type: ignore[arg-type]
            for score, row_results in zip(shaped, results, strict=True):
                latency = 0.0
                for result in row_results.values():
                    latency += result.latency_s
                score.latency_s = latency
            return shaped, constraints
        samples = [index for index, _row in self.samples]
        shaped, constraints = shaper.combine_with_report(
            [results[index] for index in samples],
            [row for _index, row in self.samples],
            [ids[index] for index in samples],
        )
        combined: list[Score] = []
        by_index = dict(zip(samples, shaped, strict=True))
        for index, row in enumerate(self.rows):
            if isinstance(row, Score):
                value = apply_policy(self.spec.on_status, row, row_id=ids[index], term="<input>")
                combined.append(msgspec.structs.replace(row, value=value))
                continue
            score = by_index[index]
            latency = 0.0
            for result in results[index].values():
                latency += result.latency_s
            score.latency_s = latency
            combined.append(score)
        return combined, constraints


def _not_applicable(term: ResolvedTerm, task: str | None) -> Score | None:
    """The ``not_applicable`` answer for rows of this task, or None when the term applies."""
    if term.spec.applies_to(task):
        return None
    wanted = term.spec.when if isinstance(term.spec.when, list) else [term.spec.when]
    return Score(status="not_applicable", reason=f"task {task!r} is not one of {wanted}")


def _run_inline_term(
    term: ResolvedTerm, rows: list[tuple[int, Sample]], results: list[dict[str, Score]]
) -> None:
    """`Reward.run` of one term over a batch's rows, into ``results``: params filtered once,
    and the per-row work in one loop (no call layer per row)."""
    reward = term.reward
    fn, reward_name, name = reward.fn, reward.name, term.name
    accepted = reward.accepted_params(term.params)
    clock = time.perf_counter
    for index, sample in rows:
        start = clock()
        try:
            result = fn(sample, **accepted)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            score = _exception_score(reward_name, exc)
        else:
            score = coerce_score(result, reward_name)  # settles the common cases first
        score.latency_s = clock() - start
        results[index][name] = score


def _try_fast_path(fast_path: Any, sample: Sample, params: dict[str, Any]) -> Score | None:
    """The reward's own caller-side answer for this row, or None to send it to a worker."""
    try:
        result = fast_path(sample, params)
    except Exception:  # the worker gives the authoritative answer (and its error, if any)
        return None
    return result if isinstance(result, Score) else None


def _size_refusal(sample: Sample, limit: int) -> str | None:
    """Why the completion is refused before any reward sees it, or None when it is in bounds."""
    size = len(sample.completion_text)
    if size <= limit:
        return None
    return f"completion has {size:,} characters, over the limit of {limit:,} (limits.max_completion_chars)"
