"""`RewardServer`: the reward server as a plain ASGI application.

Routes (see docs/serve.md):

- ``POST /v1/score``    native: ``{"samples": [row, ...]}`` -> ``{"scores": [...], ...}``
- ``POST /get_reward``  OpenRLHF's remote reward protocol
- ``GET /healthz``, ``GET /metrics`` (Prometheus text), ``GET /openapi.json``

Raw ASGI rather than a framework: the scoring routes decode with msgspec straight from the
body bytes, and reading the body ourselves (`rewardsmith.serve.limits.read_body`) is what lets
an oversized, too slow or over-budget request be refused (413/408/503) before it is held in
memory. A request with an ``Idempotency-Key`` already answered is answered again from
`rewardsmith.serve.idempotency` without scoring. Requests share one `MicroBatcher`, which bounds
the queue (429) and keeps a hanging row to its own request.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import os
import sys
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from rewardsmith.core.errors import EngineError, RewardFailedError, SpecError
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import STATUSES
from rewardsmith.core.spec import Spec, load_spec, resolve_terms, term_versions
from rewardsmith.core.version import __version__
from rewardsmith.engine.batcher import MicroBatcher, QueueFullError
from rewardsmith.engine.engine import Engine
from rewardsmith.io.runlog import RunLog
from rewardsmith.serve.config import ServeConfig
from rewardsmith.serve.idempotency import IdempotencyRecord, answer_once
from rewardsmith.serve.limits import BodyBudget, ClientDisconnected, read_body
from rewardsmith.serve.logproc import RunLogProcess
from rewardsmith.serve.metrics import ServerMetrics
from rewardsmith.serve.openapi import openapi_document
from rewardsmith.serve.wire import (
    RESERVED_LOG_NAMES,
    Problem,
    Reply,
    RewardRequest,
    ScoreRequest,
    ScoreResponse,
    WireError,
    completion_from_query,
    decode,
    encode,
    label_reference,
    openrlhf_answer,
    samples_from_rows,
    unapplied_terms_warnings,
    wire_score,
)

__all__ = ["RewardServer", "create_app"]

log = logging.getLogger("rewardsmith.serve")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON = b"application/json"
_TEXT = b"text/plain; version=0.0.4; charset=utf-8"


def create_app(spec: Any, config: ServeConfig | None = None, *, engine: Engine | None = None):  # type: ignore[no-untyped-def]
    """An ASGI app scoring with ``spec`` (name, TOML path, dict or `Spec`).

    Example:
        >>> app = create_app("exact_match")
        >>> app.spec.name
        'exact_match'
    """
    return RewardServer(spec, config, engine=engine)


class RewardServer:
    """The ASGI application. Starts its engine, batcher and run-log run on ASGI lifespan startup
    (or on the first request when the host sends no lifespan events), and drains them on
    shutdown: every queued row is scored and logged before the process exits.

    Args:
        spec: the spec every request is scored with.
        config: server settings (`ServeConfig`).
        engine: an engine to use instead of starting one (it is then not closed on shutdown).
    """

    def __init__(
        self, spec: Any, config: ServeConfig | None = None, *, engine: Engine | None = None
    ) -> None:
        self.spec: Spec = load_spec(spec)
        self.config = config or ServeConfig()
        self.terms = resolve_terms(self.spec)
        self.metrics = ServerMetrics()
        self.engine: Engine | None = engine
        self._own_engine = engine is None
        self.batcher: MicroBatcher | None = None
        self.run: RunLogProcess | None = None
        self._state = "new"
        self._lock = threading.Lock()
        self._token = self.config.token.encode() if self.config.token else None
        self._bodies = BodyBudget(self.config.max_pending_body_bytes)
        self._warned: set[str] = set()
        self._idempotency = IdempotencyRecord(
            self.config.idempotency_entries, self.config.idempotency_bytes
        )
        self._term_rewards = {term.name: term.reward.name for term in self.terms}
        self._term_names = [term.name for term in self.spec.terms]
        for position, name in enumerate(self._term_names):
            if name in RESERVED_LOG_NAMES:
                raise SpecError(
                    f"spec {self.spec.name!r}: terms[{position}] is named {name!r}, which would "
                    f"overwrite /get_reward's own extra_logs['rewardsmith/{name}'] flag; rename "
                    "the term"
                )
        self._openapi = encode(
            openapi_document(
                title="rewardsmith",
                version=__version__,
                spec_name=self.spec.name,
                auth=self._token is not None,
            )
        )
        self._routes: dict[str, tuple[str, Callable[[Scope, Receive], Awaitable[Reply]]]] = {
            "/v1/score": ("POST", self._score),
            "/get_reward": ("POST", self._get_reward),
            "/healthz": ("GET", self._health),
            "/metrics": ("GET", self._metrics),
            "/openapi.json": ("GET", self._openapi_route),
        }
        self.metrics.gauge(
            "rewardsmith_queue_rows",
            "Rows waiting to be scored.",
            lambda: self.batcher.queued_rows if self.batcher else 0,
        )
        self.metrics.counter(
            "rewardsmith_worker_restarts_total",
            "Worker processes replaced after a timeout kill or a crash.",
            self._worker_restarts,
        )
        self.metrics.counter(
            "rewardsmith_cache_hits_total",
            "Engine cache hits.",
            lambda: self.engine.cache.hits if self.engine and self.engine.cache else 0,
        )

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the engine, the run-log run and the batcher (idempotent)."""
        with self._lock:
            if self._state != "new":
                return
            if self.engine is None:
                memory = self.config.worker_memory_mb
                if memory is None:
                    memory = self.spec.limits.worker_memory_mb
                self.engine = Engine(self.config.workers, memory_mb=memory)
            if self.config.log:
                run = RunLog(self.config.log_dir).create(self.spec, self.terms, argv=list(sys.argv))
                # Written by a child process: in this one the log cost half the throughput.
                self.run = RunLogProcess(run)
            self.batcher = MicroBatcher(
                self.engine,
                self.spec,
                max_batch_rows=self.config.max_batch_rows,
                max_queue_rows=self.config.max_queue_rows,
                max_wait_s=self.config.batch_wait_ms / 1000,
                run=self.run,
                on_batch=lambda scores: self.metrics.scored(scores, self._term_rewards),
                max_concurrent_calls=self.config.max_concurrent_calls,
                coalesce=self.config.coalesce,
            )
            self._state = "serving"

    def stop(self) -> None:
        """Score and log everything queued, then stop (idempotent)."""
        with self._lock:
            if self._state != "serving":
                self._state = "stopped"
                return
            self._state = "draining"
        assert self.batcher is not None
        self.batcher.close()
        if self.run is not None:
            self.run.close("completed")
        if self._own_engine and self.engine is not None:
            self.engine.close()
        self._state = "stopped"

    def _worker_restarts(self) -> float:
        pool = getattr(self.engine, "_pool", None) if self.engine is not None else None
        return float(pool.kills + pool.deaths) if pool is not None else 0.0

    # -- ASGI -----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await asyncio.to_thread(self.start)
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.to_thread(self.stop)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path = scope["path"]
        route = self._routes.get(path)
        headers: list[tuple[bytes, bytes]] = []
        if route is None:
            name = "other"
            status, body = 404, encode({"error": f"no route {path}", "problems": []})
        elif scope["method"] != route[0]:
            name = path
            status = 405
            body = encode({"error": f"{path} takes {route[0]}", "problems": []})
            headers.append((b"allow", route[0].encode()))
        else:
            name = path
            try:
                status, body, content_type, headers = await route[1](scope, receive)
            except ClientDisconnected:
                self.metrics.request(name, 499, time.perf_counter() - started)
                return
            except WireError as exc:
                status, body = exc.status, encode(exc.body)
                headers = [(k.encode(), v.encode()) for k, v in exc.headers.items()]
                self.metrics.reject(exc.reason)
            except QueueFullError as exc:
                status = 429
                body = encode({"error": str(exc), "problems": []})
                headers = [(b"retry-after", str(math.ceil(exc.retry_after_s)).encode())]
                self.metrics.reject("queue_full")
            except RewardFailedError as exc:
                status, body = 500, encode({"error": str(exc), "problems": []})
            except EngineError as exc:
                status, body = 503, encode({"error": str(exc), "problems": []})
            except Exception as exc:
                log.exception("request to %s failed", path)
                status = 500
                body = encode({"error": f"{type(exc).__name__}: {exc}", "problems": []})
            else:
                await _respond(send, status, body, content_type, headers)
                self.metrics.request(name, status, time.perf_counter() - started)
                return
        await _respond(send, status, body, _JSON, headers)
        self.metrics.request(name, status, time.perf_counter() - started)

    # -- helpers ------------------------------------------------------------------------------

    def _check_token(self, scope: Scope) -> None:
        if self._token is None:
            return
        for key, value in scope["headers"]:
            if key == b"authorization":
                scheme, _, credential = value.partition(b" ")
                if scheme.lower() == b"bearer" and hmac.compare_digest(
                    credential.strip(), self._token
                ):
                    return
                break
        raise WireError(
            401,
            "this server needs 'Authorization: Bearer <token>' (see --token / REWARDSMITH_TOKEN)",
            headers={"www-authenticate": "Bearer"},
        )

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        return await read_body(
            scope["headers"],
            receive,
            max_bytes=self.config.max_body_bytes,
            timeout_s=self.config.body_timeout_s,
            budget=self._bodies,
        )

    def _ready_batcher(self) -> MicroBatcher:
        if self._state == "new":
            self.start()
        if self._state != "serving" or self.batcher is None:
            raise EngineError("the server is shutting down")
        return self.batcher

    def _check_batch(self, rows: int) -> None:
        if rows > self.config.max_batch_rows:
            raise WireError(
                413,
                f"{rows} rows in one request, over the limit of {self.config.max_batch_rows} "
                "(--max-batch-rows); split the batch",
            )

    # -- routes -------------------------------------------------------------------------------

    def _query_task(self, scope: Scope) -> str | None:
        """The ``?task=`` query parameter (the task of rows that carry none), else the
        server's ``default_task``. Any other parameter is a 422: a typo must not pass silently."""
        raw = scope.get("query_string", b"")
        if not raw:
            return self.config.default_task
        try:
            params = urllib.parse.parse_qs(
                raw.decode("latin-1"), keep_blank_values=True, strict_parsing=True
            )
        except ValueError as exc:
            raise WireError(
                422, f"malformed query string: {exc}", [Problem("<query>", str(exc))]
            ) from None
        unknown = sorted(set(params) - {"task"})
        if unknown:
            message = f"unknown query parameter {unknown[0]!r}; the only one is 'task'"
            raise WireError(422, message, [Problem(f"?{unknown[0]}", message)])
        values = params.get("task", [])
        if len(values) > 1:
            raise WireError(422, "?task= given twice", [Problem("?task", "given twice")])
        return values[0] if values and values[0] else self.config.default_task

    def _warn(self, warnings: list[str]) -> list[str]:
        for warning in warnings:
            if warning not in self._warned and len(self._warned) < 100:
                self._warned.add(warning)
                log.warning("%s", warning)
        return warnings

    async def _once(
        self, scope: Scope, route: str, body: bytes, answer: Callable[[], Awaitable[Reply]]
    ) -> Reply:
        return await answer_once(
            self._idempotency,
            scope["headers"],
            route,
            body,
            answer,
            on_replay=lambda: self.metrics.replay(route),
        )

    async def _score(self, scope: Scope, receive: Receive) -> Reply:
        self._check_token(scope)
        task = self._query_task(scope)
        body = await self._read_body(scope, receive)
        return await self._once(scope, "/v1/score", body, lambda: self._score_body(body, task))

    async def _score_body(self, body: bytes, task: str | None) -> Reply:
        request: ScoreRequest = decode(body, ScoreRequest)
        self._check_batch(len(request.samples))
        samples = samples_from_rows(request.samples, default_task=task)
        warnings = self._warn(unapplied_terms_warnings(samples, self.spec.terms))
        batcher = self._ready_batcher()
        ids = [sample.id for sample in samples]
        scores = await batcher.score(list(samples), ids)
        counts = dict.fromkeys(STATUSES, 0)
        for score in scores:
            counts[score.status] += 1
        response = ScoreResponse(
            scores=[wire_score(row_id, score) for row_id, score in zip(ids, scores, strict=True)],
            status_counts=counts,
            warnings=warnings,
        )
        return 200, encode(response), _JSON, []

    async def _get_reward(self, scope: Scope, receive: Receive) -> Reply:
        self._check_token(scope)
        task = self._query_task(scope)
        body = await self._read_body(scope, receive)
        return await self._once(
            scope, "/get_reward", body, lambda: self._get_reward_body(body, task)
        )

    async def _get_reward_body(self, body: bytes, task: str | None) -> Reply:
        request: RewardRequest = decode(body, RewardRequest)
        count = len(request.query)
        self._check_batch(count)
        problems = [
            Problem(field=name, message=f"has {len(values)} items but query has {count}")
            for name, values in (
                ("prompts", request.prompts),
                ("labels", request.labels),
                ("tasks", request.tasks),
            )
            if values is not None and len(values) != count
        ]
        if problems:
            raise WireError(422, f"{problems[0].field}: {problems[0].message}", problems)
        samples: list[Sample] = []
        for index, query in enumerate(request.query):
            prompt = request.prompts[index] if request.prompts is not None else ""
            completion = completion_from_query(query, prompt, self.config.end_tokens)
            if completion is None:
                problems.append(
                    Problem(
                        field=f"query[{index}]",
                        message=f"does not contain its prompt (prompts[{index}]); OpenRLHF sends "
                        "prompt + response as the query",
                        row=index,
                    )
                )
                continue
            row_task = request.tasks[index] if request.tasks is not None else None
            samples.append(
                Sample(
                    id=f"query-{index}",
                    prompt=prompt,
                    completion=completion,
                    reference=label_reference(request.labels[index])
                    if request.labels is not None
                    else None,
                    task=row_task if row_task is not None else task,
                )
            )
        if problems:
            raise WireError(422, f"{problems[0].field}: {problems[0].message}", problems[:20])
        warnings = self._warn(unapplied_terms_warnings(samples, self.spec.terms))
        batcher = self._ready_batcher()
        scores = await batcher.score(list(samples), [sample.id for sample in samples])
        answer = openrlhf_answer(scores, self._term_names, self.config.masked_reward, warnings)
        return 200, encode(answer), _JSON, []

    async def _health(self, scope: Scope, receive: Receive) -> Reply:
        if self._state not in ("new", "serving"):
            return 503, encode({"error": f"the server is {self._state}", "problems": []}), _JSON, []
        body = {
            "status": "ok",
            "spec": self.spec.name,
            "spec_hash": self.spec.content_hash(term_versions(self.terms)),
            "rows_scored": self.batcher.rows_scored if self.batcher else 0,
            "queued_rows": self.batcher.queued_rows if self.batcher else 0,
            "run_id": self.run.id if self.run else None,
            "pid": os.getpid(),
        }
        return 200, encode(body), _JSON, []

    async def _metrics(self, scope: Scope, receive: Receive) -> Reply:
        return 200, self.metrics.render().encode(), _TEXT, []

    async def _openapi_route(self, scope: Scope, receive: Receive) -> Reply:
        return 200, self._openapi, _JSON, []


async def _respond(
    send: Send, status: int, body: bytes, content_type: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
