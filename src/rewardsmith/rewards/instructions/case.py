"""Letter case: all capitals, all lowercase, or a bounded number of all-capital words.

Example:
    >>> from rewardsmith.rewards.instructions.registry import Context
    >>> capital_word_frequency("The NASA and ESA teams", Context(), capital_frequency=2,
    ...                        capital_relation="at least")
    Verdict(followed=True, detail='')
    >>> english_lowercase("hello there, General Kenobi.", Context())
    Verdict(followed=False, detail='has capital letters')
"""

from __future__ import annotations

from rewardsmith.core.params import NonNegativeInt
from rewardsmith.rewards.instructions.counting import count_capital_words
from rewardsmith.rewards.instructions.language import is_language
from rewardsmith.rewards.instructions.registry import Context, Relation, Verdict, checker, compare

__all__ = ["capital_word_frequency", "english_capital", "english_lowercase"]


@checker("change_case:capital_word_frequency")
def capital_word_frequency(
    text: str, context: Context, *, capital_frequency: NonNegativeInt, capital_relation: Relation
) -> Verdict:
    """``less than`` / ``at least`` ``capital_frequency`` words written in capitals (``NASA``).

    Words are cut as IFEval's NLTK word tokenizer cuts them: ``STATE-OF-THE-ART`` and ``U.S.``
    are one word each, ``DON'T`` is two (``DO`` + ``N'T``).
    """
    count = count_capital_words(text)
    followed = compare(count, capital_relation, capital_frequency)
    detail = (
        ""
        if followed
        else f"{count} all-capital words, needs {capital_relation} {capital_frequency}"
    )
    return Verdict(followed, detail)


@checker("change_case:english_capital")
def english_capital(text: str, context: Context) -> Verdict:
    """The response is in English and has no lowercase letter."""
    if not text.isupper():
        return Verdict(
            False, "has lowercase letters" if any(c.islower() for c in text) else "no letters"
        )
    return is_language(text, "en", context)


@checker("change_case:english_lowercase")
def english_lowercase(text: str, context: Context) -> Verdict:
    """The response is in English and has no capital letter."""
    if not text.islower():
        return Verdict(
            False, "has capital letters" if any(c.isupper() for c in text) else "no letters"
        )
    return is_language(text, "en", context)
