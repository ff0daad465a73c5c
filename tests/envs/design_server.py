"""An OpenAI-compatible chat server on 127.0.0.1 that answers with fixed candidate programs.

Request ``n`` (counted from 0, in arrival order) gets ``replies[n % len(replies)]``, so a round
of ``len(replies)`` concurrent requests gets every reply once. Every request body is kept.
"""

from __future__ import annotations

from typing import Any

from chat_server import ChatServer


class FixedReplyServer(ChatServer):
    """Start with `start()`, stop with `stop()`; ``url`` is the base URL (…/v1)."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = replies
        super().__init__()

    def record(self, raw: bytes, body: dict[str, Any]) -> str:
        text = self.replies[len(self.requests) % len(self.replies)]
        self.requests.append(body)
        return text

    def respond(self, body: dict[str, Any], recorded: str) -> tuple[int, dict[str, Any]]:
        return 200, {
            "id": "fixed",
            "object": "chat.completion",
            "model": body.get("model", "fixed"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": recorded},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1},
        }
