"""Math answer verification: the ``math`` reward and its two verbs, `parse` and `verify`.

The verifier extracts the final answer from a response (last ``\\boxed{}``, "final answer
is", ``<answer>`` tags, an "Answer:" line, then the last formula or number), parses both
answers into a small AST (`nodes`) and compares them by exact rational arithmetic first,
numeric evaluation second and sympy last. Most answers never reach sympy.

Modules: `extract` (finding the answer), `latex` (spelling normalisation), `tokens` and
`parser` (text to AST; its ``parser_*`` helpers read numbers, LaTeX structures, commands and
words), `evaluate` (bounded exact and numeric values), `compare` (equivalence rules; its
``compare_*`` helpers compare relations, collections and scalar values, and
`compare_decision` holds the `Decided` / `Undecided` outcome), `symbolic` (the sympy
fallback), `verify` (the public verbs and config), `llm` (the optional verifier model for rows
the rules reject). `math_fast_path` settles plain-number rows in the engine's calling process;
everything else runs in a worker.

Known failure modes: answers that need solving (beyond inequalities in one unknown and
``|x|`` bounds), units that change the value (``54 inches`` vs ``137.16 cm`` is rejected),
numbers written as words inside a sentence; implicit multiplication and function application
are guessed from letters (``f(x)``, ``W(n)`` are functions, ``a(b+c)`` a product).

Example:
    >>> from rewardsmith.rewards.math import verify
    >>> verify("\\\\frac{\\\\sqrt{3}}{2}", "so $\\\\boxed{\\\\sin 60^\\\\circ}$").equal
    True
    >>> verify("(-\\\\infty, 2) \\\\cup (9, \\\\infty)", "$(9,\\\\infty)\\\\cup(-\\\\infty,2)$").equal
    True
"""

from __future__ import annotations

import functools
import inspect
import re
import time
from typing import Any, Final

from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.rewards.math.extract import DEFAULT_RULES, extract_answer
from rewardsmith.rewards.math.latex import rewrites
from rewardsmith.rewards.math.llm import LLMCheck, ask_verifier, wants_verifier
from rewardsmith.rewards.math.verify import (
    MathConfig,
    Parsed,
    ThinkMode,
    Verdict,
    parse,
    parse_gold,
    verify,
)

__all__ = [  # the public names, pinned by tests/rewards/math/test_api.py
    "DEFAULT_RULES",
    "LLMCheck",
    "MathConfig",
    "Parsed",
    "Verdict",
    "extract_answer",
    "math_answer",
    "math_fast_path",
    "parse",
    "verify",
]


def _check_reference(reference: Any) -> str | None:
    """None when the gold answer can be read, else what is wrong with it."""
    golds = reference if isinstance(reference, list) else [reference]
    if not golds:
        return "reference is an empty list"
    for gold in golds:
        if gold is None or (isinstance(gold, str) and not gold.strip()):
            return "reference is empty"
        if not isinstance(gold, str | int | float):
            return f"reference must be text or a number, not {type(gold).__name__}"
        parsed = parse_gold(str(gold), MathConfig())
        if not parsed.ok:
            return f"cannot read gold answer {str(gold)[:80]!r}: {parsed.error}"
    return None


@reward(
    "math",
    kind="cpu",
    version="1",
    # the prompt is read only by the LLM add-on (the question it is shown)
    reads=("prompt", "completion", "reference"),
    timeout_s=10.0,
    check_reference=_check_reference,
)
def math_answer(
    sample: Sample,
    *,
    precision: int = 6,
    rel_tol: float = 0.0,
    strict: bool = True,
    relation_as_set: bool = True,
    percent: bool = True,
    use_sympy: bool = True,
    approximate: bool = True,
    rules: list[str] | None = None,
    think: ThinkMode = "after",
    llm: LLMCheck | None = None,
    timeout_s: float = 10.0,
) -> Score:
    """1.0 when the response's final answer is equivalent to the reference, else 0.0.

    The reference is the gold answer (LaTeX or plain text, or a number; a list of golds
    accepts any of them). No extractable answer gives ``parse_error``; an unreadable gold
    gives ``invalid_reference``; an answer too costly to decide gives ``refused``.
    ``Score.info`` records the rule that found the answer, the extracted text, the normalised
    forms and the check that decided (``path``).

    Params mirror `MathConfig` (``precision``, ``strict``, ``relation_as_set`` are the
    per-test options of Math-Verify's suite); ``think`` says where the final answer is read
    when the response has ``<think>`` tags; ``llm`` (an `LLMCheck` dict) asks a verifier model
    about rows the rules reject or cannot read, and ``timeout_s`` (the engine's limit for the
    call) bounds how long it may wait.

    Example:
        >>> s = Sample(id="1", completion="... so $\\\\boxed{\\\\frac{2}{4}}$", reference="0.5")
        >>> score = math_answer(s)
        >>> score.value, score.info["path"]
        (1.0, 'exact')
    """
    settings = (precision, rel_tol, strict, relation_as_set, percent, use_sympy, approximate)
    return _score(sample, _config_of(settings, rules, think), llm, timeout_s)


def _config_of(settings: tuple[Any, ...], rules: list[str] | None, think: ThinkMode) -> MathConfig:
    """The `MathConfig` of the reward's arguments (``settings`` in `MathConfig`'s field
    order), built once per distinct set without custom rules: a reward is called with the
    same few settings on every row, and building one costs more than a row's extraction."""
    key = (settings, think)
    found = _CONFIG_BY_ARGS.get(key) if rules is None else None
    if found is not None:
        return found
    precision, rel_tol, strict, relation_as_set, percent, use_sympy, approximate = settings
    cfg = MathConfig(
        precision=precision,
        rel_tol=rel_tol,
        strict=strict,
        relation_as_set=relation_as_set,
        percent=percent,
        use_sympy=use_sympy,
        approximate=approximate,
        rules=tuple(rules) if rules else DEFAULT_RULES,
        think=think,
    )
    if rules is None and len(_CONFIG_BY_ARGS) < 64:
        _CONFIG_BY_ARGS[key] = cfg
    return cfg


_CONFIG_BY_ARGS: dict[tuple[Any, ...], MathConfig] = {}
_SETTINGS: Final = (
    *("precision", "rel_tol", "strict", "relation_as_set", "percent"),
    *("use_sympy", "approximate"),
)
"""The names of `_config_of`'s ``settings``, in order."""


def _score(
    sample: Sample,
    cfg: MathConfig,
    llm: LLMCheck | None,
    timeout_s: float,
    answer: Parsed | None = None,
    gold: Parsed | None = None,
) -> Score:
    reference = sample.reference
    if type(reference) is str:  # the usual reference: nothing to check
        golds: list[Any] = [reference]
    else:
        golds = reference if isinstance(reference, list) else [reference]
        if not golds or any(g is None or not isinstance(g, str | int | float) for g in golds):
            problem = f"reference must be text or a number, got {type(reference).__name__}"
            return Score.fail("invalid_reference", problem)
    start = time.perf_counter()
    if answer is None:
        answer = parse(sample.completion_text, config=cfg)
    if gold is not None and len(golds) == 1:
        verdicts = [verify(gold, answer, config=cfg)]  # read already (the fast path)
    else:
        verdicts = [verify(str(g), answer, config=cfg) for g in golds]
    best = next((v for v in verdicts if v.equal), verdicts[0])
    info = _info(best)
    if llm is not None and wants_verifier(llm, best.status, best.equal):
        # Rules said no (or could not read the answer): ask the verifier model, within 80%
        # of the call's time limit so that its failure leaves the rule verdict standing.
        deadline = 0.8 * timeout_s - (time.perf_counter() - start)
        shown = best.answer.text or _tail(sample.completion_text)
        asked = ask_verifier(
            llm, question=sample.prompt_text, gold=str(golds[0]), answer=shown, deadline_s=deadline
        )
        info["llm"] = asked
        if asked["verdict"] is True:
            info["rule_path"], info["path"] = info["path"], "llm"
            return Score(value=1.0, reason="equivalent (verifier model)", info=info)
    if best.status == "ok":
        return Score(value=1.0 if best.equal else 0.0, reason=best.reason, info=info)
    return Score.fail(best.status, best.reason, **info)


# -- the caller-side fast path (see `rewardsmith.engine.Engine`) ----------------------------

_SIMPLE: Final = re.compile(
    r"\s*(?:-?\s*(?:\d{1,3}(?:(?:,|\{,\})\d{3}){1,19}|\d{1,60}(?:\.\d{1,60})?|\.\d{1,60})|-?\\[dt]?frac\{-?\d{1,60}\}\{\d{1,60}\}"
    r"|-?\d{1,60}\s*/\s*\d{1,60}|\d{1,60}\s*\\[dt]?frac\{\d{1,60}\}\{\d{1,60}\}|\(?[A-E]\)?)\s*"
)
_FAST_MAX_CHARS: Final = 50_000
_DEFAULTS: Final = {
    name: parameter.default
    for name, parameter in inspect.signature(math_answer.fn).parameters.items()
    if parameter.default is not inspect.Parameter.empty
}
_CONFIGS: dict[int, tuple[dict[str, Any], MathConfig]] = {}


def math_fast_path(sample: Sample, params: dict[str, Any]) -> Score | None:
    """The reward's own answer, in the caller, for rows that cannot be slow: a plain number,
    fraction, mixed number or choice letter as gold, and as the extracted answer or the same
    text as the gold (``\\boxed{42}`` for ``42``, ``\\frac{3}{4}`` for ``0.75``); None sends
    the row to a worker.

    It runs the same code as `math_answer` (same extraction, comparison and ``Score.info``),
    so a settled row is exactly what a worker would return; only inputs whose cost is bounded
    by construction (at most 60 digits a number, 50,000 characters of response) are taken.
    A row the rules reject is left to the worker when the ``llm`` add-on is on.

    Example:
        >>> s = Sample(id="1", completion=r"so $\\boxed{\\frac{6}{8}}$", reference="0.75")
        >>> math_fast_path(s, {}).value
        1.0
        >>> math_fast_path(Sample(id="2", completion=r"\\boxed{\\sqrt{2}}", reference="1"), {}) is None
        True
    """
    start = time.perf_counter()
    reference = sample.reference
    if isinstance(reference, bool) or not isinstance(reference, str | int | float):
        return None
    text = sample.completion_text
    if len(text) > _FAST_MAX_CHARS or len(str(reference)) > _FAST_MAX_CHARS:
        return None
    cfg = _config_for(params)
    gold = parse_gold(str(reference), cfg)  # cached: the rows of a group share it
    if gold.text is None or not gold.ok:
        return None
    answer = parse(text, config=cfg)
    if answer.text is None or not answer.ok:
        return None
    simple = _SIMPLE.fullmatch(gold.text) and _SIMPLE.fullmatch(answer.text)
    if not simple and _squeeze(answer.text) != _squeeze(gold.text):
        # identical answers are decided before any arithmetic ("4a-2" for "4a-2")
        return None
    llm = params.get("llm")
    score = _score(sample, cfg, None, 0.0, answer, gold)
    if llm is not None and not (score.status == "ok" and score.value == 1.0):
        return None  # the verifier model may be asked: a worker does that
    score.latency_s = time.perf_counter() - start
    return score


def _squeeze(text: str) -> str:
    return "".join(text.split())


def _config_for(params: dict[str, Any]) -> MathConfig:
    """The `MathConfig` of a term's params, built once per params dict (the engine passes the
    same dict for every row of a term)."""
    found = _CONFIGS.get(id(params))
    if found is not None and found[0] is params:
        return found[1]
    merged = {**_DEFAULTS, **params}
    settings = tuple(merged[name] for name in _SETTINGS)
    cfg = _config_of(settings, merged["rules"], merged["think"])
    if len(_CONFIGS) > 64:
        _CONFIGS.clear()
    _CONFIGS[id(params)] = (params, cfg)
    return cfg


# Read by the engine: rows settled here never cross a process boundary.
math_answer.fast_path = math_fast_path  # type: ignore[attr-defined]


def _tail(completion: str) -> str:
    """What the verifier model is shown when no answer was extracted: the text after the last
    ``</think>`` (the final answer, if any, is there), at most its last 2,000 characters."""
    cut = completion.rfind("</think>")
    return completion[cut + len("</think>") :][-2000:] if cut != -1 else completion[-2000:]


def _info(verdict: Verdict) -> dict[str, Any]:
    info: dict[str, Any] = {
        "path": verdict.path,
        "rule": verdict.answer.rule,
        "extracted": verdict.answer.text,
        "answer_normalized": verdict.answer.normalized,
        "gold_normalized": verdict.gold.normalized,
    }
    # The reading rules that rewrote either side (ordinal suffix, unit words, ...), so an
    # audit sees which rule made two differently written answers equal.
    for side, parsed in (("answer", verdict.answer), ("gold", verdict.gold)):
        text = parsed.text
        if not text:
            continue
        applied = _short_rewrites(text) if len(text) <= _CACHED_CHARS else rewrites(text)
        if applied:
            info[f"{side}_rewrites"] = list(applied)  # a copy: the cached value is shared
    return info


_CACHED_CHARS: Final = 256


@functools.lru_cache(maxsize=4096)
def _short_rewrites(text: str) -> tuple[str, ...]:
    """`rewrites` of a short answer, once per text: a group's rows share their gold answer
    and often their answers, and the rules are a dozen regular-expression scans."""
    return tuple(rewrites(text))
