"""The two verbs: `parse` an answer (gold or response) and `verify` two of them.

Example:
    >>> verify("\\\\frac{1}{2}", "The answer is $\\\\boxed{0.5}$.").equal
    True
    >>> v = verify("x \\\\in [2, 5)", "so $[2,5]$")
    >>> v.equal, v.path
    (False, 'collection')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache
from typing import Any, Final, Literal

import msgspec

from rewardsmith.rewards.math.compare import equivalent
from rewardsmith.rewards.math.compare_decision import Tolerance, Undecided
from rewardsmith.rewards.math.evaluate import EvalError
from rewardsmith.rewards.math.extract import DEFAULT_RULES, extract_answer
from rewardsmith.rewards.math.latex import LEADING_APPROX, clean, strip_trailing_units
from rewardsmith.rewards.math.nodes import (
    Const,
    Interval,
    Mul,
    Node,
    Num,
    Seq,
    Sym,
    Text,
    render,
    walk,
)
from rewardsmith.rewards.math.parser import ParseError, parse_math

__all__ = ["MathConfig", "Parsed", "Verdict", "parse", "verify"]

VerdictStatus = Literal["ok", "parse_error", "invalid_reference", "refused"]
ThinkMode = Literal["after", "after_or_whole", "whole"]


@dataclass(frozen=True, slots=True)
class MathConfig:
    """How answers are extracted and compared.

    Example:
        >>> MathConfig(precision=2).precision
        2
    """

    precision: int = 6
    """Decimals to which a decimal answer must agree with the other side (``1/3`` vs
    ``0.333333``): both are rounded to this many places."""
    rel_tol: float = 0.0
    """Relative tolerance for values not written as decimals (and a second chance for
    decimals). 0 means equal: values that agree in floating point are confirmed at 40
    significant digits with mpmath. Set it (e.g. 1e-4, like Qwen's grader) to accept
    approximations."""
    strict: bool = True
    """Variable names matter (``f(x)`` differs from ``f(y)``); False renames the answer's
    variables to the gold's when both have the same number."""
    relation_as_set: bool = True
    """Accept a relation (``-2 <= x <= 7``) for a gold set (``[-2, 7]``): an inequality in one
    unknown describes the set of its solutions. False (Math-Verify's default) rejects it, as
    when the question asks for a set and grading the format is intended. The reverse (a set
    answer for a gold relation) is always accepted."""
    percent: bool = True
    """``28%`` matches ``28`` as well as ``0.28``."""
    use_sympy: bool = True
    """Ask sympy when numeric evaluation cannot decide (needs the ``math`` extra)."""
    approximate: bool = True
    """Accept a decimal that is an exact value rounded at its own number of places: a gold
    ``3.46`` (or ``\\approx 3.46``) for ``2\\sqrt{3}``, a response ``3.14`` for ``\\pi``.
    Needs 2 significant digits on a gold decimal, 3 on a response's; a rational whose decimal
    expansion ends (``3/8 = 0.375``) is never taken as rounded. False: a decimal must agree to
    ``precision`` places."""
    rules: tuple[str, ...] = DEFAULT_RULES
    """Answer extraction rules for responses, in priority order (see `extract`)."""
    think: ThinkMode = "after"
    """Where a response's final answer is read when it has ``<think>`` tags. ``after``: only
    the text after the last ``</think>``; a response that opens ``<think>`` and never closes
    it has no final answer (``parse_error``). ``after_or_whole``: the text after the last
    ``</think>`` when an answer is found there, else the whole response. ``whole``: the tags
    are ignored."""
    max_answer_chars: int = 5_000
    """Longest extracted answer that is parsed; longer ones are refused."""
    max_input_chars: int = 4_000_000
    """Longest response searched; longer ones are refused without reading them."""
    search_tail_chars: int = 200_000
    """Only this many characters at the end of a response are searched for its answer."""

    # The comparison settings, built with the config: `verify` reads them for every row.
    _tolerance: Tolerance = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tolerance = Tolerance(
            precision=self.precision,
            rel_tol=self.rel_tol,
            strict=self.strict,
            relation_as_set=self.relation_as_set,
            percent=self.percent,
            use_sympy=self.use_sympy,
            approximate=self.approximate,
        )
        object.__setattr__(self, "_tolerance", tolerance)

    def tolerance(self) -> Tolerance:
        return self._tolerance


@dataclass(frozen=True, slots=True)
class Parsed:
    """An answer as read: the extracted text, how it was found, and its tree(s).

    ``nodes`` holds the reading first and alternative readings after it (``1,5`` is the list
    ``1, 5`` and also the decimal-comma number ``1.5``); ``error`` is set when nothing usable
    was found.
    """

    source: str
    text: str | None
    rule: str | None
    nodes: tuple[Node, ...] = ()
    error: str | None = None
    refused: bool = False
    # `normalized`, rendered once: a cached gold answer is reported on every row of its group.
    _rendered: list[str] = field(default_factory=list, init=False, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return bool(self.nodes) and self.error is None

    @property
    def normalized(self) -> str:
        if not self._rendered:
            self._rendered.append(render(self.nodes[0]) if self.nodes else "")
        return self._rendered[0]


# A struct, not a dataclass: one is built for every row, and a struct is cheaper to build.
class Verdict(msgspec.Struct, frozen=True):
    """The result of `verify`: ``equal`` and how it was decided.

    ``status`` is ``ok`` when both sides were read (``equal`` is then meaningful),
    ``invalid_reference`` when the gold answer cannot be read, ``parse_error`` when the
    response has no readable answer, ``refused`` when deciding would cost more than the
    bounds allow (``9999!`` against a different expression).
    """

    equal: bool
    status: VerdictStatus
    path: str
    reason: str
    gold: Parsed
    answer: Parsed
    info: dict[str, Any] = msgspec.field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.equal


_CHOICE: Final = re.compile(r"^\(?\s*([A-Za-z])\s*\)?$")
_LABELLED_CHOICE: Final = re.compile(r"^\(([A-E])\)\s*(\S.*)$")
_WORDS: Final = re.compile(r"^[A-Za-z][A-Za-z\s'\-,.!?]*$")
_TEXT_WRAP: Final = re.compile(
    r"\\(?:text|textbf|textit|textrm|mathrm|mbox|textnormal|mathbf)\s*\{([^{}]*)\}"
)
_DECIMAL_COMMA: Final = re.compile(r"^(-?\d+),(\d+)$")
_MATH_WORDS: Final = frozenset(
    {
        "sin",
        "cos",
        "tan",
        "log",
        "ln",
        "exp",
        "sqrt",
        "sec",
        "csc",
        "cot",
        "pi",
        "infty",
        "and",
        "or",
        "in",
    }
)


def parse(
    text: str, *, gold: bool = False, config: MathConfig | None = None, **overrides: Any
) -> Parsed:
    """Read an answer: extract it from a response (or take a short gold answer whole), clean
    its LaTeX and parse it.

    Args:
        text: a model response, or a gold answer when ``gold`` is True.
        gold: a gold answer is used whole unless it is a worked solution (it contains
            ``\\boxed`` or "final answer", or is long prose): then it is extracted like a
            response.
        config: a `MathConfig`; keyword ``overrides`` replace its fields.

    Example:
        >>> parse(r"Thus $x = \\boxed{\\dfrac{3}{4}}$.").normalized
        '3*4^-1'
        >>> parse("no answer here").error
        'no answer found'
    """
    cfg = _config(config, overrides)
    return _parse(text, gold, cfg)


def _parse(text: str, gold: bool, cfg: MathConfig) -> Parsed:
    if not isinstance(text, str):
        return Parsed(
            str(text)[:100], None, None, error=f"expected text, got {type(text).__name__}"
        )
    if len(text) > cfg.max_input_chars:
        return Parsed(
            text[:100], None, None, error=f"input of {len(text)} characters", refused=True
        )
    source = text
    if not gold and cfg.think != "whole":
        final = _after_think(text, cfg)
        if isinstance(final, Parsed):
            return final
        text = final
    if gold and not _looks_like_solution(text):
        answer, rule = text.strip(), "whole"
    else:
        found = extract_answer(text[-cfg.search_tail_chars :], cfg.rules)
        if found is not None and found.rule == "unclosed_box":
            if not gold:
                return Parsed(
                    source[:200], None, found.rule, error="the last \\boxed{ is never closed"
                )
            found = None  # a gold answer is trusted: read it whole
        if found is not None and found.rule == "disowned":
            if not gold:
                return Parsed(
                    source[:200],
                    None,
                    found.rule,
                    error="the response negates or hedges its own answer",
                )
            found = None
        stripped = text.strip()
        if not gold and (found is None or found.rule == "last_number") and len(stripped) <= 150:
            # A short response with no marker may be the bare answer: "\\frac{10}{9}".
            words = re.sub(r"\\[a-zA-Z]+|\b(?:and|or)\b", " ", clean(stripped))
            bare = not re.search(r"[a-zA-Z]{2,}", words)
            whole = _read(stripped) if bare else ()
            if whole and not any(_contains_text(n) for n in whole):
                return Parsed(source[:200], stripped, "whole", whole)
        if found is not None:
            answer, rule = found.text, found.rule
        elif gold:
            answer, rule = stripped, "whole"
        else:
            return Parsed(source[:200], None, None, error="no answer found")
    if not answer.strip():
        return Parsed(source[:200], answer, rule, error="empty answer")
    if len(answer) > cfg.max_answer_chars:
        return Parsed(
            source[:200],
            answer[:200],
            rule,
            error=f"answer of {len(answer)} characters",
            refused=True,
        )
    try:
        nodes = _read(answer)
    except ValueError as exc:
        # int() of a literal past Python's 4,300-digit conversion limit, and the like
        return Parsed(source[:200], answer[:200], rule, error=f"cannot read: {exc}", refused=True)
    if not nodes:
        return Parsed(source[:200], answer, rule, error="answer is empty after cleaning")
    if gold:
        problem = _unreadable_gold(answer, nodes)
        if problem:
            return Parsed(source[:200], answer, rule, error=problem)
    return Parsed(source[:200], answer, rule, nodes)


def _after_think(text: str, cfg: MathConfig) -> str | Parsed:
    """The part of a response its final answer is read from (see `MathConfig.think`)."""
    # str.rfind, not a regex: this runs on every response, most of which have no tags
    start = max(0, len(text) - cfg.search_tail_chars)
    if text.rfind("think>", start) == -1:
        return text
    close = text.rfind("</think>", start)
    if close != -1:
        tail = text[close + len("</think>") :]
        if cfg.think == "after" or extract_answer(tail, cfg.rules) is not None:
            return tail
        return text
    if cfg.think == "after" and text.find("<think>", 0, cfg.search_tail_chars) != -1:
        return Parsed(
            text[:200], None, None, error="the response opens <think> and never closes it"
        )
    return text


_NOT_A_VALUE: Final = frozenset({"nan", "null"})
_WORD_RUN: Final = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")


def _unreadable_gold(answer: str, nodes: tuple[Node, ...]) -> str | None:
    """Why a gold answer cannot serve as a reference (``\\frac{1}{``, ``x=``, ``nan``), or None.

    A gold answer the parser cannot read is compared as text; that is kept for prose answers
    ("\\text{the function is even}") but not for broken math, which would score every
    response 0 or pay a response that repeats the same garbage.
    """
    first = nodes[0]
    cleaned = clean(answer)
    if cleaned.lower() in _NOT_A_VALUE:
        return f"{answer[:80]!r} is not a value"
    if isinstance(first, Text):
        if not first.text.strip():
            return f"{answer[:80]!r} is empty"
        if _parse_fails(cleaned) and not _WORD_RUN.search(_TEXT_WRAP.sub(r" \1 ", cleaned)):
            return f"cannot read {answer[:80]!r}"
    return None


def _parse_fails(cleaned: str) -> bool:
    for candidate in (cleaned, strip_trailing_units(cleaned)):
        try:
            parse_math(candidate)
        except (ParseError, RecursionError):
            continue
        return False
    return True


_PLAIN_NUMBER: Final = re.compile(r"^\s*(-?)(\d{1,400})(?:\.(\d{1,400}))?\s*$")


@lru_cache(maxsize=2048)
def _read(answer: str) -> tuple[Node, ...]:
    """The readings of one answer string, most likely first (cached: the samples of a group
    often give the same answer, and nodes are immutable)."""
    plain = _PLAIN_NUMBER.match(answer)
    if plain:  # the common case, without cleaning and parsing
        sign, whole, frac = plain.groups()
        if frac is None:
            return (Num(Fraction(int(sign + whole))),)
        value = Fraction(int(whole) * 10 ** len(frac) + int(frac), 10 ** len(frac))
        return (Num(-value if sign else value, len(frac)),)
    cleaned = clean(answer)
    approx = LEADING_APPROX.match(cleaned)
    if approx:
        # "\approx 0.79": the decimal is a rounded value (compare accepts 2 digits for it)
        inner = _read(cleaned[approx.end() :]) if approx.end() < len(cleaned) else ()
        return tuple(
            replace(n, approx=True) if isinstance(n, Num) and n.places else n for n in inner
        )
    if not cleaned:
        return ()
    unwrapped = _TEXT_WRAP.sub(lambda m: m.group(1), cleaned).strip()
    choice = _CHOICE.match(unwrapped)
    if choice and choice.group(1) not in "ie":  # i and e are constants, not options
        return (Sym(choice.group(1)),)
    labelled = _LABELLED_CHOICE.match(unwrapped)
    if labelled:
        # "(B) 17": the option letter, and the option's content as a second reading
        rest = _read(labelled.group(2))
        return (Sym(labelled.group(1)), *rest)
    if _WORDS.match(unwrapped) and any(
        len(word) >= 2 and word.lower() not in _MATH_WORDS
        for word in re.findall(r"[A-Za-z]+", unwrapped)
    ):
        words = " ".join(unwrapped.lower().strip(".!?").split())
        named = _named_set(words)
        return (named,) if named is not None else (Text(words),)
    readings: list[Node] = []
    for candidate in (cleaned, strip_trailing_units(cleaned), _strip_explanation(cleaned)):
        if not candidate:
            continue
        try:
            node = parse_math(candidate)
        except (ParseError, RecursionError):
            continue
        if node not in readings:
            readings.append(node)
        break
    comma = _DECIMAL_COMMA.match(cleaned)
    if comma and (len(comma.group(2)) != 3 or comma.group(1).lstrip("-") == "0"):
        # "1,5" and "0,111" read as decimal commas too ("1,500" stays a thousand)
        whole, frac = comma.group(1), comma.group(2)
        sign = -1 if whole.startswith("-") else 1
        value = Fraction(abs(int(whole)) * 10 ** len(frac) + int(frac), 10 ** len(frac)) * sign
        readings.append(Num(value, len(frac)))
    if not readings:
        readings.append(Text(" ".join(cleaned.split())))
    return tuple(readings)


_EXPLANATION: Final = re.compile(
    r"\s*(?:\\text\s*\{\s*\(|\(\s*\\text\s*\{\s*|\\text\s*\{\s*)"
    r"(?:since|because|as|where|when|for|given|which|from|by|using)\b"
    r"|\s*\\text\s*\{\s*\("
)


def _strip_explanation(cleaned: str) -> str:
    """An answer without the reason written after it: ``x = 5 \\text{ (since } x > 0)`` is
    ``x = 5`` (tried only when the whole answer does not parse)."""
    found = _EXPLANATION.search(cleaned)
    return cleaned[: found.start()].strip() if found and found.start() > 0 else ""


_EMPTY_SET_WORDS: Final = re.compile(
    r"(?:there (?:are|is) )?(?:no (?:real )?(?:solutions?|values?|such \w+|roots?)|"
    r"(?:the )?empty set|none)"
)
_ALL_REALS_WORDS: Final = re.compile(
    r"(?:the set of )?(?:all|every) real (?:numbers?|values?(?: of \w)?)|all reals|"
    r"(?:the )?real numbers|all x|(?:the )?(?:whole|entire) real line"
)
_ALL_REALS: Final = Interval(Mul((Num(Fraction(-1)), Const("inf"))), Const("inf"), False, False)


def _named_set(words: str) -> Node | None:
    """A set named in words: "no solution" is the empty set, "all real numbers" is R."""
    if _EMPTY_SET_WORDS.fullmatch(words):
        return Seq("set", ())
    if _ALL_REALS_WORDS.fullmatch(words):
        return _ALL_REALS
    return None


def _looks_like_solution(text: str) -> bool:
    """A gold "answer" that is a worked solution: extract its answer like a response's."""
    if "boxed" in text or "final answer" in text.lower():
        return True
    if len(text) <= 300:
        return False
    return len(re.findall(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}", text)) >= 10


def _contains_text(node: Node) -> bool:
    return any(isinstance(n, Text) for n in walk(node))


def _config(config: MathConfig | None, overrides: dict[str, Any]) -> MathConfig:
    cfg = config or _DEFAULT
    return replace(cfg, **overrides) if overrides else cfg


_DEFAULT: Final = MathConfig()


def parse_gold(text: str, config: MathConfig) -> Parsed:
    """`parse` for gold answers, cached: the samples of a group share one parsed reference."""
    return _parse_gold_cached(text, config)


# lru_cache hashes the (text, config) key once a call, in C, and is thread-safe: hashing a
# config covers all its fields, which cost more than the lookup itself.
@lru_cache(maxsize=4096)
def _parse_gold_cached(text: str, config: MathConfig) -> Parsed:
    return _parse(text, True, config)


def verify(
    gold: str | Parsed, answer: str | Parsed, *, config: MathConfig | None = None, **overrides: Any
) -> Verdict:
    """Whether ``answer`` (a response or a parsed answer) states the ``gold`` answer.

    Symmetric except where noted in `MathConfig` (``relation_as_set``) and in extraction: the
    gold side is used whole when short, the answer side is extracted from the response.

    Example:
        >>> verify("28\\\\%", "so the answer is $\\\\boxed{28}$").equal
        True
        >>> verify("\\\\pm 2021", "\\\\boxed{2021}").equal
        False
    """
    cfg = _config(config, overrides)
    g = gold if isinstance(gold, Parsed) else parse_gold(gold, cfg)
    a = answer if isinstance(answer, Parsed) else _parse(answer, False, cfg)
    if not g.ok:
        return Verdict(False, "invalid_reference", "none", f"gold answer: {g.error}", g, a)
    if not a.ok:
        status: VerdictStatus = "refused" if a.refused else "parse_error"
        return Verdict(False, status, "none", f"response: {a.error}", g, a)
    if _same_text(g.text, a.text):
        return Verdict(True, "ok", "string", "identical answers", g, a)
    tol = cfg.tolerance()
    paths: list[str] = []
    undecided: str | None = None
    for gn in g.nodes:
        for an in a.nodes:
            try:
                outcome = equivalent(gn, an, tol)
            except (EvalError, ArithmeticError, RecursionError, ValueError) as exc:
                # ValueError: str()/int() of a number past Python's digit limit
                undecided = f"{type(exc).__name__}: {exc}"
                continue
            if isinstance(outcome, Undecided):
                undecided = outcome.reason
                continue
            if outcome.equal:
                return Verdict(True, "ok", outcome.path, "equivalent", g, a)
            paths.append(outcome.path)
    if not paths and undecided is not None:
        return Verdict(
            False, "refused", "bounded", f"cannot decide within bounds: {undecided}", g, a
        )
    return Verdict(False, "ok", paths[0] if paths else "none", "not equivalent", g, a)


def _same_text(x: str | None, y: str | None) -> bool:
    if x is None or y is None:
        return False
    return "".join(x.split()) == "".join(y.split())
