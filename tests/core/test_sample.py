from __future__ import annotations

import pytest

from rewardsmith import Sample
from rewardsmith.core.sample import SampleError


def test_row_becomes_sample_with_extra_fields_kept() -> None:
    sample = Sample.from_row(
        {
            "id": 3,
            "prompt": "2+2?",
            "completion": "4",
            "reference": {"answer": "4"},
            "task": "math",
            "group": 9,
            "source": "gsm8k",
        },
        index=0,
    )
    assert sample.id == "3"
    assert sample.group == "9"
    assert sample.reference == {"answer": "4"}
    assert sample.extra == {"source": "gsm8k"}
    assert sample.get("source") == "gsm8k"
    assert sample.get("task") == "math"


def test_missing_id_is_generated_from_position() -> None:
    assert Sample.from_row({"completion": "x"}, index=41).id == "row-41"


def test_chat_completion_text_is_last_assistant_message() -> None:
    sample = Sample.from_row(
        {
            "prompt": [{"role": "user", "content": "hi"}],
            "completion": [
                {"role": "assistant", "content": "first"},
                {"role": "tool", "content": "tool output"},
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "fin"}, {"type": "text", "text": "al"}],
                },
            ],
        },
        index=0,
    )
    assert sample.completion_text == "final"
    assert sample.prompt_text == "hi"


@pytest.mark.parametrize(
    ("row", "field", "fragment"),
    [
        ({"prompt": "p"}, "completion", "missing"),
        ({"completion": 5}, "completion", "got int"),
        ({"completion": [{"content": "x"}]}, "completion", "no string 'role'"),
        ({"completion": ["text"]}, "completion", "message 0 is str"),
        ({"completion": [{"role": "assistant", "content": 3}]}, "completion", "'content' is int"),
        ({"completion": "x", "id": [1]}, "id", "expected a string or integer"),
        ({"completion": "x", "task": 3}, "task", "expected a string"),
        ({"completion": "x", "group": 1.5}, "group", "expected a string or integer"),
        ({"completion": "x", "prompt": 7}, "prompt", "got int"),
        (["not", "a", "dict"], "<row>", "expected a JSON object"),
    ],
)
def test_bad_rows_name_the_field(row: object, field: str, fragment: str) -> None:
    with pytest.raises(SampleError) as caught:
        Sample.from_row(row, index=0)
    assert caught.value.field == field
    assert fragment in str(caught.value)


def test_get_reaches_the_extra_dict_and_its_keys() -> None:
    sample = Sample.from_row({"completion": "x", "correct": 1}, index=0)
    assert sample.get("extra") == {"correct": 1}
    assert sample.get("correct") == 1
