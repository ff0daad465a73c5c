"""A deterministic OpenAI-compatible chat server on 127.0.0.1, standing in for a hosted LLM judge.

It answers ``POST /v1/chat/completions`` by reading the tagged blocks of the judge prompt
(``<response>``, ``<reference>``, ``<response_a>``/``<response_b>``, ``<criterion>``) and applying
fixed rules, so every test knows the verdict in advance:

- a response containing ``GOOD`` is rated 9, ``BAD`` 2, anything else 5 (``[[N]]``);
- reference mode: ``[[YES]]`` when the reference text occurs in the response;
- pairwise: the response containing ``GOOD`` wins; ``[[C]]`` when neither or both do;
  with ``position_bias=True`` the server always answers ``[[A]]``;
- a criterion ``mentions X`` is met when X occurs in the response.

Markers in the response select failures: ``SLOW`` (sleeps ``slow_s``), ``FAIL500`` (HTTP 500),
``FLAKY`` (500 on the first request of that body, then normal), ``GARBAGE`` (a reply with no
verdict), ``REFUSE`` (refusal wording), ``REFUSALFIELD`` (the API's ``refusal`` field),
``NOTJSON`` (a 200 whose body is not JSON), ``OUTOFRANGE`` (a rating of 12 on the 1-10 scale). Every request is counted and kept.
"""

from __future__ import annotations

import re
import time
from typing import Any

from chat_server import ChatServer


def _block(text: str, tag: str) -> str | None:
    found = re.search(rf"<{tag}>\n(.*?)\n</{tag}>", text, re.S)
    return found.group(1) if found else None


def _rating(response: str) -> str:
    if "GOOD" in response:
        return "Strong answer. [[9]]"
    if "BAD" in response:
        return "Weak answer. [[2]]"
    return "Average. [[5]]"


class JudgeServer(ChatServer):
    """Start with `start()`, stop with `stop()`; ``url`` is the base URL (…/v1)."""

    def __init__(self, *, position_bias: bool = False, slow_s: float = 2.0) -> None:
        self.position_bias = position_bias
        self.slow_s = slow_s
        self.seen: set[bytes] = set()
        super().__init__()

    def record(self, raw: bytes, body: dict[str, Any]) -> bool:
        """Keep the request; True the first time this exact body arrives (see ``FLAKY``)."""
        self.requests.append(body)
        first_time = raw not in self.seen
        self.seen.add(raw)
        return first_time

    def respond(self, body: dict[str, Any], recorded: bool) -> tuple[int, dict[str, Any] | str]:
        return self.answer(body["messages"][-1]["content"], recorded)

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def answer(self, user: str, first_time: bool) -> tuple[int, dict[str, Any] | str]:
        response = _block(user, "response") or ""
        a, b = _block(user, "response_a"), _block(user, "response_b")
        every = response + (a or "") + (b or "")
        if "SLOW" in every:
            time.sleep(self.slow_s)
        if "FAIL500" in every or ("FLAKY" in every and first_time):
            return 500, {"error": {"message": "internal error"}}
        if "NOTJSON" in every:
            return 200, "<html>502 Bad Gateway</html>"
        refusal = None
        if "REFUSALFIELD" in every:
            text, refusal = "", "I can't assist with that request."
        elif "REFUSE" in every:
            text = "I'm sorry, but I can't help with evaluating this."
        elif "OUTOFRANGE" in every:
            text = "Exceptional. [[12]]"
        elif "GARBAGE" in every:
            text = "The response has some merits and some flaws; overall it is fine-ish."
        elif a is not None and b is not None:
            if self.position_bias:
                text = "Response A is better. [[A]]"
            elif ("GOOD" in a) == ("GOOD" in b):
                text = "They are equally good. [[C]]"
            else:
                text = "[[A]]" if "GOOD" in a else "[[B]]"
        elif (criterion := _block(user, "criterion")) is not None:
            wanted = criterion.removeprefix("mentions ").strip()
            text = "[[YES]]" if wanted.lower() in response.lower() else "[[NO]]"
        elif (reference := _block(user, "reference")) is not None:
            text = "[[YES]]" if reference.strip() in response else "[[NO]]"
        else:
            text = _rating(response)
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if refusal is not None:
            message["refusal"] = refusal
        return 200, {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": len(user.split()),
                "completion_tokens": len(text.split()),
                "total_tokens": len(user.split()) + len(text.split()),
            },
        }
