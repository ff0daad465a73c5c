"""The response's language, detected with ``langdetect`` (Google's language-detection port).

``langdetect`` is an optional dependency (``pip install 'rewardsmith[instructions]'``). It is
random by default; the detector is seeded here so the same text always gets the same language.
It reads at most the first 10,000 characters, which bounds its time on hostile input.

Example:
    >>> detect_language("Ceci est une phrase écrite en français, sans aucun doute.")
    'fr'
"""

from __future__ import annotations

import functools
from typing import Any

from rewardsmith.rewards.instructions.registry import Context, Phrase, Verdict, checker

__all__ = ["detect_language", "is_language", "response_language"]

_INSTALL_HINT = (
    "the response_language and english_* instructions need langdetect: "
    "pip install 'rewardsmith[instructions]'"
)


@functools.cache
def _factory() -> Any:
    """langdetect's profile-loaded factory, loaded once per process (about 0.3 s)."""
    try:
        from langdetect import detector_factory
    except ImportError as exc:
        raise ModuleNotFoundError(_INSTALL_HINT, name="langdetect") from exc
    detector_factory.init_factory()
    return detector_factory._factory


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the text's language (``zh`` for Chinese), or None if undetectable."""
    from langdetect.lang_detect_exception import LangDetectException

    detector = _factory().create()
    detector.seed = 0  # each Detector draws from its own Random seeded with this
    detector.append(text)
    try:
        language = detector.detect()
    except LangDetectException:
        return None
    if language == "unknown":
        return None
    return str(language).split("-")[0]  # zh-cn, zh-tw -> zh


def is_language(text: str, wanted: str, context: Context) -> Verdict:
    """Whether langdetect reads the text as ``wanted`` (an ISO 639-1 code).

    langdetect's n-gram profiles misread case: "THE MEETING IS AT NOON TOMORROW IN THE MAIN
    HALL." comes out as "vi", while "1. PIXEL PRODIGY 2. CODE CONSTRUCT" is "en" as written but
    "ca" lower-cased. So a text written in one case is accepted when either it or its
    lower-cased copy is detected as the language. A text whose language cannot be detected
    (only digits or symbols) does not follow the instruction.

    Under ``ifeval_compat`` the text is read once, as it is, and an undetectable text follows
    the instruction, as in IFEval.
    """
    found = detect_language(text)
    if context.ifeval_compat:
        followed = found is None or found == wanted
    else:
        followed = found == wanted
        if not followed and (text.isupper() or text.islower()):
            lowered = detect_language(text.lower())
            followed = lowered == wanted
            found = found or lowered
    return Verdict(followed, "" if followed else f"detected {found or 'no language'}, not {wanted}")


@checker("language:response_language")
def response_language(text: str, context: Context, *, language: Phrase) -> Verdict:
    """The whole response is in the given language (ISO 639-1 code, as in IFEval).

    Stricter than IFEval, which counts a response whose language cannot be detected (only
    digits or symbols) as following the instruction: here it does not (``ifeval_compat``
    restores IFEval's rule).
    """
    return is_language(text, language.strip().lower().split("-")[0], context)
