"""``rewardsmith serve``: options to a `ServeConfig`, then the HTTP reward server."""

from __future__ import annotations

from typing import Annotated

import typer

from rewardsmith.cli.common import (
    LogDir,
    MemoryOpt,
    RewardOpt,
    SpecOpt,
    WorkersOpt,
    fail,
    load_one_spec,
)
from rewardsmith.core.errors import SpecError

__all__ = ["serve"]


def serve(
    spec: SpecOpt = None,
    reward: RewardOpt = None,
    host: Annotated[
        str, typer.Option(help="Interface to bind (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port; 0 picks a free one.")] = 8000,
    workers: WorkersOpt = None,
    memory_mb: MemoryOpt = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="REWARDSMITH_TOKEN", help="Require 'Authorization: Bearer TOKEN'."),
    ] = None,
    max_batch_rows: Annotated[int, typer.Option(help="Most rows per request (413 above).")] = 4096,
    max_queue_rows: Annotated[int, typer.Option(help="Queued rows before 429.")] = 65536,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body (413 above).")] = 64.0,
    masked_reward: Annotated[
        str,
        typer.Option(
            help="/get_reward reward of a masked row, flagged by rewardsmith/masked (OpenRLHF "
            "cannot skip a row or take null); 'null' sends null."
        ),
    ] = "0.0",
    eos_marker: Annotated[
        list[str] | None,
        typer.Option(
            "--eos-marker",
            help="An end-of-sequence marker to strip from /get_reward completions, added to the "
            "defaults (Qwen, Llama 3, DeepSeek, Mistral, Gemma, Phi); repeatable.",
        ),
    ] = None,
    default_task: Annotated[
        str | None,
        typer.Option(help="Task of rows sent without one (routes terms with `when`)."),
    ] = None,
    header_timeout_s: Annotated[
        float, typer.Option(help="Seconds a request's headers may take (408 after).")
    ] = 10.0,
    body_timeout_s: Annotated[
        float, typer.Option(help="Seconds a request's body may take (408 after).")
    ] = 30.0,
    max_pending_body_mb: Annotated[
        float,
        typer.Option(help="Request bodies held at once while being received (503 above)."),
    ] = 256.0,
    coalesce: Annotated[
        bool,
        typer.Option(
            "--coalesce",
            help="Score concurrent requests of a cpu/io spec in one engine call: more rows/s for "
            "per-sample callers, but a hanging row then delays the requests scored with it.",
        ),
    ] = False,
    no_log: Annotated[bool, typer.Option("--no-log", help="Do not write the run log.")] = False,
    log_dir: LogDir = None,
) -> None:
    """Serve a spec over HTTP: /v1/score, OpenRLHF's /get_reward, /healthz, /metrics."""
    from rewardsmith.serve import ServeConfig, run_server
    from rewardsmith.serve.config import DEFAULT_END_TOKENS

    loaded = load_one_spec(spec, reward)
    try:
        config = ServeConfig(
            host=host,
            port=port,
            workers=workers,
            worker_memory_mb=memory_mb,
            token=token or None,
            max_batch_rows=max_batch_rows,
            max_queue_rows=max_queue_rows,
            max_body_bytes=int(max_body_mb * 1024 * 1024),
            max_pending_body_bytes=int(max_pending_body_mb * 1024 * 1024),
            masked_reward=_masked_value(masked_reward),
            end_tokens=DEFAULT_END_TOKENS + tuple(m for m in eos_marker or [] if m),
            default_task=default_task,
            header_timeout_s=header_timeout_s,
            body_timeout_s=body_timeout_s,
            coalesce=True if coalesce else None,
            log=not no_log,
            log_dir=log_dir,
        )
    except ValueError as exc:
        fail(str(exc))

    def listening(url: str) -> None:
        # Callers (tests, scripts) find the real port of `--port 0` in this line.
        typer.echo(f"rewardsmith: serving spec {loaded.name!r} on {url}", err=True)

    try:
        run_server(loaded, config, on_listening=listening)
    except (ImportError, OSError, SpecError) as exc:
        fail(str(exc))


def _masked_value(text: str) -> float | None:
    if text.strip().lower() in ("null", "none"):
        return None
    try:
        return float(text)
    except ValueError:
        fail(f"--masked-reward takes a number or 'null', not {text!r}")
    return None  # unreachable: fail() exits
