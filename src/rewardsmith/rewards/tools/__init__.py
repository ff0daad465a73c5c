"""The ``tools`` reward: a completion's tool calls against the reference calls, ToolRL-style.

Calls are read from OpenAI ``tool_calls`` messages, from ``<tool_call>…</tool_call>`` blocks in
the text (Hermes / Qwen chat templates), or from a JSON object or list in the text. Each call is
``{"name": str, "arguments": object}`` (``parameters`` is accepted for ``arguments``; OpenAI's
``{"type": "function", "function": {...}}`` wrapping and JSON-string arguments are unwrapped).

Scoring follows ToolRL (Qian et al., 2025): calls are matched to reference calls, then tool names,
parameter names and parameter values earn separate components; a JSON Schema check of the
arguments against the declared tools is a further component when tools are declared.

Example:
    >>> from rewardsmith import Sample
    >>> gold = [{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}]
    >>> reply = '<tool_call>{"name": "get_weather", "arguments": {"city": "paris"}}</tool_call>'
    >>> score = tool_calls(Sample(id="1", completion=reply, reference=gold))
    >>> score.components
    {'format': 1.0, 'name': 1.0, 'param_names': 0.5, 'param_values': 0.5, 'exact': 0.0}
    >>> score.value
    0.75
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, ClassVar, Final, Literal

import referencing.exceptions

from rewardsmith.core.params import CheckedParam, PositiveInt
from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.rewards.tools.bfcl import NumberRule
from rewardsmith.rewards.tools.match import (
    PairScore,
    assignment,
    option_pair_score,
    pair_score,
    schema_errors,
)
from rewardsmith.rewards.tools.parse import (
    ToolCall,
    check_reference,
    parse_tool_calls,
    read_reference,
)

__all__ = ["ToolCall", "parse_tool_calls", "tool_calls"]

_MAX_SHOWN: Final = 200
_TAG_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")


class TagName(str, CheckedParam):
    """An XML-style tag name such as ``tool_call``."""

    base: ClassVar[Any] = str

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        if not _TAG_NAME.fullmatch(value):
            raise ValueError(
                f"{value[:70]!r} is not a tag name (letters, digits, '_', '.', ':', '-')"
            )
        return value


# -- the reward --------------------------------------------------------------------------------


@reward(
    "tools",
    inline=False,  # schema `pattern`s run Python regexes on model-written arguments
    version="1",
    reads=("completion", "reference", "tools"),
    timeout_s=10.0,
    check_reference=check_reference,
)
def tool_calls(
    sample: Sample,
    *,
    source: Literal["auto", "messages", "tagged", "json"] = "auto",
    tag: TagName = "tool_call",  # type: ignore[assignment]
    ordered: bool = False,
    fold_strings: bool = True,
    strict_keys: bool = True,
    check_schema: bool = True,
    mode: Literal["partial", "exact"] = "partial",
    numbers: Literal["auto", "by_value", "typed"] = "auto",
    max_calls: PositiveInt = 64,
) -> Score:
    """ToolRL-style credit for tool calls: format, name, parameter names and values, schema.

    Predicted calls are paired with reference calls: in order when ``ordered``, else by the
    pairing that maximises the credit (Hungarian algorithm), where only calls to the same tool
    pair. Over ``n = max(#predicted, #reference)`` slots (unpaired calls earn 0):

    - ``format``: 1.0 when every call block parsed into ``{name, arguments}`` objects (and there
      is at least one call when the reference has calls), else 0.0.
    - ``name``: paired calls to the same tool / n.
    - ``param_names``: mean Jaccard of argument names over paired calls, / n.
    - ``param_values``: per pair, reference arguments with an equal value / union of argument
      names (extra arguments dilute it), / n.
    - ``schema`` (when tools are declared and ``check_schema``): share of predicted calls to a
      declared tool whose arguments validate against its ``parameters`` JSON Schema.
    - ``exact``: 1.0 when the calls match the reference exactly (as a multiset, or in order).

    The value is the mean of the components other than ``exact`` in ``partial`` mode (0.0 if
    ``format`` is 0), and ``exact`` (also requiring a valid format and schema) in ``exact`` mode.
    A reference with no calls means "answer without calling a tool": 1.0 when the completion
    makes no call, else 0.0.

    Args:
        sample: the sample. ``reference`` is a call, a list of calls, or ``{"calls": [...],
            "tools": [...]}``; tool declarations may instead come from the row's ``tools``
            field (OpenAI format, or ``{"name", "parameters"}``; BFCL's ``dict``/``float``/
            ``tuple``/``any`` types are read as JSON Schema). The calls may also be in BFCL's
            possible-answer form, ``[{"func": {"arg": [value, ...]}}]`` (or a BFCL row
            ``{"ground_truth": [...], "function": [...]}``): each argument lists its
            acceptable values, ``""`` among them meaning the argument may be left out, and
            strings compare as BFCL compares them (without spaces and ``,./-_*^``, any case)
            when ``fold_strings`` is on.
        source: where to read calls (see `parse_tool_calls`).
        tag: the tag of tagged calls (``tool_call`` for ``<tool_call>…</tool_call>``).
        ordered: pair calls by position, for tasks where the order of calls matters.
        fold_strings: compare string values casefolded with whitespace collapsed.
        strict_keys: call objects with keys beyond name/arguments/id/type fail the format.
        check_schema: add the ``schema`` component when tools are declared.
        mode: ``partial`` credit or ``exact`` (0/1).
        numbers: ``by_value`` (``5`` equals ``5.0``), ``typed`` (BFCL's rule: ``5.0`` is not an
            integer argument's value, ``5`` is a float argument's; an argument is an integer
            one when its declared type says so or, undeclared, when the reference gives an
            int), or ``auto``: ``typed`` for BFCL-form references, ``by_value`` otherwise.
        max_calls: a completion with more calls is scored 0 (reason says so) without pairing.

    Returns:
        ``ok`` with the value and components; ``invalid_reference`` when the reference calls or
        tool declarations are malformed.

    Known failure modes:
        Values compare as JSON values: ``"5"`` is not ``5`` and ``"2024-01-05"`` is not
        ``"Jan 5, 2024"``; semantically equal free-text arguments (a search query phrased
        differently) earn no value credit. Calls inside a think block count like any other if
        they use the tag. In ``auto`` mode a JSON object anywhere but the whole text or the last
        fenced block is prose, so a call wrapped in chatter without tags scores 0 by design.

    Example:
        >>> from rewardsmith import Sample
        >>> gold = {"calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}],
        ...         "tools": [{"name": "add", "parameters": {"type": "object",
        ...                    "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}}]}
        >>> msg = [{"role": "assistant", "content": None, "tool_calls": [{"id": "c1",
        ...         "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}}]}]
        >>> s = tool_calls(Sample(id="1", completion=msg, reference=gold))
        >>> s.value, s.components["schema"], s.components["exact"]
        (1.0, 1.0, 1.0)
    """
    found = read_reference(sample.reference, sample.get("tools"))
    if isinstance(found, str):
        return Score.fail("invalid_reference", found)
    gold, tools, options = found.calls, found.tools, found.options
    rule: NumberRule = (
        numbers if numbers != "auto" else ("typed" if options is not None else "by_value")
    )
    predicted, problems = parse_tool_calls(
        sample.completion, source=source, tag=tag, strict_keys=strict_keys
    )
    info: dict[str, Any] = {
        "predicted": [c.name[:_MAX_SHOWN] for c in predicted[:max_calls]],
        "reference": [c.name for c in gold],
    }
    if problems:
        info["problems"] = problems[:5]
    use_schema = check_schema and tools is not None
    # No call where one is expected is a format failure too, so prose earns nothing.
    well_formed = not problems and (bool(predicted) or not gold)
    components: dict[str, float] = {"format": float(well_formed)}

    if len(predicted) > max_calls:
        components.update({"name": 0.0, "param_names": 0.0, "param_values": 0.0})
        if use_schema:
            components["schema"] = 0.0
        components["exact"] = 0.0
        reason = f"{len(predicted)} calls, over max_calls={max_calls}"
        return Score(value=0.0, reason=reason, components=components, info=info)

    if not gold:
        made_none = not predicted and not problems
        components.update(dict.fromkeys(("name", "param_names", "param_values"), float(made_none)))
        if use_schema:
            components["schema"] = float(made_none)
        components["exact"] = float(made_none)
        reason = "" if made_none else "the reference makes no call, the completion does"
        return Score(value=float(made_none), reason=reason, components=components, info=info)

    def score_pair(p: int, g: int) -> PairScore:
        schema = tools.get(gold[g].name) if tools else None
        if options is not None:
            return option_pair_score(predicted[p], options[g], schema, rule, fold_strings)
        return pair_score(predicted[p], gold[g], fold_strings, rule, schema)

    pairs: list[tuple[int, int, PairScore]] = []
    if ordered:
        for index in range(min(len(predicted), len(gold))):
            pairs.append((index, index, score_pair(index, index)))
    elif predicted:
        table = [[score_pair(p, g) for g in range(len(gold))] for p in range(len(predicted))]
        # A pair earns 1 for the name, so any same-name pair beats leaving both unpaired.
        weights = [[s.name + s.keys + s.values for s in row] for row in table]
        for p, g in assignment(weights):
            pairs.append((p, g, table[p][g]))
    slots = max(len(predicted), len(gold))
    components["name"] = sum(s.name for _, _, s in pairs) / slots
    components["param_names"] = sum(s.keys for _, _, s in pairs) / slots
    components["param_values"] = sum(s.values for _, _, s in pairs) / slots
    reasons: list[str] = []
    if problems:
        reasons.append(problems[0])
    if use_schema:
        assert tools is not None
        try:
            listed = {p: score.listed for p, _, score in pairs} if options is not None else None
            errors = schema_errors(predicted, tools, listed)
        except referencing.exceptions.Unresolvable as exc:
            return Score.fail(
                "invalid_reference", f"a tool schema's $ref cannot be resolved: {exc}"
            )
        components["schema"] = 1.0 - len(errors) / len(predicted) if predicted else 0.0
        if errors:
            info["schema_errors"] = errors[:5]
            reasons.append(errors[0])
    exact = (
        not problems
        and len(predicted) == len(gold)
        and all(s.name == 1.0 and s.values == 1.0 and s.keys == 1.0 for _, _, s in pairs)
        and len(pairs) == len(gold)
    )
    components["exact"] = float(exact)
    if not predicted and not problems:
        reasons.append("no tool call in the completion")
    elif not exact:
        missing = Counter(c.name for c in gold) - Counter(c.name for c in predicted)
        extra = Counter(c.name for c in predicted) - Counter(c.name for c in gold)
        if missing:
            reasons.append(f"missing calls: {sorted(missing)[:5]}")
        if extra:
            reasons.append(f"unexpected calls: {sorted(str(n)[:60] for n in extra)[:5]}")
        if not missing and not extra:
            reasons.append("arguments or order differ from the reference")
    if mode == "exact":
        value = float(exact and components.get("schema", 1.0) == 1.0)
    elif components["format"] == 0.0:
        value = 0.0
    else:
        graded = [v for k, v in components.items() if k != "exact"]
        value = sum(graded) / len(graded)
    return Score(value=value, reason="; ".join(reasons), components=components, info=info)
