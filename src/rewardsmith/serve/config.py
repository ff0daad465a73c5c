"""`ServeConfig`: every setting of the reward server, with its default and why."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["DEFAULT_END_TOKENS", "ServeConfig"]

DEFAULT_END_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",  # Qwen, GPT-2 family
    "<|im_end|>",  # Qwen / ChatML
    "<|eot_id|>",  # Llama 3
    "<|eom_id|>",  # Llama 3.1 (end of a tool-calling message)
    "<|end_of_text|>",  # Llama 3
    "<｜end▁of▁sentence｜>",  # DeepSeek V2/V3/R1 (full-width bars, U+2581 between words)
    "<|end▁of▁sentence|>",  # DeepSeek as some chat templates spell it (ASCII bars)
    "<|EOT|>",  # DeepSeek-Coder
    "<|end|>",  # Phi-3
    "</s>",  # Llama 2, Mistral
    "<eos>",  # Gemma
    "<end_of_turn>",  # Gemma
)
"""End-of-text markers that trainers leave in decoded text (OpenRLHF decodes with
``skip_special_tokens=False``); stripped from the end of an OpenRLHF ``query``. Add a model's
own with ``rewardsmith serve --eos-marker TEXT`` (repeatable) or `ServeConfig.end_tokens`."""


class ServeConfig(BaseModel):
    """Settings of `rewardsmith serve` and `rewardsmith.serve.create_app`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    """Interface to bind. Loopback by default: a reward server is not for the open network."""
    port: int = Field(default=8000, ge=0, le=65535)
    """TCP port (0: any free port)."""
    workers: int | None = Field(default=None, gt=0)
    """Engine worker processes for ``cpu`` rewards (default: the number of cores)."""
    worker_memory_mb: int | None = Field(default=None, ge=0)
    """Resident memory (MiB) a worker may hold while it runs a row; past it the row is
    ``error`` (``memory limit ...``) and the worker replaced. None: the spec's
    ``limits.worker_memory_mb``, else 4096; 0: no limit."""
    token: str | None = None
    """When set, scoring routes need ``Authorization: Bearer <token>`` (else 401)."""
    max_body_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    """Largest request body accepted; a larger one gets 413 before it is read whole."""
    header_timeout_s: float = Field(default=10.0, gt=0)
    """A request's line and headers must arrive within this many seconds of its first byte (or
    of the connection opening); else 408 and the connection is closed (slow-loris clients)."""
    body_timeout_s: float = Field(default=30.0, gt=0)
    """A request's whole body must arrive within this many seconds of its headers; else 408 and
    the connection is closed (a client that stops half-way)."""
    max_pending_body_bytes: int = Field(default=256 * 1024 * 1024, gt=0)
    """Bytes of request bodies held at once across all requests still being read. A request
    whose body would pass it gets 503 + ``Retry-After`` before its body is read, so many
    half-sent large bodies cost at most this much memory."""
    max_connections: int | None = Field(default=1024, gt=0)
    """Open connections and requests in flight before uvicorn answers 503 (None: no limit)."""
    max_batch_rows: int = Field(default=4096, gt=0)
    """Most rows in one request (413 above it) and most rows scored in one engine call."""
    max_queue_rows: int = Field(default=65_536, gt=0)
    """Rows waiting to be scored across all requests; past it requests get 429 + Retry-After."""
    coalesce: bool | None = None
    """Score several requests in one engine call. None (default): only for specs whose every
    term is ``inline`` (nothing can hang). True for any spec trades isolation for throughput:
    per-sample callers of a ``cpu`` spec get more rows/s (2.6-3.7x with 16-64 clients in
    ``bench/serve_isolation.py``), but a hanging row then delays every request scored in its
    call until the row's deadline."""
    max_concurrent_calls: int | None = Field(default=None, gt=0)
    """Engine calls scored at once (default: ``max(8, 4 × workers)``). A request whose row
    hangs holds one call until that row's deadline; the other requests go on in the others."""
    batch_wait_ms: float = Field(default=0.0, ge=0.0, le=1000.0)
    """How long the batcher waits for more requests to join a small batch. 0: no wait; requests
    that arrive while a batch is being scored form the next batch anyway."""
    end_tokens: tuple[str, ...] = DEFAULT_END_TOKENS
    """Markers stripped from the end of OpenRLHF completions (repeatedly, with whitespace).
    Replaces the defaults: to add one, pass ``DEFAULT_END_TOKENS + ("<|my_eos|>",)``."""
    default_task: str | None = None
    """Task of rows that carry none and come without ``?task=`` (routes terms with ``when``).
    OpenRLHF sends no task: set this, or put ``?task=NAME`` in ``--remote_rm_url``."""
    masked_reward: float | None = 0.0
    """What ``/get_reward`` sends as the reward of a row the spec masks. OpenRLHF turns every
    reward into a tensor and cannot skip a sample (null crashes its step), so it gets a number,
    and ``extra_logs["rewardsmith/masked"]`` is 1.0 on that row (as in the OpenRLHF file
    adapter). None sends null, for a caller of your own that can skip a sample. ``/v1/score``
    always answers null for a masked row."""
    idempotency_entries: int = Field(default=10_000, ge=0)
    """Answers kept for requests that carry an ``Idempotency-Key`` header, so a retry is
    answered without scoring or logging its rows twice (0: keep none)."""
    idempotency_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    """Most bytes of kept answers; the oldest are dropped first."""
    log: bool = True
    """Write every scored row to the run log."""
    log_dir: Path | None = None
    """Run log root (default: ``$REWARDSMITH_HOME/runs`` or ``./.rewardsmith/runs``)."""
    graceful_timeout_s: float = Field(default=30.0, gt=0)
    """On SIGTERM/SIGINT: how long in-flight requests may take to finish before the server
    stops anyway."""

    @model_validator(mode="after")
    def _budget_holds_one_body(self) -> ServeConfig:
        if self.max_pending_body_bytes < self.max_body_bytes:
            raise ValueError(
                f"max_pending_body_bytes ({self.max_pending_body_bytes:,}) is smaller than "
                f"max_body_bytes ({self.max_body_bytes:,}): a body at the limit could never be read"
            )
        return self
