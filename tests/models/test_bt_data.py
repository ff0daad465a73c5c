"""Preference-pair files: validation names the row and the field; splits keep groups apart."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from rewardsmith import InputError
from rewardsmith.models.bt.data import holdout_split, load_pairs, pair_from_row, random_split


def write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


GOOD = {"prompt": "p", "chosen": "a", "rejected": "b"}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"prompt": "p", "chosen": "a"}, "row 1: field 'rejected' is missing"),
        ({"prompt": "p", "chosen": 3, "rejected": "b"}, "row 1: field 'chosen' must be a string"),
        ({**GOOD, "p_chosen": 1.5}, r"row 1: field 'p_chosen' must be in \[0, 1\]"),
        ({**GOOD, "margin": -1}, "row 1: field 'margin' must be >= 0"),
        ({**GOOD, "margin": "big"}, "row 1: field 'margin' must be a finite number"),
        ({"chosen": "a", "rejected": "b"}, "row 1: field 'prompt' is missing"),
        ([1, 2], "row 1: expected a JSON object"),
    ],
)
def test_bad_rows_are_errors_naming_row_and_field(
    tmp_path: Path, bad: object, message: str
) -> None:
    path = write(tmp_path / "pairs.jsonl", [GOOD, bad])
    with pytest.raises(InputError, match=message):
        load_pairs(path)


def test_a_line_that_is_not_json_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(GOOD) + "\n{oops\n")
    with pytest.raises(InputError, match=r"row 1 \(line 2\) is not JSON"):
        load_pairs(path)


def test_gzip_soft_labels_margins_and_extra_fields(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(json.dumps({**GOOD, "p_chosen": 0.8, "margin": 2, "model": "x"}) + "\n")
    (pair,) = load_pairs(path)
    assert (pair.label, pair.margin, pair.extra) == (0.8, 2.0, {"model": "x"})


def test_hh_transcripts_are_split_at_the_last_assistant_turn() -> None:
    history = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: tell me a joke\n\nAssistant:"
    pair = pair_from_row({"chosen": history + " A pun.", "rejected": history + " No."}, 0)
    assert pair.prompt == history and (pair.chosen, pair.rejected) == ("A pun.", "No.")
    with pytest.raises(InputError, match="sharing a history"):
        pair_from_row({"chosen": history + " A", "rejected": "\n\nHuman: other\n\nAssistant: B"}, 0)


def test_holdout_split_never_trains_on_held_out_models() -> None:
    rows = [
        {**GOOD, "id": i, "chosen_model": "ref", "rejected_model": f"m{i % 10}"} for i in range(100)
    ]
    pairs = [pair_from_row(row, i) for i, row in enumerate(rows)]
    train, test, held = holdout_split(pairs, ["chosen_model", "rejected_model"], 0.3, seed=0)
    assert len(held) == 3 and len(test) == 30 and len(train) == 70
    held_models = {p.extra["rejected_model"] for p in test}
    assert held_models.isdisjoint({p.extra["rejected_model"] for p in train})
    with pytest.raises(InputError, match="'judge'"):
        holdout_split(pairs, ["judge"], 0.3)
    train, test = random_split(pairs, 0.2, seed=0)
    assert len(test) == 20 and {p.id for p in train}.isdisjoint({p.id for p in test})
