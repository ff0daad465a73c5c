"""Punctuation: no commas.

Example:
    >>> from rewardsmith.rewards.instructions.registry import Context
    >>> no_comma("First, we wait.", Context())
    Verdict(followed=False, detail='1 commas')
"""

from __future__ import annotations

from rewardsmith.rewards.instructions.registry import Context, Verdict, checker

__all__ = ["no_comma"]


@checker("punctuation:no_comma")
def no_comma(text: str, context: Context) -> Verdict:
    """No comma at all: the ASCII comma, and also the full-width ``，`` and ideographic ``、``.

    IFEval checks only the ASCII comma (as ``ifeval_compat`` does); the others would let a
    policy write commas anyway.
    """
    count = text.count(",")
    if not context.ifeval_compat:
        count += text.count("\uff0c") + text.count("\u3001")
    return Verdict(count == 0, f"{count} commas" if count else "")
