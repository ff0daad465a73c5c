"""The plain-data encoding between the program and the grader."""

from __future__ import annotations

import math

import pytest

from rewardsmith.sandbox import _wire


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(10**40),
        1.5,
        "",
        "é\n",
        b"\x00\xff",
        [1, [2]],
        (1, (2,)),
        {"a": 1, 2: (3,)},
        {1, 2},
        frozenset({"x"}),
        1 + 2j,
        float("inf"),
        [(), {}],
    ],
)
def test_round_trip_keeps_value_and_type(value):
    back = _wire.loads(_wire.dumps(value))
    assert back == value and type(back) is type(value)


def test_nan_round_trips_as_nan():
    assert math.isnan(_wire.loads(_wire.dumps(float("nan"))))


def test_subclasses_cross_as_their_base_data():
    class Lying(int):
        def __eq__(self, other):
            return True

        __hash__ = int.__hash__

    class Listy(list):
        def __iter__(self):
            return iter([1, 2, 3])

    back = _wire.loads(_wire.dumps([Lying(7), Listy([9])]))
    assert back == [7, [9]] and type(back[0]) is int and type(back[1]) is list


def test_objects_are_refused():
    with pytest.raises(_wire.PlainDataError):
        _wire.dumps(object())
    with pytest.raises(_wire.PlainDataError):
        _wire.dumps(lambda: 0)


@pytest.mark.parametrize(
    "text",
    [
        '{"x": 1}',
        '{"t": 1}',
        '{"d": [[1]]}',
        '{"s": [[1]]}',
        '{"f": "huge"}',
        '{"a": 1, "b": 2}',
        "[" * 5000 + "]" * 5000,
        "not json",
        '{"c": [1, 2]}',
    ],
)
def test_malformed_encodings_are_rejected(text):
    with pytest.raises(_wire.PlainDataError):
        _wire.loads(text)


def test_exact_numbers_cross_by_value():
    import decimal
    import fractions

    for value in (
        math.factorial(2000),  # past the 4300-digit limit of int <-> str
        -(math.factorial(3000)),
        fractions.Fraction(-7, 3),
        decimal.Decimal("0.1"),
        decimal.Decimal("-1E+999999"),
    ):
        back = _wire.loads(_wire.dumps(value))
        assert back == value and type(back) is type(value)


@pytest.mark.parametrize(
    "text",
    [
        '{"q": [1, 0]}',  # zero denominator
        '{"q": [1.5, 2]}',
        '{"q": [{"i": "' + "f" * 20_000 + '"}, 1]}',  # gcd on huge operands: refused
        '{"m": "not a number"}',
        '{"i": "xyz"}',
        '{"i": "' + "1" * 200_000 + '"}',  # over the decoded text limit
    ],
)
def test_malformed_exact_numbers_are_wire_errors(text: str):
    with pytest.raises(_wire.PlainDataError):
        _wire.loads(text)
