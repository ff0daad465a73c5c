"""Cache keys follow a value's content: large arrays that differ get different keys."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from rewardsmith import Sample, reward
from rewardsmith.engine.cache import cache_key


@reward("test.frames_sum", reads=("extra",))
def frames_sum(sample: Sample) -> float:
    return float(sum(frame.sum() for frame in sample.extra["frames"]))


def key(frames: list[object]) -> bytes:
    return cache_key(frames_sum, {}, Sample(id="s", completion="c", extra={"frames": frames}))


def test_large_arrays_that_differ_get_different_keys() -> None:
    first = np.zeros((64, 64, 3), dtype=np.uint8)  # 12,288 elements: repr abbreviates it
    second = first.copy()
    second[32, 32, 1] = 1
    assert repr(first) == repr(second)  # what the old key hashed
    assert key([first]) != key([second])
    assert key([first]) == key([first.copy()])


def test_dtype_shape_and_layout_count() -> None:
    flat = np.arange(12, dtype=np.int32)
    assert key([flat]) != key([flat.reshape(3, 4)])
    assert key([flat]) != key([flat.astype(np.int64)])
    assert key([flat.reshape(3, 4).T]) == key([np.ascontiguousarray(flat.reshape(3, 4).T)])
    objects = np.array([{"a": 1}, "x"], dtype=object)
    assert key([objects]) != key([np.array([{"a": 2}, "x"], dtype=object)])


def test_the_cache_module_does_not_import_numpy() -> None:
    code = "import sys, rewardsmith.engine.cache; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@reward("test.reads_fields", reads=("completion", "reference"))
def reads_fields(sample: Sample) -> float:
    return 1.0


@reward("test.reads_extra_key", reads=("completion", "hint"))
def reads_extra_key(sample: Sample) -> float:
    return 1.0


def test_keys_follow_exactly_the_fields_a_reward_reads() -> None:
    for scorer in (reads_fields, reads_extra_key):  # Sample attributes, and a key of extra
        base = Sample(id="a", completion="x", reference="1", extra={"hint": "h"})
        same = Sample(id="b", completion="x", reference="1", prompt="p", extra={"hint": "h"})
        assert cache_key(scorer, {}, base) == cache_key(scorer, {}, same)
        assert cache_key(scorer, {}, base) != cache_key(scorer, {"n": 1}, base)
        swapped = Sample(id="a", completion="1", reference="x", extra={"hint": "h"})
        assert cache_key(scorer, {}, base) != cache_key(scorer, {}, swapped)
    other_hint = Sample(id="a", completion="x", reference="1", extra={"hint": "g"})
    base = Sample(id="a", completion="x", reference="1", extra={"hint": "h"})
    assert cache_key(reads_extra_key, {}, base) != cache_key(reads_extra_key, {}, other_hint)
    assert cache_key(reads_fields, {}, base) == cache_key(reads_fields, {}, other_hint)
