from __future__ import annotations

from pathlib import Path

import pytest

import rewardsmith
from rewardsmith import SpecError, load_spec

GOOD = """
name = "qa"

[[terms]]
name = "correct"
use = "exact_match"
weight = 1.0
params = { timeout_s = 5 }

[[terms]]
name = "brief"
use = "test.spec.brief"
weight = 0.2
gate = "correct"

[on_status]
timeout = "zero"
error = "penalty:-1"
"""


@rewardsmith.reward("test.spec.brief", inline=True)
def brief(sample: rewardsmith.Sample, *, max_words: int = 10) -> float:
    """1.0 for short answers."""
    return float(len(sample.completion_text.split()) <= max_words)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def test_good_toml_spec_loads(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, GOOD))
    assert [t.name for t in spec.terms] == ["correct", "brief"]
    assert spec.on_status.error == "penalty:-1"
    assert spec.on_status.parse_error == "zero"  # default
    assert len(spec.content_hash()) == 16


def test_spec_hash_ignores_layout_but_not_values(tmp_path: Path) -> None:
    first = load_spec(_write(tmp_path, GOOD)).content_hash()
    assert load_spec(_write(tmp_path, "# comment\n" + GOOD)).content_hash() == first
    assert load_spec(_write(tmp_path, GOOD.replace("0.2", "0.3"))).content_hash() != first


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (
            ("weight = 0.2", "wieght = 0.2"),
            ["terms[1] ('brief').wieght", "unknown key", "did you mean 'weight'"],
        ),
        (
            ('use = "exact_match"', 'use = "exact_mach"'),
            ["terms[0] ('correct').use", "Did you mean 'exact_match'"],
        ),
        (("weight = 0.2", 'weight = "heavy"'), ["terms[1] ('brief').weight", "valid number"]),
        (
            ('gate = "correct"', 'gate = "corect"'),
            ["gate", "no term named 'corect'", "did you mean 'correct'"],
        ),
        (
            ('timeout = "zero"', 'timeout = "ignore"'),
            ["on_status.timeout", "'zero', 'mask', 'raise' or 'penalty:<number>'"],
        ),
        (('timeout = "zero"', 'timeot = "zero"'), ["on_status.timeot", "did you mean 'timeout'"]),
        (("timeout_s = 5", "timeout_s = -1"), ["params.timeout_s", "positive number"]),
        (('name = "qa"', 'name = "qa"\nterms_extra = 1'), ["terms_extra", "unknown key"]),
    ],
)
def test_bad_specs_name_file_key_and_fix(
    tmp_path: Path, change: tuple[str, str], fragments: list[str]
) -> None:
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


def test_reward_params_are_checked_against_the_signature(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"unknown param 'max_word' .*did you mean 'max_words'"):
        load_spec({"terms": [{"name": "b", "use": "test.spec.brief", "params": {"max_word": 3}}]})
    with pytest.raises(SpecError, match=r"params: max_words: Input should be a valid integer"):
        load_spec(
            {"terms": [{"name": "b", "use": "test.spec.brief", "params": {"max_words": "many"}}]}
        )


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"invalid TOML: .*line 3"):
        load_spec(_write(tmp_path, 'name = "x"\n[[terms]]\nname = \n'))


def test_duplicate_term_names_and_empty_terms_are_rejected() -> None:
    with pytest.raises(SpecError, match="used twice"):
        load_spec(
            {"terms": [{"name": "a", "use": "exact_match"}, {"name": "a", "use": "exact_match"}]}
        )
    with pytest.raises(SpecError, match="terms"):
        load_spec({"terms": []})


def test_missing_spec_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read spec file"):
        load_spec(tmp_path / "absent.toml")


def test_reward_name_is_a_one_term_spec() -> None:
    spec = load_spec("exact_match")
    assert [(t.name, t.use, t.weight) for t in spec.terms] == [("exact_match", "exact_match", 1.0)]
