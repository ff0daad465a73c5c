"""Plain data across the sandbox boundary: a tagged JSON encoding of Python builtins (stdlib only).

The program side encodes what a function returned; the trusted side decodes it into builtin
objects of exact types and never calls a method the program defined. Values are JSON with a few
one-key objects for what JSON lacks::

    None, bool, int, str, list  -> JSON as is
    float                       -> JSON number, or {"f": "nan" | "inf" | "-inf"}
    tuple / set / frozenset     -> {"t": [...]} / {"s": [...]} / {"fs": [...]}
    dict                        -> {"d": [[key, value], ...]}
    bytes / complex             -> {"b": "<hex>"} / {"c": [re, im]}
    int past 4000 digits        -> {"i": "<hex>"} (JSON's decimal form is capped at 4300 digits)
    Fraction / Decimal          -> {"q": [numerator, denominator]} / {"m": "<str>"}

Subclasses of these types are encoded as their base data (read through the base type's own
methods, so an overridden ``__iter__`` or ``__str__`` cannot change what crosses); any other
object is refused. The encoder runs in the program's process and can be patched by it; that is
harmless, because a forged encoding is still only data, compared against expected values the
program never sees.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

__all__ = ["PlainDataError", "decode", "dumps", "encode", "loads"]

MAX_DEPTH = 100
MAX_TEXT = 100_000
"""Longest hex integer or decimal string decoded (bounds the grader's time on one value)."""
MAX_FRACTION_BITS = 1 << 16
"""Largest numerator or denominator: ``Fraction`` reduces by gcd, quadratic in the size."""
_BIG_INT_BITS = 13_000  # about 3900 decimal digits: below CPython's 4300-digit str limit


class PlainDataError(ValueError):
    """A value cannot cross the boundary (not plain data, too deep, or malformed).

    Outside `rewardsmith.RewardsmithError` on purpose: the zygote loads this module by path and
    cannot import rewardsmith. It never leaves `launcher`, which turns it into a result.
    """


def encode(value: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise PlainDataError("value nested deeper than 100 levels")
    if value is None or value is True or value is False:
        return value
    kind = type(value)
    if isinstance(value, bool):  # a bool subclass cannot exist; keep the order explicit anyway
        return bool(value)
    if isinstance(value, int):
        integer = int.__index__(value)
        if integer.bit_length() > _BIG_INT_BITS:
            return {"i": int.__format__(integer, "x")}
        return integer
    if isinstance(value, float):
        number = float.__float__(value)
        if math.isfinite(number):
            return number
        return {"f": "nan" if number != number else ("inf" if number > 0 else "-inf")}
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return {"b": bytes.hex(value)}
    if isinstance(value, complex):
        parts = complex.__complex__(value) if kind is not complex else value
        return {"c": [encode(parts.real, depth + 1), encode(parts.imag, depth + 1)]}
    if isinstance(value, list):
        return [encode(item, depth + 1) for item in list.__iter__(value)]
    if isinstance(value, tuple):
        return {"t": [encode(item, depth + 1) for item in tuple.__iter__(value)]}
    if isinstance(value, dict):
        return {"d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in dict.items(value)]}
    if isinstance(value, frozenset):
        return {"fs": [encode(item, depth + 1) for item in frozenset.__iter__(value)]}
    if isinstance(value, set):
        return {"s": [encode(item, depth + 1) for item in set.__iter__(value)]}
    # Exact numbers from the standard library, looked up without importing them here.
    fractions = sys.modules.get("fractions")
    if fractions is not None and isinstance(value, fractions.Fraction):
        terms = (
            fractions.Fraction.numerator.fget(value),
            fractions.Fraction.denominator.fget(value),
        )
        return {"q": [encode(int.__index__(term), depth + 1) for term in terms]}
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(value, decimal.Decimal):
        return {"m": decimal.Decimal.__str__(value)}
    raise PlainDataError(f"{kind.__name__} is not plain data")


def dumps(value: Any) -> str:
    return json.dumps(encode(value), allow_nan=False, separators=(",", ":"))


def decode(data: Any, depth: int = 0) -> Any:
    """Rebuild builtin values from an encoding; raises `PlainDataError` on anything unexpected."""
    if depth > MAX_DEPTH:
        raise PlainDataError("value nested deeper than 100 levels")
    kind = type(data)
    if data is None or kind is bool or kind is int or kind is float or kind is str:
        return data
    if kind is list:
        return [decode(item, depth + 1) for item in data]
    if kind is not dict or len(data) != 1:
        raise PlainDataError(f"malformed value of type {kind.__name__}")
    ((tag, body),) = data.items()
    try:
        if tag == "f" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "b" and type(body) is str:
            return bytes.fromhex(body)
        if tag == "i" and type(body) is str and len(body) <= MAX_TEXT:
            return int(body, 16)
        if tag == "m" and type(body) is str and len(body) <= MAX_TEXT:
            import decimal

            return decimal.Decimal(body)
        if tag == "q" and type(body) is list and len(body) == 2:
            num, den = (decode(part, depth + 1) for part in body)
            if type(num) is not int or type(den) is not int or den <= 0:
                raise PlainDataError("malformed fraction")
            if max(num.bit_length(), den.bit_length()) > MAX_FRACTION_BITS:
                raise PlainDataError("fraction too large")
            import fractions

            return fractions.Fraction(num, den)
        if tag == "c" and type(body) is list and len(body) == 2:
            real, imag = (decode(part, depth + 1) for part in body)
            if type(real) is not float or type(imag) is not float:
                raise PlainDataError("complex parts must be floats")
            return complex(real, imag)
        if type(body) is not list:
            raise PlainDataError(f"malformed {tag!r} value")
        if tag == "t":
            return tuple(decode(item, depth + 1) for item in body)
        if tag == "s":
            return {decode(item, depth + 1) for item in body}
        if tag == "fs":
            return frozenset(decode(item, depth + 1) for item in body)
        if tag == "d":
            out = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2:
                    raise PlainDataError("malformed dict item")
                out[decode(pair[0], depth + 1)] = decode(pair[1], depth + 1)
            return out
    except (TypeError, ValueError, ArithmeticError) as exc:  # unhashable key; bad number text
        raise PlainDataError(str(exc)) from None
    raise PlainDataError(f"unknown tag {tag!r}")


def loads(text: str | bytes) -> Any:
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PlainDataError(f"not JSON: {str(exc)[:200]}") from None
    return decode(raw)
