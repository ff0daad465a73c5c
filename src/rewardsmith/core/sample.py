"""`Sample`: one item to score, built from an input row."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from rewardsmith.core.errors import RewardsmithError

__all__ = ["KNOWN_FIELDS", "Message", "Sample", "SampleError", "message_text"]

Message = dict[str, Any]
"""A chat message: ``{"role": "assistant", "content": "..."}``."""

KNOWN_FIELDS: Final = ("id", "prompt", "completion", "reference", "task", "group")
_KNOWN: Final = frozenset(KNOWN_FIELDS)


class SampleError(RewardsmithError, ValueError):
    """A row cannot become a `Sample`; ``field`` names the offending field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"field {field!r}: {reason}")
        self.field = field
        self.reason = reason


class Sample(msgspec.Struct, kw_only=True):
    """One scored item.

    ``prompt`` and ``completion`` are a string or a list of chat messages; ``reference`` is
    whatever the reward needs (a gold answer, tests, a schema); ``task`` routes the sample to
    terms; ``group`` ties the samples of one prompt together; ``extra`` holds every other field
    of the input row, untouched.

    Example:
        >>> s = Sample.from_row({"completion": "4", "reference": "4", "source": "gsm8k"}, index=7)
        >>> s.id, s.completion_text, s.extra
        ('row-7', '4', {'source': 'gsm8k'})
    """

    id: str
    completion: str | list[Message]
    prompt: str | list[Message] = ""
    reference: Any = None
    task: str | None = None
    group: str | None = None
    extra: dict[str, Any] = msgspec.field(default_factory=dict)

    @classmethod
    def from_row(cls, row: object, index: int) -> Sample:
        """Validate one input row; raises `SampleError` naming the field that is wrong."""
        if not isinstance(row, dict):
            raise SampleError("<row>", f"expected a JSON object, got {type(row).__name__}")
        if "completion" not in row:
            raise SampleError("completion", "missing; every row needs the text to score")
        raw_id = row.get("id")
        # A string id or group (the usual case) needs no check or conversion.
        if type(raw_id) is str:
            row_id = raw_id
        elif raw_id is None:
            row_id = f"row-{index}"
        elif isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
            row_id = str(raw_id)
        else:
            raise SampleError("id", f"expected a string or integer, got {type(raw_id).__name__}")
        task = row.get("task")
        if task is not None and not isinstance(task, str):
            raise SampleError("task", f"expected a string, got {type(task).__name__}")
        group = row.get("group")
        if group is not None and type(group) is not str:
            if isinstance(group, bool) or not isinstance(group, str | int):
                raise SampleError(
                    "group", f"expected a string or integer, got {type(group).__name__}"
                )
            group = str(group)
        prompt = row.get("prompt")
        completion = row["completion"]
        # Plain strings (the usual case) need no check; chat messages are checked one by one.
        if type(completion) is not str:
            completion = _text_or_messages(completion, "completion")
        if prompt is None:
            prompt = ""
        elif type(prompt) is not str:
            prompt = _text_or_messages(prompt, "prompt")
        return cls(
            id=row_id,
            completion=completion,
            prompt=prompt,
            reference=row.get("reference"),
            task=task,
            group=group,
            extra={}
            if _KNOWN.issuperset(row)
            else {k: v for k, v in row.items() if k not in _KNOWN},
        )

    @property
    def completion_text(self) -> str:
        """The completion as text: a string as is, or the last assistant message's content."""
        completion = self.completion
        # Read several times per row by most rewards: a plain string skips the call.
        if type(completion) is str:
            return completion
        return _last_text(completion, prefer_role="assistant")

    @property
    def prompt_text(self) -> str:
        """The prompt as text: a string as is, or the last message's content."""
        prompt = self.prompt
        if type(prompt) is str:
            return prompt
        return _last_text(prompt, prefer_role=None)

    def get(self, field: str, default: Any = None) -> Any:
        """A field by name: a known field, ``extra`` (the whole dict), or one key of ``extra``."""
        if field in KNOWN_FIELDS or field == "extra":
            return getattr(self, field)
        return self.extra.get(field, default)


def message_text(message: Message) -> str:
    """The text of a chat message whose content is a string or a list of typed parts."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(
        part.get("text", "")
        for part in content
        if isinstance(part, dict) and part.get("type") == "text"
    )


def _last_text(value: str | list[Message], prefer_role: str | None) -> str:
    if isinstance(value, str):
        return value
    if not value:
        return ""
    if prefer_role is not None:
        for message in reversed(value):
            if message.get("role") == prefer_role:
                return message_text(message)
    return message_text(value[-1])


def _text_or_messages(value: object, field: str) -> str | list[Message]:
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise SampleError(
            field, f"expected a string or a list of chat messages, got {type(value).__name__}"
        )
    for position, message in enumerate(value):
        if not isinstance(message, dict):
            raise SampleError(
                field, f"message {position} is {type(message).__name__}, expected an object"
            )
        if not isinstance(message.get("role"), str):
            raise SampleError(field, f"message {position} has no string 'role'")
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise SampleError(
                field, f"message {position} 'content' is {type(content).__name__}, expected text"
            )
    return value
