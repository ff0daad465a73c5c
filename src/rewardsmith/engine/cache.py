"""Content-hash keys for reward results, and the in-memory cache that holds them.

A key hashes the reward's name, version and defining function, its params, and only the sample
fields the reward declares it reads, so the same completion under another id or prompt is a hit.
Only verdicts that cannot change on a retry are cached: ``timeout`` and ``error`` are not.
"""

from __future__ import annotations

import hashlib
import operator
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

import msgspec

from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import KNOWN_FIELDS, Sample
from rewardsmith.core.score import Score

__all__ = ["CACHEABLE_STATUSES", "ScoreCache", "cache_key", "term_keyer"]

CACHEABLE_STATUSES: Final = frozenset(
    {"ok", "parse_error", "invalid_reference", "not_applicable", "refused"}
)


def _by_content(value: Any) -> Any:
    """msgspec's hook for values it cannot encode: arrays, tensors and images by their dtype,
    shape and bytes. ``repr`` is not a key: numpy abbreviates arrays over 1000 elements
    (``[0 0 0 ... 0 0 0]``), so two different frames got one key, and many reprs hold a memory
    address, which a later object may reuse. numpy, torch and PIL are looked up in
    ``sys.modules``: never imported here, present whenever such a value exists."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray | numpy.generic):
        array = numpy.asarray(value)
        if array.dtype.hasobject:  # bytes would be pointers: hash the objects themselves
            return ["numpy.object", list(array.shape), array.tolist()]
        return ["numpy", array.dtype.str, list(array.shape), array.tobytes()]
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        raw = tensor.reshape(-1).view(torch.uint8).numpy().tobytes()
        return ["torch", str(tensor.dtype), list(tensor.shape), raw]
    image = sys.modules.get("PIL.Image")
    if image is not None and isinstance(value, image.Image):
        return ["PIL", value.mode, list(value.size), value.tobytes()]
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    return [type(value).__module__, type(value).__qualname__, repr(value)]


_encoder = msgspec.msgpack.Encoder(enc_hook=_by_content, order="deterministic")
_json_encoder = msgspec.json.Encoder(enc_hook=_by_content, order="deterministic")


def cache_key(reward: Reward, params: dict[str, Any], sample: Sample) -> bytes:
    """The content hash of one reward call."""
    return term_keyer(reward, params)(sample)


def term_keyer(reward: Reward, params: dict[str, Any]) -> Callable[[Sample], bytes]:
    """`cache_key` for one term, with the term's own part hashed once instead of per row.

    The fields a reward reads are encoded as one msgpack array (self-delimiting: fields cannot
    run together) and hashed with SHA-256, which CPUs with SHA extensions run about twice as
    fast as BLAKE2b over a long completion; the key is its first 16 bytes."""
    base = hashlib.sha256(_digest((reward.id, reward.ref, params, reward.reads)))
    values = _fields_reader(reward.reads)

    def key(sample: Sample) -> bytes:
        hasher = base.copy()
        hasher.update(_encode(values(sample)))
        return hasher.digest()[:16]

    return key


def _fields_reader(reads: tuple[str, ...]) -> Callable[[Sample], tuple[Any, ...]]:
    """The values of ``reads`` as a tuple: one C call when all are attributes of `Sample`."""
    if reads and all(field in KNOWN_FIELDS or field == "extra" for field in reads):
        if len(reads) == 1:
            single = operator.attrgetter(reads[0])
            return lambda sample: (single(sample),)
        return operator.attrgetter(*reads)  # type: ignore[return-value]
    return lambda sample: tuple(sample.get(field) for field in reads)


def _encode(value: Any) -> bytes:
    try:
        return _encoder.encode(value)
    except OverflowError:
        # msgpack stops at 64-bit integers and a JSON row may hold any integer: hash those
        # (rare) values as JSON, marked so they can never collide with a msgpack one.
        return b"\xc1json:" + _json_encoder.encode(value) + b"\xc1"


def _digest(payload: Any) -> bytes:
    try:
        data = _encoder.encode(payload)
    except OverflowError:
        # msgpack stops at 64-bit integers and a JSON row may hold any integer: hash those
        # (rare) payloads as JSON, marked so they can never collide with a msgpack one.
        data = b"json:" + _json_encoder.encode(payload)
    return hashlib.blake2b(data, digest_size=16).digest()


class ScoreCache:
    """A thread-safe LRU map from content hash to `Score`; returns copies so callers may mutate."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[bytes, Score] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> Score | None:
        with self._lock:
            score = self._entries.get(key)
            if score is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        return _copy(score)

    def put(self, key: bytes, score: Score) -> None:
        if score.status not in CACHEABLE_STATUSES or self.max_entries <= 0:
            return
        with self._lock:
            self._entries[key] = _copy(score)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _copy(score: Score) -> Score:
    return msgspec.structs.replace(score, components=dict(score.components), info=dict(score.info))
