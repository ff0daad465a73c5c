"""Reading tool calls: from OpenAI ``tool_calls`` messages, tagged blocks or JSON; and the reference.

Every reader is a linear scan or a JSON decode, so a hostile megabyte costs milliseconds.

Example:
    >>> calls, problems = parse_tool_calls('<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>')
    >>> calls, problems
    ([ToolCall(name='f', arguments={'x': 1})], [])
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import jsonschema

from rewardsmith.core.sample import message_text
from rewardsmith.rewards.tools.bfcl import OptionCall, bfcl_calls, is_bfcl_form, json_schema_of

__all__ = [
    "Reference",
    "ToolCall",
    "call_from",
    "check_reference",
    "loads",
    "parse_tool_calls",
    "read_reference",
]

_CALL_KEYS: Final = frozenset({"name", "arguments", "parameters", "id", "type"})


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call: a name and its arguments (a JSON object)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Parsed:
    calls: list[ToolCall]
    problems: list[str]
    source: str


# -- calls in a completion ----------------------------------------------------------------------


def call_from(obj: Any, strict_keys: bool) -> ToolCall | str:
    """A `ToolCall` from one JSON value, or the problem as text."""
    if not isinstance(obj, dict):
        return f"a call must be an object, got {type(obj).__name__}"
    if obj.get("type") == "function" and isinstance(obj.get("function"), dict):
        # OpenAI: {"id": ..., "type": "function", "function": {"name", "arguments"}}
        extra = set(obj) - {"id", "type", "function"}
        if strict_keys and extra:
            return f"unexpected keys in a call: {sorted(extra)[:5]}"
        obj = obj["function"]
    extra = set(obj) - _CALL_KEYS
    if strict_keys and extra:
        return f"unexpected keys in a call: {sorted(str(k)[:40] for k in extra)[:5]}"
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        return "a call has no string 'name'"
    if "arguments" in obj and "parameters" in obj:
        return "a call has both 'arguments' and 'parameters'"
    arguments = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(arguments, str):
        # OpenAI sends arguments as JSON text
        arguments, problem = loads(arguments) if arguments.strip() else ({}, None)
        if problem:
            return f"arguments of {name[:60]!r} are {problem}"
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        return f"arguments of {name[:60]!r} must be an object, got {type(arguments).__name__}"
    return ToolCall(name=name.strip(), arguments=arguments)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(text: str) -> tuple[Any, str | None]:
    try:
        return json.loads(text, parse_constant=_reject_constant), None
    except RecursionError:
        return None, "JSON nested too deeply"
    except ValueError as exc:
        return None, f"not JSON ({str(exc)[:120]})"


def _json_values(text: str) -> tuple[list[Any], str | None]:
    """Consecutive JSON values separated by whitespace (one per line in ToolRL's format)."""
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    values: list[Any] = []
    position, end = 0, len(text)
    while True:
        while position < end and text[position].isspace():
            position += 1
        if position >= end:
            return values, None
        try:
            value, position = decoder.raw_decode(text, position)
        except RecursionError:
            return values, "JSON nested too deeply"
        except ValueError as exc:
            return values, f"not JSON ({str(exc)[:120]})"
        values.append(value)


def _calls_from_values(values: list[Any], parsed: _Parsed, strict_keys: bool) -> None:
    for value in values:
        if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
            value = value["tool_calls"]
        for item in value if isinstance(value, list) else [value]:
            call = call_from(item, strict_keys)
            if isinstance(call, str):
                parsed.problems.append(call)
            else:
                parsed.calls.append(call)


def _tagged_blocks(text: str, tag: str) -> tuple[list[str], list[str]]:
    """Bodies of ``<tag>…</tag>`` blocks (linear scan), and problems such as an unclosed tag."""
    opening, closing = f"<{tag}>", f"</{tag}>"
    blocks: list[str] = []
    problems: list[str] = []
    position = 0
    while True:
        start = text.find(opening, position)
        if start < 0:
            break
        body_start = start + len(opening)
        stop = text.find(closing, body_start)
        if stop < 0:
            problems.append(f"{opening} is never closed")
            break
        nested = text.find(opening, body_start, stop)
        if nested >= 0:
            problems.append(f"{opening} opened again before {closing}")
        blocks.append(text[body_start:stop])
        position = stop + len(closing)
    return blocks, problems


def _fenced_json(text: str) -> str | None:
    """The body of the last fenced block tagged json (or untagged), or None."""
    close = text.rfind("```")
    opening = text.rfind("```", 0, close) if close > 0 else -1
    if opening < 0:
        return None
    header_end = text.find("\n", opening, close)
    if header_end < 0 or text[opening + 3 : header_end].strip().lower() not in ("", "json"):
        return None
    return text[header_end + 1 : close]


def _parse_text(text: str, source: str, tag: str, strict_keys: bool) -> _Parsed:
    if source in ("auto", "tagged") and f"<{tag}>" in text:
        parsed = _Parsed([], [], "tagged")
        blocks, problems = _tagged_blocks(text, tag)
        parsed.problems.extend(problems)
        for block in blocks:
            values, problem = _json_values(block)
            if problem:
                parsed.problems.append(problem)
            if not values and not problem:
                parsed.problems.append(f"empty <{tag}> block")
            _calls_from_values(values, parsed, strict_keys)
        return parsed
    if source == "tagged":
        return _Parsed([], [], "tagged")
    parsed = _Parsed([], [], "json")
    fenced = _fenced_json(text)
    payload = (fenced if fenced is not None else text).strip()
    if not payload or payload[0] not in "[{":
        return parsed  # no call at all: an answer in prose
    value, problem = loads(payload)
    if problem:
        parsed.problems.append(problem)
        return parsed
    _calls_from_values([value], parsed, strict_keys)
    return parsed


def parse_tool_calls(
    completion: str | list[dict[str, Any]],
    *,
    source: Literal["auto", "messages", "tagged", "json"] = "auto",
    tag: str = "tool_call",
    strict_keys: bool = True,
) -> tuple[list[ToolCall], list[str]]:
    """The tool calls in a completion, and the problems met while reading them.

    Args:
        completion: text, or chat messages (``tool_calls`` of every assistant message count).
        source: ``messages`` (OpenAI ``tool_calls`` fields only), ``tagged`` (``<tag>`` blocks
            holding one JSON value, or several separated by whitespace), ``json`` (the whole
            text, or its last ```` ```json ```` block, as a call, a list of calls or
            ``{"tool_calls": [...]}``), or ``auto``: messages with ``tool_calls`` first, then
            tagged blocks when the tag appears, then JSON.
        tag: the tag name for tagged calls.
        strict_keys: a call object with keys other than name/arguments/parameters/id/type is a
            problem, not a call.

    Example:
        >>> calls, problems = parse_tool_calls('<tool_call>{"name": "f", "arguments": {}}\\n'
        ...                                    '{"name": "g"}</tool_call>')
        >>> [c.name for c in calls], problems
        (['f', 'g'], [])
        >>> parse_tool_calls('{"name": "f", "arguments": [1]}')[1]
        ["arguments of 'f' must be an object, got list"]
    """
    if isinstance(completion, str):
        if source == "messages":
            return [], []
        parsed = _parse_text(completion, source, tag, strict_keys)
        return parsed.calls, parsed.problems
    structured = _Parsed([], [], "messages")
    for message in completion:
        if message.get("role") != "assistant" or "tool_calls" not in message:
            continue
        raw = message.get("tool_calls")
        if raw is None:
            continue
        if not isinstance(raw, list):
            structured.problems.append("'tool_calls' is not a list")
            continue
        _calls_from_values(raw, structured, strict_keys)
    if source == "messages" or structured.calls or structured.problems:
        return structured.calls, structured.problems
    text = "\n".join(
        message_text(message) for message in completion if message.get("role") == "assistant"
    )
    parsed = _parse_text(text, source, tag, strict_keys)
    return parsed.calls, parsed.problems


# -- the reference -----------------------------------------------------------------------------


@dataclass(slots=True)
class Reference:
    calls: list[ToolCall]
    tools: dict[str, dict[str, Any]] | None  # name -> JSON Schema of the arguments
    # BFCL's possible-answer form: the acceptable values of each argument, one per call
    # (then `calls` holds the names with empty arguments).
    options: list[OptionCall] | None = None


@functools.lru_cache(maxsize=1024)
def _schema_problem(schema_json: str) -> str | None:
    """Why a schema is invalid, or None; cached, as checking one against the metaschema costs
    milliseconds and the rows of a dataset repeat a few tool declarations."""
    schema = json.loads(schema_json)
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        return str(exc.message[:200])
    return None


def _declared_tools(raw: Any) -> dict[str, dict[str, Any]] | str:
    """Tool declarations (OpenAI ``{"type": "function", "function": {...}}`` or bare)."""
    if isinstance(raw, str):
        raw, problem = loads(raw)
        if problem:
            return f"'tools' is a string but {problem}"
    if not isinstance(raw, list):
        return f"'tools' must be a list of tool declarations, got {type(raw).__name__}"
    tools: dict[str, dict[str, Any]] = {}
    for position, item in enumerate(raw):
        if isinstance(item, dict) and isinstance(item.get("function"), dict):
            item = item["function"]
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            return f"tools[{position}] has no 'name'"
        # BFCL declares Python type names ("dict", "float"): read them as JSON Schema.
        schema = json_schema_of(item.get("parameters", {"type": "object"}))
        if not isinstance(schema, dict):
            return f"tools[{position}] 'parameters' must be a JSON Schema object"
        problem = _schema_problem(json.dumps(schema, sort_keys=True, default=repr))
        if problem is not None:
            return f"tools[{position}] ({item['name']}) has an invalid schema: {problem}"
        tools[item["name"]] = schema
    return tools


def read_reference(reference: Any, tools_field: Any) -> Reference | str:
    raw_calls = reference
    raw_tools = tools_field
    if isinstance(reference, dict) and ("calls" in reference or "tool_calls" in reference):
        raw_calls = reference.get("calls", reference.get("tool_calls"))
        raw_tools = reference.get("tools", tools_field)
    elif isinstance(reference, dict) and "ground_truth" in reference:
        # A BFCL row: its possible answers, and its "function" declarations.
        raw_calls = reference["ground_truth"]
        raw_tools = reference.get("function", reference.get("tools", tools_field))
    if isinstance(raw_calls, str):
        raw_calls, problem = loads(raw_calls)
        if problem:
            return f"the reference is a string but {problem}"
    if isinstance(raw_calls, dict):
        raw_calls = [raw_calls]
    if not isinstance(raw_calls, list):
        return (
            "the reference must be a call, a list of calls, or {'calls': [...], 'tools': [...]}; "
            f"got {type(raw_calls).__name__}"
        )
    options: list[OptionCall] | None = None
    calls: list[ToolCall] = []
    if raw_calls and all(is_bfcl_form(item) for item in raw_calls):
        found_options = bfcl_calls(raw_calls)
        if isinstance(found_options, str):
            return found_options
        options = found_options
        raw_calls = []
        calls = [ToolCall(option.name) for option in options]
    for position, item in enumerate(raw_calls):
        call = call_from(item, strict_keys=False)
        if isinstance(call, str):
            return f"reference call {position}: {call}"
        calls.append(call)
    tools = None
    if raw_tools is not None:
        found = _declared_tools(raw_tools)
        if isinstance(found, str):
            return found
        tools = found
    return Reference(calls, tools, options)


def check_reference(reference: Any) -> str | None:
    found = read_reference(reference, None)
    return found if isinstance(found, str) else None
