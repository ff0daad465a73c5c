"""Combinations: two different responses, or the prompt repeated before the answer.

Example:
    >>> from rewardsmith.rewards.instructions.registry import Context
    >>> two_responses("Yes, go.\\n******\\nNo, stay.", Context())
    Verdict(followed=True, detail='')
    >>> two_responses("Go.\\n******\\nGo.", Context())
    Verdict(followed=False, detail='the two responses are the same')
"""

from __future__ import annotations

from rewardsmith.rewards.instructions.registry import Context, Phrase, Verdict, checker

__all__ = ["repeat_prompt", "two_responses"]

_SEPARATOR = "******"


@checker("combination:two_responses")
def two_responses(text: str, context: Context) -> Verdict:
    """Exactly two different non-empty responses separated by six asterisks ``******``."""
    parts = text.split(_SEPARATOR)
    kept: list[str] = []
    for index, part in enumerate(parts):
        if part.strip():
            kept.append(part.strip())
        elif 0 < index < len(parts) - 1:
            return Verdict(False, "an empty response between separators")
    if len(kept) != 2:
        return Verdict(False, f"{len(kept)} responses separated by ******, needs exactly 2")
    if kept[0] == kept[1]:
        return Verdict(False, "the two responses are the same")
    return Verdict(True)


@checker("combination:repeat_prompt")
def repeat_prompt(text: str, context: Context, *, prompt_to_repeat: Phrase) -> Verdict:
    """The response starts with the given request, repeated word for word (any case)."""
    wanted = prompt_to_repeat.strip().casefold()
    followed = text.strip().casefold().startswith(wanted)
    return Verdict(followed, "" if followed else "does not start by repeating the request")
