"""Rubric grading: weighted criteria, hard rules checked by code, soft ones by the judge.

A rubric is a list of criteria (in the ``rubric`` param, or per row in ``reference`` as a list or
``{"criteria": [...]}``). A criterion with ``check = "judge"`` is asked of the judge as a yes/no
question (one call each, concurrently); every other check runs in code, costs nothing and cannot
be talked round: ``regex``/``not_regex``, ``contains``/``not_contains``, ``min_words``/
``max_words``, ``max_chars``, ``json`` (the answer parses as JSON). Each criterion's result (1 or
0) is a component; the value is their weighted mean. A ``required`` criterion that fails sets the
value to 0 (and skips the judge calls).

Example:
    >>> rubric = parse_rubric([
    ...     {"name": "short", "check": "max_words", "value": 5, "required": True},
    ...     {"name": "polite", "check": "regex", "value": "(?i)please|thank"},
    ... ])
    >>> [check_rule(c, "Thank you, done.") for c in rubric]
    [True, True]
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, ClassVar, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from rewardsmith.core.params import CheckedParam, PositiveInt
from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.models.bt.data import conversation_text
from rewardsmith.models.judge.calls import BaseUrl, JudgeSettings, RowUsage, ask, before_deadline
from rewardsmith.models.judge.guards import GUARDS, Guard, guard_score
from rewardsmith.models.judge.parsing import parse_yes_no
from rewardsmith.models.judge.prompts import SYSTEM, TEMPLATES, render

__all__ = ["Criterion", "check_rule", "parse_rubric", "rubric_grade"]

Check = Literal[
    "judge",
    "regex",
    "not_regex",
    "contains",
    "not_contains",
    "min_words",
    "max_words",
    "max_chars",
    "json",
]


class Criterion(BaseModel):
    """One rubric criterion."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    """Component name of this criterion's result."""
    check: Check = "judge"
    """``judge`` (asked of the LLM) or a rule checked by code."""
    description: str = ""
    """What the judge checks (``judge`` criteria); shown to the judge verbatim."""
    value: str | int | None = None
    """The rule's argument: a regex, a text, or a number of words/characters."""
    weight: float = Field(default=1.0, gt=0)
    """Weight in the weighted mean."""
    required: bool = False
    """A failure sets the whole value to 0."""

    @pydantic.model_validator(mode="after")
    def _argument(self) -> Criterion:
        if self.check == "judge" and not self.description.strip():
            raise ValueError(f"criterion {self.name!r}: a judge criterion needs a description")
        if self.check in ("regex", "not_regex"):
            if not isinstance(self.value, str):
                raise ValueError(
                    f"criterion {self.name!r}: {self.check} needs a pattern in 'value'"
                )
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"criterion {self.name!r}: bad regex: {exc}") from None
        if self.check in ("contains", "not_contains") and not isinstance(self.value, str):
            raise ValueError(f"criterion {self.name!r}: {self.check} needs a text in 'value'")
        if self.check in ("min_words", "max_words", "max_chars") and (
            not isinstance(self.value, int) or self.value < 0
        ):
            raise ValueError(f"criterion {self.name!r}: {self.check} needs a count >= 0 in 'value'")
        return self


def parse_rubric(raw: Any) -> list[Criterion]:
    """Criteria from a list (or ``{"criteria": [...]}``); raises ValueError naming the criterion."""
    if isinstance(raw, dict) and "criteria" in raw:
        raw = raw["criteria"]
    if not isinstance(raw, list | tuple) or not raw:
        raise ValueError("a rubric is a non-empty list of criteria (or {'criteria': [...]})")
    criteria: list[Criterion] = []
    for position, item in enumerate(raw):
        try:
            criteria.append(Criterion.model_validate(item))
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "criterion"
            raise ValueError(f"criterion {position} ({where}): {first['msg']}") from None
    names = [c.name for c in criteria]
    if len(set(names)) != len(names):
        raise ValueError(f"criterion names repeat: {names}")
    return criteria


def check_rule(criterion: Criterion, text: str) -> bool:
    """The result of a code-checked criterion on ``text``."""
    value, check = criterion.value, criterion.check
    if check == "regex":
        return re.search(str(value), text) is not None
    if check == "not_regex":
        return re.search(str(value), text) is None
    if check == "contains":
        return str(value).lower() in text.lower()
    if check == "not_contains":
        return str(value).lower() not in text.lower()
    if check == "min_words":
        return len(text.split()) >= int(value)  # type: ignore[arg-type]
    if check == "max_words":
        return len(text.split()) <= int(value)  # type: ignore[arg-type]
    if check == "max_chars":
        return len(text) <= int(value)  # type: ignore[arg-type]
    if check == "json":
        try:
            json.loads(text)
        except ValueError:
            return False
        return True
    raise ValueError(f"criterion {criterion.name!r} is checked by the judge, not by code")


class RubricParam(list, CheckedParam):  # type: ignore[type-arg]
    """A rubric: a list of criteria (validated when the spec loads)."""

    base: ClassVar[Any] = list[dict[str, Any]]

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        parse_rubric(value)
        return value


def _check_rubric_reference(reference: Any) -> str | None:
    if reference is None:
        return None  # the rubric may come from the spec
    try:
        parse_rubric(reference)
    except ValueError as exc:
        return str(exc)
    return None


@reward(
    "judge.rubric",
    kind="io",
    version="1",
    reads=("prompt", "completion", "reference"),
    timeout_s=180.0,
    check_reference=_check_rubric_reference,
)
async def rubric_grade(
    sample: Sample,
    *,
    base_url: BaseUrl,
    model: str,
    rubric: RubricParam | None = None,
    template: str | None = None,
    system: str | None = None,
    guards: tuple[Guard, ...] = GUARDS,
    guard_phrases: tuple[str, ...] = (),
    api_key_env: str | None = "OPENAI_API_KEY",
    temperature: float = 0.0,
    max_tokens: PositiveInt = 512,
    http_timeout_s: float = 120.0,
    budget: str = "judge",
    max_calls: int | None = None,
    max_total_tokens: int | None = None,
    max_usd: float | None = None,
    price_in: float = 0.0,
    price_out: float = 0.0,
    cache_path: str | None = None,
    extra_body: dict[str, Any] | None = None,
    timeout_s: float = 180.0,
) -> Score:
    """Weighted rubric score in [0, 1]; one component per criterion.

    Args:
        sample: the sample; ``reference`` holds the rubric when the ``rubric`` param is unset.
        base_url: the endpoint up to ``/chat/completions``.
        model: the judge model.
        rubric: the criteria (see `Criterion`); overrides the row's reference.
        template: the per-criterion prompt (placeholders ``prompt``, ``completion``,
            ``criterion``, ``reference``).
        system: a system message replacing the default.
        guards: checks run before anything else (see the ``judge`` reward).
        guard_phrases: more content-free phrases for the ``opener`` guard.
        api_key_env: environment variable holding the API key.
        temperature: judge sampling temperature.
        max_tokens: most tokens per judge reply.
        http_timeout_s: HTTP timeout per request.
        budget: ledger name for calls, tokens and cost.
        max_calls: call limit of the ledger.
        max_total_tokens: token limit of the ledger.
        max_usd: cost limit of the ledger.
        price_in: USD per million prompt tokens.
        price_out: USD per million completion tokens.
        cache_path: SQLite reply cache across runs.
        extra_body: extra JSON fields of each request.
        timeout_s: the engine's limit for the row; the judge gives up at 90% of it with a
            ``timeout`` marked as the grader's.

    Returns:
        ``ok`` with the weighted mean and per-criterion components; ``invalid_reference`` for a
        missing or malformed rubric; the first judge failure's status (``refused``,
        ``parse_error``, ``error``, ``timeout``; marked ``info["fault"] = "grader"``, masked by
        default) when a judge criterion cannot be decided.

    Known failure modes:
        Soft criteria inherit every judge bias (length, tone, self-preference); write hard rules
        as code checks wherever a rule can be written. A rubric whose weights favour easy
        criteria ("is polite") rewards polite wrong answers: gate such rubrics on correctness.
    """
    try:
        criteria = parse_rubric(rubric if rubric is not None else sample.reference)
    except ValueError as exc:
        return Score.fail("invalid_reference", f"rubric: {exc}")
    completion = sample.completion_text
    guarded = guard_score(completion, guards, 0.0, guard_phrases)
    if guarded is not None:
        return guarded
    components: dict[str, float] = {}
    for criterion in criteria:
        if criterion.check != "judge":
            components[criterion.name] = float(check_rule(criterion, completion))
    failed_required = [c.name for c in criteria if c.required and components.get(c.name) == 0.0]
    if failed_required:
        return Score(
            value=0.0, components=components, reason=f"required criteria failed: {failed_required}"
        )
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
    soft = [c for c in criteria if c.check == "judge"]
    return await before_deadline(
        _judged(settings, template, prompt, completion, criteria, soft, components, usage),
        timeout_s,
        usage,
    )


async def _judged(
    settings: JudgeSettings,
    template: str | None,
    prompt: str,
    completion: str,
    criteria: list[Criterion],
    soft: list[Criterion],
    components: dict[str, float],
    usage: RowUsage,
) -> Score:
    verdicts = await asyncio.gather(
        *(
            ask(
                settings,
                render(
                    template or TEMPLATES["criterion"],
                    prompt=prompt,
                    completion=completion,
                    criterion=c.description,
                    reference="",
                ),
                parse_yes_no,
                usage,
            )
            for c in soft
        )
    )
    for criterion, verdict in zip(soft, verdicts, strict=True):
        if isinstance(verdict, Score):
            verdict.reason = f"criterion {criterion.name!r}: {verdict.reason}"
            verdict.info.update(usage.info())
            return verdict
        components[criterion.name] = float(verdict)
    if any(c.required and components[c.name] == 0.0 for c in soft):
        return Score(
            value=0.0,
            components=components,
            reason="a required criterion failed",
            info=usage.info(),
        )
    total = sum(c.weight for c in criteria)
    value = sum(c.weight * components[c.name] for c in criteria) / total
    return Score(value=value, components=components, info=usage.info())
