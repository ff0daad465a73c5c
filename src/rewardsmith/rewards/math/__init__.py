"""Math answer verification: the ``math`` reward and its two verbs, `parse` and `verify`.

The verifier extracts the final answer from a response (last ``\\boxed{}``, "final answer
is", ``<answer>`` tags, an "Answer:" line, then the last formula or number), parses both
answers into a small AST (`nodes`) and compares them by exact rational arithmetic first,
numeric evaluation second and sympy last. Most answers never reach sympy.

Modules: `extract` (finding the answer), `latex` (spelling normalisation), `parser` (text
to AST), `evaluate` (bounded exact and numeric values), `compare` (equivalence rules),
`symbolic` (the sympy fallback), `verify` (the public verbs and config).

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

import time
from typing import Any

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
    reference = sample.reference
    golds = reference if isinstance(reference, list) else [reference]
    problem = None
    if not golds or any(g is None or not isinstance(g, str | int | float) for g in golds):
        problem = f"reference must be text or a number, got {type(reference).__name__}"
    if problem:
        return Score.fail("invalid_reference", problem)
    start = time.perf_counter()
    answer = parse(sample.completion_text, config=cfg)
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
        applied = rewrites(parsed.text) if parsed.text else []
        if applied:
            info[f"{side}_rewrites"] = applied
    return info
