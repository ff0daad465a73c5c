"""rewardsmith's ``tools`` reward against BFCL's AST checker, side by side, on mutated BFCL calls.

Usage:
    python bench/bfcl_parity.py [--categories simple_python,multiple,parallel] [--show N]

For every item of BFCL v4's simple (Python), multiple and parallel categories (data committed
under ``tests/rewards/tools/data/`` with its license), candidate model outputs are built from
the item's possible answers, then mutated the ways models go wrong or vary: the first or the last
acceptable value of each argument, optional arguments left out, ``5`` written ``5.0`` and
``5.0`` written ``5``, strings re-cased and re-punctuated or changed, a number sent as a string,
a required argument dropped, an unexpected argument added, a wrong function name, calls
reordered, dropped or repeated. The mutations are deterministic (no randomness).

Each candidate is checked by BFCL's own AST checker (``bfcl_eval.eval_checker.ast_eval``,
PyPI ``bfcl-eval``, language Python, the item's category) and by the ``tools`` reward with
the BFCL row as reference (``{"ground_truth": ..., "function": ...}``) in ``exact`` mode; a
candidate "passes" rewardsmith when the value is 1.0. It prints the agreement per category and
mutation, and the first ``--show`` disagreements.

bfcl-eval pins old versions of numpy, networkx and filelock, so install it without its
dependencies: ``pip install --no-deps bfcl-eval==2026.3.23``. Its AST checker needs none of
them; importing it would load every model handler through ``bfcl_eval.constants.model_config``
(API clients for a dozen vendors), which this bench replaces by a stub: that table only says
whether a model's API writes "." in function names as "_", and this bench never does.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import os
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "tests" / "rewards" / "tools" / "data"
CATEGORIES = ("simple_python", "multiple", "parallel")

Call = dict[str, dict[str, Any]]  # BFCL's decoded model output: {"function": {"arg": value}}


def bfcl_checker() -> tuple[Any, Any]:
    """BFCL's ``ast_checker`` and ``Language``, imported without the model handlers."""
    stub = types.ModuleType("bfcl_eval.constants.model_config")
    stub.MODEL_CONFIG_MAPPING = collections.defaultdict(  # type: ignore[attr-defined]
        lambda: types.SimpleNamespace(underscore_to_dot=False)
    )
    sys.modules.setdefault("bfcl_eval.constants.model_config", stub)
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    return ast_checker, Language


def load_items(category: str) -> list[dict[str, Any]]:
    path = DATA / f"bfcl_v4_{category}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


# -- candidates ------------------------------------------------------------------------------


def _values(options: list[Any]) -> list[Any]:
    return [option for option in options if option != ""]


def _call(answer: dict[str, Any], pick: int, optional: bool) -> Call:
    """One call from a possible answer: option ``pick`` (0 first, -1 last) of each argument."""
    ((name, arguments),) = answer.items()
    chosen: dict[str, Any] = {}
    for argument, options in arguments.items():
        values = _values(options)
        if not values or ("" in options and not optional):
            continue
        chosen[argument] = copy.deepcopy(values[pick])
    return {name: chosen}


def _first_argument(calls: list[Call], kind: type | tuple[type, ...]) -> tuple[int, str] | None:
    for index, call in enumerate(calls):
        ((_, arguments),) = call.items()
        for argument, value in arguments.items():
            if isinstance(value, kind) and not isinstance(value, bool):
                return index, argument
    return None


def _with(calls: list[Call], index: int, argument: str, value: Any) -> list[Call]:
    changed = copy.deepcopy(calls)
    ((_, arguments),) = changed[index].items()
    arguments[argument] = value
    return changed


def candidates(item: dict[str, Any]) -> Iterator[tuple[str, list[Call]]]:
    """(mutation name, model output) pairs for one BFCL item."""
    answers = item["ground_truth"]
    base = [_call(answer, 0, optional=True) for answer in answers]
    yield "first_values", base
    yield "last_values", [_call(answer, -1, optional=True) for answer in answers]
    yield "required_only", [_call(answer, 0, optional=False) for answer in answers]
    found = _first_argument(base, int)
    if found is not None:
        index, argument = found
        value = base[index][next(iter(base[index]))][argument]
        yield "int_as_float", _with(base, index, argument, float(value))
        yield "number_as_string", _with(base, index, argument, str(value))
        yield "number_changed", _with(base, index, argument, value + 1)
    found = _first_argument(base, float)
    if found is not None:
        index, argument = found
        value = base[index][next(iter(base[index]))][argument]
        if float(value).is_integer():
            yield "float_as_int", _with(base, index, argument, int(value))
    found = _first_argument(base, str)
    if found is not None:
        index, argument = found
        value = base[index][next(iter(base[index]))][argument]
        yield "string_recased", _with(base, index, argument, value.upper().replace(" ", "-"))
        yield "string_changed", _with(base, index, argument, value + " extra")
    found = _first_argument(base, (list, bool))
    if found is not None:
        index, argument = found
        value = base[index][next(iter(base[index]))][argument]
        if isinstance(value, list) and len(value) > 1:
            yield "list_reversed", _with(base, index, argument, list(reversed(value)))
    for index, call in enumerate(base):
        ((name, arguments),) = call.items()
        if arguments:
            dropped = copy.deepcopy(base)
            del dropped[index][name][next(iter(arguments))]
            yield "first_argument_dropped", dropped
            break
    yield "unexpected_argument", _with(base, 0, "unexpected_argument", 1)
    renamed = copy.deepcopy(base)
    ((name, arguments),) = renamed[0].items()
    renamed[0] = {name + "_v2": arguments}
    yield "wrong_name", renamed
    if len(base) > 1:
        yield "calls_reversed", list(reversed(base))
        yield "call_dropped", base[:-1]
    yield "call_repeated", [*base, copy.deepcopy(base[0])]


# -- both checkers ----------------------------------------------------------------------------


def bfcl_verdict(
    checker: Any, language: Any, item: dict[str, Any], output: list[Call], category: str
) -> bool:
    result = checker(
        item["function"], output, item["ground_truth"], language.PYTHON, category, "bench"
    )
    return bool(result["valid"])


def our_verdict(item: dict[str, Any], output: list[Call]) -> tuple[bool, str]:
    from rewardsmith import Sample
    from rewardsmith.rewards.tools import tool_calls

    completion = json.dumps(
        [
            {"name": name, "arguments": arguments}
            for call in output
            for name, arguments in call.items()
        ]
    )
    reference = {"ground_truth": item["ground_truth"], "function": item["function"]}
    score = tool_calls(
        Sample(id=item["id"], completion=completion, reference=reference), mode="exact"
    )
    if score.status != "ok":
        return False, f"{score.status}: {score.reason}"
    return score.value == 1.0, score.reason


def compare(categories: list[str]) -> dict[str, Any]:
    checker, language = bfcl_checker()
    rows = []
    bfcl_s = ours_s = 0.0
    for category in categories:
        for item in load_items(category):
            for mutation, output in candidates(item):
                start = time.perf_counter()
                theirs = bfcl_verdict(checker, language, item, output, category)
                middle = time.perf_counter()
                mine, reason = our_verdict(item, output)
                ours_s += time.perf_counter() - middle
                bfcl_s += middle - start
                rows.append(
                    {
                        "category": category,
                        "id": item["id"],
                        "mutation": mutation,
                        "bfcl": theirs,
                        "rewardsmith": mine,
                        "reason": reason,
                        "output": output,
                    }
                )
    return {"rows": rows, "bfcl_s": bfcl_s, "ours_s": ours_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--categories", default=",".join(CATEGORIES))
    parser.add_argument("--show", type=int, default=15, help="disagreements to print")
    args = parser.parse_args()
    result = compare(args.categories.split(","))
    rows = result["rows"]
    agree = [row for row in rows if row["bfcl"] == row["rewardsmith"]]
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{len(rows)} candidate outputs: agreement {len(agree)}/{len(rows)} "
        f"({100 * len(agree) / len(rows):.2f}%); BFCL accepts {sum(r['bfcl'] for r in rows)}, "
        f"rewardsmith accepts {sum(r['rewardsmith'] for r in rows)}"
    )
    by_category: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    by_mutation: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for row in rows:
        same = int(row["bfcl"] == row["rewardsmith"])
        for table, key in ((by_category, row["category"]), (by_mutation, row["mutation"])):
            table[key][0] += same
            table[key][1] += 1
    for table in (by_category, by_mutation):
        print("  " + ", ".join(f"{k} {a}/{n}" for k, (a, n) in sorted(table.items())))
    print(
        f"time per candidate: BFCL {1e6 * result['bfcl_s'] / len(rows):.0f} µs, rewardsmith "
        f"{1e6 * result['ours_s'] / len(rows):.0f} µs (ratio {result['ours_s'] / result['bfcl_s']:.1f})"
    )
    for row in [row for row in rows if row["bfcl"] != row["rewardsmith"]][: args.show]:
        print(
            f"  {row['id']} {row['mutation']}: BFCL {row['bfcl']}, rewardsmith "
            f"{row['rewardsmith']} ({row['reason'][:120]}) {json.dumps(row['output'])[:200]}"
        )


if __name__ == "__main__":
    main()
