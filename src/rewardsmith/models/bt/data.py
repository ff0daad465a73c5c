"""Preference pairs: reading, validating and splitting them.

A pair file is JSONL (optionally ``.gz``) or Parquet with one pair per row: ``prompt``,
``chosen``, ``rejected``, and optionally ``margin`` (the chosen answer is better by at least
this much), ``p_chosen`` (a soft label: the probability that ``chosen`` is preferred), ``subset``
(reported separately in evaluations) and ``id``. Rows without ``prompt`` whose ``chosen`` and
``rejected`` are whole HH-RLHF transcripts (``\\n\\nHuman: ... \\n\\nAssistant: ...``) are split
at the last assistant turn into prompt and response.

A bad row is an error naming the file, the row and the field: a reward model trained on silently
skipped or misread rows is wrong in ways nobody sees.

Example:
    >>> pair = pair_from_row({"prompt": "2+2?", "chosen": "4", "rejected": "5"}, 0)
    >>> pair.chosen, pair.label
    ('4', 1.0)
    >>> hh = "\\n\\nHuman: hi\\n\\nAssistant: "
    >>> pair_from_row({"chosen": hh + "hello!", "rejected": hh + "go away"}, 1).prompt
    '\\n\\nHuman: hi\\n\\nAssistant:'
"""

from __future__ import annotations

import gzip
import json
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardsmith.core.errors import InputError

__all__ = [
    "PreferencePair",
    "conversation_text",
    "holdout_split",
    "load_pairs",
    "pair_from_row",
    "random_split",
]

_ASSISTANT = "\n\nAssistant:"


@dataclass(frozen=True)
class PreferencePair:
    """One preference: ``chosen`` is preferred to ``rejected`` as an answer to ``prompt``."""

    prompt: str
    chosen: str
    rejected: str
    margin: float = 0.0
    """The chosen answer should score higher by at least this much (BT loss with margin)."""
    p_chosen: float | None = None
    """A soft label in [0, 1]: the probability that ``chosen`` is preferred; None when absent."""
    subset: str = ""
    id: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> float:
        """The training target: ``p_chosen`` when given, else 1.0."""
        return 1.0 if self.p_chosen is None else self.p_chosen


def _text(row: dict[str, Any], name: str, index: int, where: str) -> str:
    value = row.get(name)
    if value is None:
        raise InputError(f"{where}row {index}: field {name!r} is missing")
    if not isinstance(value, str):
        raise InputError(
            f"{where}row {index}: field {name!r} must be a string, got {type(value).__name__}"
        )
    return value


def _number(row: dict[str, Any], name: str, index: int, where: str) -> float | None:
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(
            f"{where}row {index}: field {name!r} must be a finite number, got {value!r}"
        )
    return float(value)


def _split_transcript(chosen: str, rejected: str) -> tuple[str, str, str] | None:
    """Prompt and the two final responses of HH-RLHF style transcripts that share a history.

    The prompt is the shared history up to its last ``\n\nAssistant:``, so a transcript whose
    answer itself runs on into more turns (a few HH-RLHF rows do) still splits where the two
    transcripts part.
    """
    shared = 0
    limit = min(len(chosen), len(rejected))
    while shared < limit and chosen[shared] == rejected[shared]:
        shared += 1
    cut = chosen.rfind(_ASSISTANT, 0, shared)
    if cut < 0 or cut + len(_ASSISTANT) > shared:
        return None
    prompt = chosen[: cut + len(_ASSISTANT)]
    return prompt, chosen[len(prompt) :].strip(), rejected[len(prompt) :].strip()


def pair_from_row(row: object, index: int, *, source: str = "") -> PreferencePair:
    """Validate one row; raises `InputError` naming the row and the field."""
    where = f"{source}: " if source else ""
    if not isinstance(row, dict):
        raise InputError(f"{where}row {index}: expected a JSON object, got {type(row).__name__}")
    chosen = _text(row, "chosen", index, where)
    rejected = _text(row, "rejected", index, where)
    if row.get("prompt") is None:
        split = _split_transcript(chosen, rejected)
        if split is None:
            raise InputError(
                f"{where}row {index}: field 'prompt' is missing and 'chosen'/'rejected' are not "
                "transcripts sharing a history up to a final '\\n\\nAssistant:' turn"
            )
        prompt, chosen, rejected = split
    else:
        prompt = _text(row, "prompt", index, where)
    margin = _number(row, "margin", index, where)
    if margin is not None and margin < 0:
        raise InputError(f"{where}row {index}: field 'margin' must be >= 0, got {margin}")
    p_chosen = _number(row, "p_chosen", index, where)
    if p_chosen is not None and not 0.0 <= p_chosen <= 1.0:
        raise InputError(f"{where}row {index}: field 'p_chosen' must be in [0, 1], got {p_chosen}")
    subset = row.get("subset", "")
    if not isinstance(subset, str):
        raise InputError(f"{where}row {index}: field 'subset' must be a string")
    raw_id = row.get("id", f"pair-{index}")
    known = {"prompt", "chosen", "rejected", "margin", "p_chosen", "subset", "id"}
    return PreferencePair(
        prompt=prompt,
        chosen=chosen,
        rejected=rejected,
        margin=margin or 0.0,
        p_chosen=p_chosen,
        subset=subset,
        id=str(raw_id),
        extra={k: v for k, v in row.items() if k not in known},
    )


def _rows(path: Path) -> Iterable[tuple[int, Any]]:
    name = path.name.lower()
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        yield from enumerate(pq.read_table(path).to_pylist())
        return
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        for line_no, line in enumerate(handle):
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line)
            except ValueError as exc:
                raise InputError(
                    f"{path}: row {line_no} (line {line_no + 1}) is not JSON: {exc}"
                ) from None


def load_pairs(path: str | Path, *, limit: int | None = None) -> list[PreferencePair]:
    """Read a pair file (``.jsonl``, ``.jsonl.gz``, ``.parquet``); bad rows raise `InputError`."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    pairs: list[PreferencePair] = []
    for index, row in _rows(path):
        pairs.append(pair_from_row(row, index, source=str(path)))
        if limit is not None and len(pairs) >= limit:
            break
    if not pairs:
        raise InputError(f"{path}: no pairs in the file")
    return pairs


def random_split(
    pairs: Sequence[PreferencePair], fraction: float, seed: int = 0
) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """(train, held-out): a random ``fraction`` of the pairs held out."""
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    cut = round(len(pairs) * fraction)
    held = set(order[:cut])
    return (
        [p for i, p in enumerate(pairs) if i not in held],
        [p for i, p in enumerate(pairs) if i in held],
    )


def holdout_split(
    pairs: Sequence[PreferencePair], fields: Sequence[str], fraction: float, seed: int = 0
) -> tuple[list[PreferencePair], list[PreferencePair], list[str]]:
    """(train, held-out, held-out keys): whole groups held out, so evaluation sees none of them.

    A pair's group is the set of its values in ``fields`` (read from the row's extra fields),
    e.g. ``["chosen_model", "rejected_model"]``: a random ``fraction`` of the distinct groups is
    held out. With AlpacaEval pairs (every pair is one model against the same reference model)
    this holds out every pair of the chosen models, which is "pairs from models it did not train
    on".

    Raises:
        InputError: a pair lacks one of the fields.
    """

    def key(pair: PreferencePair) -> str:
        values = []
        for name in fields:
            if name not in pair.extra:
                raise InputError(f"pair {pair.id!r}: field {name!r} (for --holdout-by) is missing")
            values.append(str(pair.extra[name]))
        return " vs ".join(sorted(set(values)))

    keys = sorted({key(pair) for pair in pairs})
    random.Random(seed).shuffle(keys)
    held = set(keys[: max(1, round(len(keys) * fraction))])
    train = [p for p in pairs if key(p) not in held]
    test = [p for p in pairs if key(p) in held]
    return train, test, sorted(held)


def conversation_text(prompt: str | list[dict[str, Any]]) -> str:
    """A prompt as one string: text as is, chat messages as ``role: content`` lines.

    Example:
        >>> conversation_text([{"role": "system", "content": "Be brief."},
        ...                    {"role": "user", "content": "Hi"}])
        'system: Be brief.\\nuser: Hi'
    """
    if isinstance(prompt, str):
        return prompt
    from rewardsmith.core.sample import message_text

    return "\n".join(f"{m.get('role', '')}: {message_text(m)}" for m in prompt)
