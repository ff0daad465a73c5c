"""Start and end: an exact end phrase, and the whole response wrapped in double quotes.

Example:
    >>> from rewardsmith.rewards.instructions.registry import Context
    >>> end_checker("That is all. Any other questions?", Context(), end_phrase="Any other questions?")
    Verdict(followed=True, detail='')
    >>> quotation('"Hello"', Context())
    Verdict(followed=True, detail='')
"""

from __future__ import annotations

from rewardsmith.rewards.instructions.registry import Context, Phrase, Verdict, checker

__all__ = ["end_checker", "quotation"]


@checker("startend:end_checker")
def end_checker(text: str, context: Context, *, end_phrase: Phrase) -> Verdict:
    """The response ends with the phrase exactly (any case); nothing may follow it.

    Double quotes wrapping the response are ignored, as IFEval does, so a response can be
    quoted (``startend:quotation``) and end with the phrase at the same time.
    """
    phrase = end_phrase.strip().lower()
    followed = text.strip().strip('"').lower().endswith(phrase)
    return Verdict(followed, "" if followed else f"does not end with {end_phrase.strip()[:80]!r}")


@checker("startend:quotation")
def quotation(text: str, context: Context) -> Verdict:
    """The whole response is wrapped in double quotation marks."""
    stripped = text.strip()
    followed = len(stripped) > 1 and stripped[0] == '"' and stripped[-1] == '"'
    return Verdict(followed, "" if followed else "not wrapped in double quotes")
