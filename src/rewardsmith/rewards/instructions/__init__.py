"""The ``instructions`` reward: verifiable instruction constraints as in IFEval and Tülu 3.

Each constraint of the reference is checked by a checker registered under its IFEval id
(``length_constraints:number_words``, ``detectable_format:title``...) or its IFEvalG id (the 29
more of open-instruct's set, used for Tülu 3's RLVR: ``copy:repeat_phrase``, ``count:count_unique``
...); the per-constraint results are the score's components. Checkers live in one module per
IFEval family and two for IFEvalG; `CHECKERS` lists them.

Example:
    >>> from rewardsmith import Sample
    >>> constraints = [
    ...     {"id": "punctuation:no_comma"},
    ...     {"id": "length_constraints:number_words", "kwargs": {"num_words": 5, "relation": "at least"}},
    ... ]
    >>> score = instruction_following(Sample(id="1", completion="Short and sweet, friend.",
    ...                                      reference=constraints))
    >>> score.value, score.components
    (0.0, {'punctuation:no_comma': 0.0, 'length_constraints:number_words': 0.0})
    >>> score.reason
    'punctuation:no_comma: 1 commas; length_constraints:number_words: 4 words, needs at least 5'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from rewardsmith.core.params import PositiveInt
from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.rewards.instructions import (  # noqa: F401  (importing registers the checkers)
    case,
    combination,
    content,
    formats,
    ifevalg_format,
    ifevalg_words,
    keywords,
    language,
    length,
    punctuation,
    startend,
)
from rewardsmith.rewards.instructions.registry import (
    CHECKERS,
    Checker,
    Context,
    Verdict,
    get_checker,
)

__all__ = ["CHECKERS", "Constraint", "instruction_following", "loose_variants", "read_constraints"]

_MAX_CONSTRAINTS: Final = 64


@dataclass(frozen=True, slots=True)
class Constraint:
    """One instruction to check: its checker and validated kwargs."""

    checker: Checker
    kwargs: dict[str, Any]


def read_constraints(reference: Any) -> list[Constraint] | str:
    """The constraints of a reference, or what is wrong with it as text.

    Accepted forms: a list of ``{"id": ..., "kwargs": {...}}`` (``instruction_id`` is accepted for
    ``id``); one such object; or an IFEval row ``{"instruction_id_list": [...], "kwargs": [...]}``.

    Example:
        >>> read_constraints([{"id": "startend:quotation", "kwargs": {"end_phrase": "x"}}])
        'constraint 0 (startend:quotation): end_phrase: Extra inputs are not permitted'
    """
    items: Any = reference
    if isinstance(reference, dict) and "instruction_id_list" in reference:
        ids, kwargs = reference.get("instruction_id_list"), reference.get("kwargs")
        if kwargs is None:
            kwargs = [{}] * len(ids) if isinstance(ids, list) else None
        if not isinstance(ids, list) or not isinstance(kwargs, list) or len(ids) != len(kwargs):
            return "'instruction_id_list' and 'kwargs' must be lists of the same length"
        items = [{"id": i, "kwargs": k} for i, k in zip(ids, kwargs, strict=True)]
    elif isinstance(reference, dict):
        items = [reference]
    if not isinstance(items, list) or not items:
        return "the reference must be a non-empty list of {'id': ..., 'kwargs': {...}} constraints"
    if len(items) > _MAX_CONSTRAINTS:
        return f"{len(items)} constraints, more than {_MAX_CONSTRAINTS}"
    constraints: list[Constraint] = []
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            return f"constraint {position} is {type(item).__name__}, expected an object"
        instruction_id = item.get("id", item.get("instruction_id"))
        if not isinstance(instruction_id, str):
            return f"constraint {position} has no string 'id'"
        extra = set(item) - {"id", "instruction_id", "kwargs"}
        if extra:
            return f"constraint {position} has unexpected keys {sorted(extra)}"
        try:
            found = get_checker(instruction_id)
        except KeyError as exc:
            return f"constraint {position}: {exc.args[0]}"
        kwargs = found.validate(item.get("kwargs"))
        if isinstance(kwargs, str):
            return f"constraint {position} ({instruction_id}): {kwargs}"
        constraints.append(Constraint(found, kwargs))
    return constraints


def _check_reference(reference: Any) -> str | None:
    found = read_constraints(reference)
    return found if isinstance(found, str) else None


def loose_variants(text: str) -> list[str]:
    """IFEval's loose-mode variants: the text without its first and/or last line, and each of
    those without Markdown asterisks (8 texts, the original first).

    Example:
        >>> loose_variants("Sure!\\n**Hi**\\nBye")[:5]
        ['Sure!\\n**Hi**\\nBye', '**Hi**\\nBye', 'Sure!\\n**Hi**', '**Hi**', 'Sure!\\nHi\\nBye']
    """
    lines = text.split("\n")
    trimmed = [
        text,
        "\n".join(lines[1:]).strip(),
        "\n".join(lines[:-1]).strip(),
        "\n".join(lines[1:-1]).strip(),
    ]
    return trimmed + [variant.replace("*", "") for variant in trimmed]


def _verdict(constraint: Constraint, texts: list[str], context: Context) -> Verdict:
    first: Verdict | None = None
    for text in texts:
        if not text.strip():
            continue
        verdict = constraint.checker.check(text, context, constraint.kwargs)
        if verdict.followed:
            return verdict
        first = first or verdict
    return first or Verdict(False, "empty response")


@reward(
    "instructions",
    inline=False,  # language detection and regexes on up to max_chars: bounded, but not cheap
    version="1",
    reads=("prompt", "completion", "reference"),
    timeout_s=20.0,
    check_reference=_check_reference,
)
def instruction_following(
    sample: Sample,
    *,
    mode: Literal["strict", "loose"] = "strict",
    aggregate: Literal["fraction", "all"] = "fraction",
    keywords_in_code: bool = False,
    ifeval_compat: bool = False,
    max_chars: PositiveInt = 200_000,
) -> Score:
    """The share of the reference's instruction constraints that the completion follows.

    Args:
        sample: the sample. ``reference`` holds the constraints: a list of ``{"id": ...,
            "kwargs": {...}}`` with IFEval ids and kwargs (null kwargs are ignored), one such
            object, or an IFEval row ``{"instruction_id_list": [...], "kwargs": [...]}``.
        mode: ``strict`` checks the completion as is; ``loose`` (IFEval's loose accuracy) also
            accepts a constraint when it holds for the completion without its first line,
            without its last line, without both, or without Markdown ``*``.
        aggregate: ``fraction`` (instruction-level accuracy: followed / total) or ``all``
            (prompt-level: 1.0 only when every constraint holds, as Tülu 3's RLVR reward).
        keywords_in_code: whether required keywords count inside code blocks and inline code.
        ifeval_compat: give the official IFEval checker's verdict where rewardsmith deliberately
            differs (listed in docs/rewards/instructions.md): forbidden words and no-comma
            only in ASCII, postscript markers anywhere, hedged constrained responses,
            undetectable languages accepted, keywords counted inside code.
        max_chars: longer completions are ``refused``.

    Returns:
        ``ok`` with the value, one component per constraint (its id, ``#2``... for repeats) and
        the failed constraints in the reason; ``invalid_reference`` for an unknown id or bad
        kwargs; ``refused`` over ``max_chars``.

    Known failure modes:
        The checks are surface checks, as in IFEval: a response can satisfy every constraint and
        ignore the task, so pair this with a quality reward. Sentences are Punkt's (as in
        IFEval), which learned abbreviations from news text: "Plan A. Plan B." is two
        sentences, but unusual abbreviations can merge or split them. Language detection is
        unreliable on very short texts and on text in one case (see ``ifeval_compat``). Loose mode forgives a chatty first line
        ("Sure, here is...") but also a first line that breaks the constraint on purpose.

    Example:
        >>> from rewardsmith import Sample
        >>> ref = [{"id": "detectable_format:title"}, {"id": "startend:quotation"}]
        >>> text = 'Here you go:\\n"<<Spring>>\\nBlossoms everywhere."'
        >>> instruction_following(Sample(id="1", completion=text, reference=ref)).value
        0.5
        >>> instruction_following(Sample(id="1", completion=text, reference=ref), mode="loose").value
        1.0
    """
    constraints = read_constraints(sample.reference)
    if isinstance(constraints, str):
        return Score.fail("invalid_reference", constraints)
    text = sample.completion_text
    if len(text) > max_chars:
        return Score.fail(
            "refused", f"completion is {len(text)} characters, over max_chars={max_chars}"
        )
    texts = loose_variants(text) if mode == "loose" else [text]
    context = Context(
        prompt=sample.prompt_text, keywords_in_code=keywords_in_code, ifeval_compat=ifeval_compat
    )
    components: dict[str, float] = {}
    failures: list[str] = []
    for constraint in constraints:
        key = constraint.checker.id
        repeat = 2
        while key in components:
            key = f"{constraint.checker.id}#{repeat}"
            repeat += 1
        verdict = _verdict(constraint, texts, context)
        components[key] = float(verdict.followed)
        if not verdict.followed:
            failures.append(f"{key}: {verdict.detail}" if verdict.detail else key)
    followed = sum(components.values())
    value = followed / len(components) if aggregate == "fraction" else float(not failures)
    info = {"followed": int(followed), "total": len(components)}
    return Score(value=value, reason="; ".join(failures), components=components, info=info)
