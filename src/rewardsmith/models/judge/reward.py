"""The ``judge`` reward: an LLM judge over an OpenAI-compatible endpoint, as a spec term.

Three modes: ``pointwise`` (a score on a scale, normalised to [0, 1] by default), ``reference``
(is the answer equivalent to the reference? 1 or 0) and ``pairwise`` (the completion against the
reference answer as a baseline, both orders: 1 win, 0.5 tie, 0 loss). Guards catch non-answers
before any call (`rewardsmith.models.judge.guards`). Statuses: ``refused`` when the judge refuses,
``parse_error`` when its reply has no verdict, ``timeout`` when it has not answered within 90% of
``timeout_s``, ``error`` when the server keeps failing after the engine's retries or the budget
is spent; never 0. These are the grader's failures, not the policy's: the judge's own carry
``info["fault"] = "grader"`` and the spec's ``on_status.grader_failure`` (``mask``) applies.

Example spec term::

    [[terms]]
    name = "judge"
    use = "judge"
    params = { base_url = "http://127.0.0.1:8000/v1", model = "qwen2.5-7b-instruct",
               mode = "reference", timeout_s = 60, retries = 3, concurrency = 32 }
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from rewardsmith.core.params import CheckedParam, PositiveInt
from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.models.bt.data import conversation_text
from rewardsmith.models.judge.calls import BaseUrl, JudgeSettings, RowUsage, ask, before_deadline
from rewardsmith.models.judge.guards import GUARDS, Guard, guard_score
from rewardsmith.models.judge.pairwise import compare
from rewardsmith.models.judge.parsing import ScoreRule, parse_yes_no, read_score
from rewardsmith.models.judge.prompts import SYSTEM, TEMPLATES, check_template, render

__all__ = ["ScaleTop", "Template", "judge"]

Mode = Literal["pointwise", "reference", "pairwise"]


class Template(str, CheckedParam):
    """A prompt template using only the placeholders of the term's ``mode``."""

    base: ClassVar[Any] = str

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        check_template(value, data.get("mode", "pointwise"))
        return value


class ScaleTop(float, CheckedParam):
    """The top of the pointwise scale: above ``low``."""

    base: ClassVar[Any] = float

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        low = data.get("low", 1.0)
        if not value > low:
            raise ValueError(f"high ({value}) must be above low ({low})")
        return value


@reward(
    "judge", kind="io", version="1", reads=("prompt", "completion", "reference"), timeout_s=120.0
)
async def judge(
    sample: Sample,
    *,
    base_url: BaseUrl,
    model: str,
    mode: Mode = "pointwise",
    template: Template | None = None,
    system: str | None = None,
    low: float = 1.0,
    high: ScaleTop = 10.0,  # type: ignore[assignment]
    parse_rule: ScoreRule = "auto",
    normalize: bool = True,
    swap: bool = True,
    guards: tuple[Guard, ...] = GUARDS,
    guard_phrases: tuple[str, ...] = (),
    guard_value: float | None = None,
    api_key_env: str | None = "OPENAI_API_KEY",
    temperature: float = 0.0,
    max_tokens: PositiveInt = 1024,
    http_timeout_s: float = 120.0,
    budget: str = "judge",
    max_calls: int | None = None,
    max_total_tokens: int | None = None,
    max_usd: float | None = None,
    price_in: float = 0.0,
    price_out: float = 0.0,
    cache_path: str | None = None,
    extra_body: dict[str, Any] | None = None,
    timeout_s: float = 120.0,
) -> Score:
    """An LLM judge's verdict on the completion.

    Args:
        sample: the sample; ``reference`` is the gold answer (``reference`` mode) or the
            baseline answer (``pairwise`` mode).
        base_url: the endpoint up to ``/chat/completions`` (``http://host:8000/v1``).
        model: the judge model's name at that endpoint.
        mode: ``pointwise``, ``reference`` or ``pairwise``.
        template: a prompt replacing the mode's default (`prompts.TEMPLATES`).
        system: a system message replacing the default.
        low: bottom of the pointwise scale.
        high: top of the pointwise scale.
        parse_rule: how the pointwise score is found (`parsing.parse_score`).
        normalize: map the pointwise score to [0, 1].
        swap: pairwise: ask in both orders (see `pairwise`).
        guards: checks run before the judge (``empty``, ``punctuation``, ``opener``); ``[]``
            turns them off.
        guard_phrases: more content-free phrases for the ``opener`` guard (for instance the
            ones ``rewardsmith audit probes`` found the judge paying with guards on).
        guard_value: the value of a guarded answer (default: the bottom of the scale).
        api_key_env: environment variable holding the API key (never put a key in a spec).
        temperature: sampling temperature of the judge.
        max_tokens: most tokens per judge reply.
        http_timeout_s: HTTP timeout per request (the engine's ``timeout_s`` bounds the row).
        budget: name of the ledger that counts calls, tokens and cost (shared by terms that
            name the same budget).
        max_calls: stop calling after this many calls in this process.
        max_total_tokens: stop after this many tokens.
        max_usd: stop after this cost (needs ``price_in``/``price_out``).
        price_in: USD per million prompt tokens.
        price_out: USD per million completion tokens.
        cache_path: a SQLite file caching replies by request hash across runs.
        extra_body: extra JSON fields of the request (e.g. ``{"seed": 0}``).
        timeout_s: the engine's limit for the row; the judge gives up at 90% of it with a
            ``timeout`` marked as the grader's.

    Returns:
        ``ok`` with the value; ``info["usage"]`` (calls, tokens, cost of this row) and the
        judge's replies (tails); pairwise adds ``verdicts`` and ``position_consistent``.

    Known failure modes:
        A judge rewards length, confident tone and its own style; pointwise scores cluster on a
        few values; a completion can carry instructions aimed at the judge (the prompt fences
        it, which helps but does not make it safe). Guards catch only the known "master key"
        non-answers. Pairwise against a fixed baseline saturates once the policy beats it.
    """
    settings = JudgeSettings(
        base_url=base_url,
        model=model,
        api_key_env=api_key_env,
        temperature=temperature,
        max_tokens=max_tokens,
        http_timeout_s=http_timeout_s,
        system=system or SYSTEM,
        budget=budget,
        max_calls=max_calls,
        max_total_tokens=max_total_tokens,
        max_usd=max_usd,
        price_in=price_in,
        price_out=price_out,
        cache_path=cache_path,
        extra_body=dict(extra_body or {}),
    )
    usage = RowUsage()
    prompt = conversation_text(sample.prompt)
    completion = sample.completion_text
    bottom = 0.0 if (normalize or mode != "pointwise") else low
    guarded = guard_score(
        completion, guards, bottom if guard_value is None else guard_value, guard_phrases
    )
    if guarded is not None:
        return guarded
    reference = sample.reference
    if mode in ("reference", "pairwise") and (reference is None or str(reference).strip() == ""):
        return Score.fail("invalid_reference", f"mode {mode!r} needs a reference answer")
    if mode == "pointwise" and not low < high:
        return Score.fail("error", f"low ({low}) must be below high ({high})")
    verdict = _verdict(
        settings,
        mode,
        template,
        prompt,
        completion,
        reference,
        low,
        high,
        parse_rule,
        normalize,
        swap,
        usage,
    )
    return await before_deadline(verdict, timeout_s, usage)


async def _verdict(
    settings: JudgeSettings,
    mode: Mode,
    template: str | None,
    prompt: str,
    completion: str,
    reference: Any,
    low: float,
    high: float,
    parse_rule: ScoreRule,
    normalize: bool,
    swap: bool,
    usage: RowUsage,
) -> Score:
    if mode == "pointwise":
        text = render(
            template or TEMPLATES["pointwise"],
            prompt=prompt,
            completion=completion,
            reference="" if reference is None else str(reference),
            low=f"{low:g}",
            high=f"{high:g}",
        )
        verdict = await ask(
            settings, text, lambda reply: read_score(reply, low, high, parse_rule), usage
        )
        if isinstance(verdict, Score):
            return verdict
        value = (verdict - low) / (high - low) if normalize else verdict
        return Score(value=value, info={"raw_score": verdict, **usage.info()})
    if mode == "reference":
        text = render(
            template or TEMPLATES["reference"],
            prompt=prompt,
            completion=completion,
            reference=str(reference),
        )
        equivalent = await ask(settings, text, parse_yes_no, usage)
        if isinstance(equivalent, Score):
            return equivalent
        return Score(value=float(equivalent), info=usage.info())
    outcome = await compare(
        settings,
        template or TEMPLATES["pairwise"],
        prompt,
        completion,
        str(reference),
        usage,
        swap=swap,
    )
    if isinstance(outcome, Score):
        return outcome
    choice, details = outcome
    value = {"A": 1.0, "tie": 0.5, "B": 0.0}[choice]
    return Score(value=value, info={"verdict": choice, **details, **usage.info()})
