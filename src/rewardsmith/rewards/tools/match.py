"""Comparing tool calls: value equality, pair scores, optimal pairing, schema validation.

Example:
    >>> from rewardsmith.rewards.tools.parse import ToolCall
    >>> pair_score(ToolCall("f", {"x": 1, "y": "A"}), ToolCall("f", {"x": 1.0, "y": "a"}), fold=True)
    PairScore(name=1.0, keys=1.0, values=1.0)
    >>> assignment([[0.0, 2.0], [1.0, 0.0]])
    [(1, 0), (0, 1)]
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from rewardsmith.rewards.tools.bfcl import (
    OPTIONAL,
    NumberRule,
    OptionCall,
    declared_type,
    integer_argument,
    matches,
)
from rewardsmith.rewards.tools.parse import ToolCall

__all__ = [
    "PairScore",
    "assignment",
    "option_pair_score",
    "pair_score",
    "schema_errors",
    "values_equal",
]


def _normal(value: Any, fold: bool) -> Any:
    """A comparable form: numbers by value (``1 == 1.0``, never ``True == 1``), strings folded."""
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, int | float):
        number = float(value) if not isinstance(value, int) or abs(value) < 2**53 else value
        return ("n", number)
    if isinstance(value, str):
        return ("s", " ".join(value.casefold().split()) if fold else value)
    if isinstance(value, list):
        return ("l", tuple(_normal(item, fold) for item in value))
    if isinstance(value, dict):
        return ("d", tuple(sorted((str(k), _normal(v, fold)) for k, v in value.items())))
    return ("o", repr(value))


def values_equal(a: Any, b: Any, fold: bool) -> bool:
    try:
        return _normal(a, fold) == _normal(b, fold)
    except RecursionError:
        return False


@dataclass(slots=True)
class PairScore:
    name: float
    keys: float
    values: float
    # Arguments whose value the reference lists as acceptable (BFCL-form references only).
    listed: set[str] = field(default_factory=set, repr=False)


def _typed_mismatch(value: Any, gold: Any, schema: dict[str, Any] | None, key: str) -> bool:
    """``5.0`` given for an integer argument (declared, or undeclared with an int reference)."""
    return (
        isinstance(value, float)
        and isinstance(gold, int)
        and not isinstance(gold, bool)
        and integer_argument(declared_type(schema, key), [gold])
    )


def pair_score(
    predicted: ToolCall,
    gold: ToolCall,
    fold: bool,
    rule: NumberRule = "by_value",
    schema: dict[str, Any] | None = None,
) -> PairScore:
    if predicted.name != gold.name:
        return PairScore(0.0, 0.0, 0.0)
    p_keys, g_keys = set(predicted.arguments), set(gold.arguments)
    union = p_keys | g_keys
    keys = len(p_keys & g_keys) / len(union) if union else 1.0
    if g_keys:
        hits = sum(
            key in predicted.arguments
            and values_equal(predicted.arguments[key], gold.arguments[key], fold)
            and not (
                rule == "typed"
                and _typed_mismatch(predicted.arguments[key], gold.arguments[key], schema, key)
            )
            for key in g_keys
        )
        # Extra keys the reference does not have dilute the value score as in the key score.
        values = hits / len(union)
    else:
        values = 1.0 if not p_keys else 0.0
    return PairScore(1.0, keys, values)


def option_pair_score(
    predicted: ToolCall,
    expected: OptionCall,
    schema: dict[str, Any] | None,
    rule: NumberRule,
    fold: bool,
) -> PairScore:
    """Name, argument-name and value credit of one call against an expected option call.

    Expected argument names are the required ones (no ``""`` option) and the optional ones the
    call gives; argument names are scored by Jaccard as in the exact form, and values are the
    expected arguments given with an acceptable value, over the union of names.
    """
    if predicted.name != expected.name:
        return PairScore(0.0, 0.0, 0.0)
    given = set(predicted.arguments)
    required = {k for k, options in expected.options.items() if OPTIONAL not in options}
    wanted = required | (given & set(expected.options))
    union = given | wanted
    if not union:
        return PairScore(1.0, 1.0, 1.0)
    listed: set[str] = set()
    for argument in wanted & given:
        options = expected.options[argument]
        integer = integer_argument(declared_type(schema, argument), options)
        value = predicted.arguments[argument]
        if any(matches(value, option, integer, rule, fold) for option in options):
            listed.add(argument)
    return PairScore(1.0, len(given & wanted) / len(union), len(listed) / len(union), listed)


def assignment(weights: list[list[float]]) -> list[tuple[int, int]]:
    """Row/column pairs maximising the total weight (Hungarian algorithm, O(n^3))."""
    rows, cols = len(weights), len(weights[0]) if weights else 0
    size = max(rows, cols)
    if size == 0:
        return []
    # Minimise cost = -weight on a square matrix padded with zeros.
    cost = [
        [-weights[r][c] if r < rows and c < cols else 0.0 for c in range(size)] for r in range(size)
    ]
    u = [0.0] * (size + 1)
    v = [0.0] * (size + 1)
    match = [0] * (size + 1)  # match[column] = row, 1-based
    way = [0] * (size + 1)
    for row in range(1, size + 1):
        match[0] = row
        column0 = 0
        best = [math.inf] * (size + 1)
        used = [False] * (size + 1)
        while True:
            used[column0] = True
            row0, delta, column1 = match[column0], math.inf, 0
            for column in range(1, size + 1):
                if used[column]:
                    continue
                current = cost[row0 - 1][column - 1] - u[row0] - v[column]
                if current < best[column]:
                    best[column], way[column] = current, column0
                if best[column] < delta:
                    delta, column1 = best[column], column
            for column in range(size + 1):
                if used[column]:
                    u[match[column]] += delta
                    v[column] -= delta
                else:
                    best[column] -= delta
            column0 = column1
            if match[column0] == 0:
                break
        while column0:
            column1 = way[column0]
            match[column0] = match[column1]
            column0 = column1
    return [
        (match[c] - 1, c - 1)
        for c in range(1, size + 1)
        if match[c] and match[c] - 1 < rows and c - 1 < cols
    ]


def schema_errors(
    calls: list[ToolCall],
    tools: dict[str, dict[str, Any]],
    listed: dict[int, set[str]] | None = None,
) -> list[str]:
    """The first schema error of each call whose arguments break its tool's declaration.

    ``listed`` maps a call's index to arguments whose value the reference lists as acceptable:
    their errors are dropped, because a reference that names a value outranks a declaration
    that contradicts it (BFCL lists ``True`` for a ``string`` argument, ``None`` for a number).
    """
    errors: list[str] = []
    for index, call in enumerate(calls):
        schema = tools.get(call.name)
        if schema is None:
            errors.append(f"{call.name[:60]!r} is not a declared tool")
            continue
        validator = _validator(json.dumps(schema, sort_keys=True))
        exempt = listed.get(index, set()) if listed else set()
        try:
            error = jsonschema.exceptions.best_match(
                e
                for e in validator.iter_errors(call.arguments)
                if not (e.absolute_path and e.absolute_path[0] in exempt)
            )
        except RecursionError:
            errors.append(f"arguments of {call.name[:60]!r} nested too deeply")
            continue
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "arguments"
            errors.append(f"{call.name[:60]}: at {where}: {error.message[:200]}")
    return errors


@functools.lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    return jsonschema.validators.validator_for(schema)(schema)
