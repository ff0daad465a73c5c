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

__all__ = ["detect_language", "response_language"]

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
    # langdetect's n-gram profiles misread capitals: all-capital English comes out as "vi".
    detector.append(text.lower() if text.isupper() else text)
    try:
        language = detector.detect()
    except LangDetectException:
        return None
    if language == "unknown":
        return None
    return str(language).split("-")[0]  # zh-cn, zh-tw -> zh


@checker("language:response_language")
def response_language(text: str, context: Context, *, language: Phrase) -> Verdict:
    """The whole response is in the given language (ISO 639-1 code, as in IFEval).

    Stricter than IFEval, which counts a response whose language cannot be detected (only
    digits or symbols) as following the instruction: here it does not.
    """
    found = detect_language(text)
    wanted = language.strip().lower().split("-")[0]
    followed = found == wanted
    return Verdict(followed, "" if followed else f"detected {found or 'no language'}, not {wanted}")
