"""References in BFCL's possible-answer form, and the value rules that go with them.

The Berkeley Function Calling Leaderboard writes the expected calls as
``[{"func": {"arg": [option, option, ...]}}]``: each argument lists every acceptable value, and
``""`` among them means the argument may be left out. Its tool declarations use Python type
names (``dict``, ``float``, ``tuple``, ``any``) where JSON Schema has ``object``, ``number`` and
``array``. This module reads both, and scores one predicted call against one expected call
the way BFCL's AST checker does: strings compared after removing spaces and ``,./-_*^`` and
lower-casing; an ``integer`` argument does not accept ``5.0``, a ``float`` one accepts ``5``.

Example:
    >>> expected = bfcl_calls([{"area": {"base": [10], "unit": ["cm", ""]}}])
    >>> expected[0].name, expected[0].options
    ('area', {'base': [10], 'unit': ['cm', '']})
    >>> matches(10.0, 10, integer=True, rule="typed", fold=True)
    False
    >>> matches("Cm.", "cm", integer=False, rule="typed", fold=True)
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "OPTIONAL",
    "NumberRule",
    "OptionCall",
    "bfcl_calls",
    "declared_type",
    "integer_argument",
    "is_bfcl_form",
    "json_schema_of",
    "matches",
]

NumberRule = Literal["by_value", "typed"]
"""``by_value``: ``5 == 5.0``. ``typed``: an integer argument rejects ``5.0``; a float one
accepts ``5`` (BFCL's rule for Python)."""

OPTIONAL: Final = ""
"""BFCL's marker among an argument's options: the argument may be left out."""
_STANDARDIZE: Final = re.compile(r"[ ,./\-_*^]")
# BFCL's Python type names that are not JSON Schema types.
_TYPE_NAMES: Final = {"dict": "object", "float": "number", "tuple": "array"}


@dataclass(frozen=True, slots=True)
class OptionCall:
    """An expected call whose arguments each list their acceptable values."""

    name: str
    options: dict[str, list[Any]]


def is_bfcl_form(item: Any) -> bool:
    """``{"func": {"arg": [...], ...}}``: one key that is not a call key, lists as values."""
    if not isinstance(item, dict) or len(item) != 1:
        return False
    ((name, arguments),) = item.items()
    return (
        name not in ("name", "function", "arguments", "parameters")
        and isinstance(arguments, dict)
        and all(isinstance(options, list) for options in arguments.values())
    )


def bfcl_calls(items: list[Any]) -> list[OptionCall] | str:
    """The expected calls of a BFCL ``ground_truth`` list, or the problem as text."""
    calls: list[OptionCall] = []
    for position, item in enumerate(items):
        if not is_bfcl_form(item):
            return (
                f"reference call {position} is not in BFCL's possible-answer form "
                '{"function": {"argument": [value, ...]}}'
            )
        ((name, arguments),) = item.items()
        for argument, options in arguments.items():
            if not options:
                return f"reference call {position} ({name}): {argument!r} lists no value"
        calls.append(OptionCall(str(name), {str(k): list(v) for k, v in arguments.items()}))
    return calls


def json_schema_of(schema: Any) -> Any:
    """A tool's parameters as JSON Schema, converting BFCL's declarations.

    A BFCL declaration (top-level ``"type": "dict"``) has ``dict`` -> ``object``, ``float`` ->
    ``number``, ``tuple`` -> ``array`` and ``any`` -> no type; the original type name is kept as
    ``x-bfcl-type`` so the number rule can tell ``integer`` from ``float``. Its ``enum`` lists
    are kept as ``x-bfcl-enum``, not enforced: BFCL's checker ignores them, and its possible
    answers (compared without case or punctuation) are what decides ("MONTHLY" for the enum
    value "monthly"; "gluten free" listed as an answer for the enum value "Gluten Free").
    Any other schema is returned unchanged.
    """
    if not (isinstance(schema, dict) and schema.get("type") == "dict"):
        return schema
    return _converted(schema)


def _converted(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_converted(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _converted(value) for key, value in schema.items()}
    kind = schema.get("type")
    if isinstance(kind, str) and (kind in _TYPE_NAMES or kind == "any"):
        converted["x-bfcl-type"] = kind
        if kind == "any":
            del converted["type"]
        else:
            converted["type"] = _TYPE_NAMES[kind]
    if isinstance(converted.get("enum"), list):
        converted["x-bfcl-enum"] = converted.pop("enum")
    return converted


def _standard(text: str) -> str:
    """BFCL's string standardisation: "April 1, 2024" and "april 1 2024" compare equal."""
    return _STANDARDIZE.sub("", text).lower().replace("'", '"')


def declared_type(schema: dict[str, Any] | None, argument: str) -> str | None:
    """The declared type name of an argument (BFCL's name when it had one), if declared."""
    if not schema:
        return None
    declared = schema.get("properties", {}).get(argument)
    if not isinstance(declared, dict):
        return None
    kind = declared.get("x-bfcl-type", declared.get("type"))
    return kind if isinstance(kind, str) else None


def integer_argument(declared: str | None, options: list[Any]) -> bool:
    """Declared ``integer``; or, undeclared, every numeric option is an int."""
    if declared is not None:
        return declared == "integer"
    numbers = [o for o in options if isinstance(o, int | float) and not isinstance(o, bool)]
    return bool(numbers) and all(isinstance(o, int) for o in numbers)


def matches(value: Any, option: Any, integer: bool, rule: NumberRule, fold: bool) -> bool:
    """Whether a predicted value is one acceptable option (recursively for lists and dicts)."""
    if option is None or value is None:
        return option is None and value is None
    if isinstance(option, bool) or isinstance(value, bool):
        return type(value) is type(option) and value == option
    if isinstance(option, int | float) and isinstance(value, int | float):
        if rule == "typed" and integer and isinstance(value, float):
            return False
        return value == option
    if isinstance(option, str) and isinstance(value, str):
        return _standard(value) == _standard(option) if fold else value == option
    if isinstance(option, list) and isinstance(value, list | tuple):
        return len(value) == len(option) and all(
            matches(v, o, integer, rule, fold) for v, o in zip(value, option, strict=True)
        )
    if isinstance(option, dict) and isinstance(value, dict):
        if option and all(isinstance(o, list) for o in option.values()):
            return _matches_options(value, option, rule, fold)  # nested possible answers
        return set(value) == set(option) and all(
            matches(value[k], option[k], integer, rule, fold) for k in option
        )
    return False


def _matches_options(
    value: dict[str, Any], options: dict[str, Any], rule: NumberRule, fold: bool
) -> bool:
    if any(key not in options for key in value):
        return False
    for key, allowed in options.items():
        if key not in value:
            if OPTIONAL not in allowed:
                return False
            continue
        integer = integer_argument(None, allowed)
        if not any(matches(value[key], o, integer, rule, fold) for o in allowed):
            return False
    return True
