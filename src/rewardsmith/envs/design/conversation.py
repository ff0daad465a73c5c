"""The conversation with the model: what each round sends, and one round of requests.

Round one sends the system prompt and the environment with the task (`opening`); every later
round keeps those two and replaces the rest with feedback on the best candidate so far and the
reasons others failed (`after_round`: a fresh context each round, as Eureka does).

`ask_round` sends ``config.candidates`` chat requests concurrently. Each ends as a `Reply`
(text to look for code in) or a `NoReply` (the request failed, or the model refused): a value
the loop can tell apart by type, not a string it must recognise by its prefix.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from rewardsmith.envs.design.config import DesignConfig
from rewardsmith.envs.design.prompt import SYSTEM_PROMPT, feedback_message, first_message
from rewardsmith.envs.design.results import Candidate

__all__ = ["Answer", "Messages", "NoReply", "Reply", "after_round", "ask_round", "opening"]

Messages = list[dict[str, str]]
"""Chat messages, ``{"role": ..., "content": ...}``."""


@dataclass(frozen=True)
class Reply:
    """What the model wrote."""

    text: str


@dataclass(frozen=True)
class NoReply:
    """A request that gave no reply to evaluate: it failed, or the model refused."""

    kind: Literal["request failed", "refused"]
    detail: str

    @property
    def text(self) -> str:
        """What stands in for the reply in the run log and in `Candidate.response`."""
        return f"<{self.kind}: {self.detail}>"

    @property
    def reason(self) -> str:
        """The candidate's reason, as the model sees it in the next round's feedback."""
        return self.text.strip("<>")


Answer = Reply | NoReply


def opening(description: str, task: str) -> Messages:
    """The first round's messages: the system prompt, then the environment and the task."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": first_message(description, task)},
    ]


def after_round(messages: Messages, best: Candidate | None, round_: list[Candidate]) -> Messages:
    """The next round's messages: the opening, then feedback on ``best`` and the failures of
    the round just finished."""
    feedback = feedback_message(
        None
        if best is None
        else {
            "code": best.code,
            "success_rate": best.result.success_rate,
            "train_success": best.result.train_success,
            "mean_length": best.result.mean_length,
            "stats": best.result.stats,
        },
        [
            {"status": c.result.status, "reason": c.result.reason}
            for c in round_
            if c.result.status != "ok"
        ],
    )
    # Eureka-style: a fresh context each round (the first message, then the feedback).
    return [*messages[:2], {"role": "user", "content": feedback}]


def ask_round(config: DesignConfig, messages: Messages) -> list[Answer]:
    """``config.candidates`` answers to ``messages``, requested concurrently, in order."""
    return asyncio.run(_ask(config, messages))


async def _ask(config: DesignConfig, messages: Messages) -> list[Answer]:
    import httpx

    from rewardsmith.models.judge.client import JudgeResponseError, chat

    async def one() -> Answer:
        try:
            reply = await chat(
                config.endpoint,
                config.model,
                messages,
                api_key_env=config.api_key_env,
                temperature=config.temperature,
                max_tokens=config.max_tokens,
                http_timeout_s=config.http_timeout_s,
            )
        except (httpx.HTTPError, JudgeResponseError, OSError) as exc:
            # A failed request is one lost candidate, logged with its reason.
            return NoReply("request failed", f"{type(exc).__name__}: {str(exc)[:200]}")
        return Reply(reply.text) if reply.refusal is None else NoReply("refused", reply.refusal)

    return list(await asyncio.gather(*(one() for _ in range(config.candidates))))
