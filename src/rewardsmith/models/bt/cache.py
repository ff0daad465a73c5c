"""An on-disk cache of text embeddings, keyed by content hash.

Embedding dominates the cost of training a head on a frozen encoder (seconds per hundred texts on
a CPU, against milliseconds per epoch for the head), so every embedding is kept in a SQLite file
keyed by the encoder's fingerprint, the truncation length and the text. Retraining with other
head settings, scoring the same completions again, or a second process reading the same file
costs no encoder call. SQLite in WAL mode lets several processes read while one writes.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> cache = EmbeddingCache(pathlib.Path(tempfile.mkdtemp()) / "emb.sqlite")
    >>> key = embedding_key("enc", 128, "prompt", "response")
    >>> cache.put_many({key: np.ones(3, dtype=np.float32)})
    >>> cache.get_many([key])[key].tolist()
    [1.0, 1.0, 1.0]
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["EmbeddingCache", "default_cache_path", "embedding_key"]


def default_cache_path() -> Path:
    """``$REWARDSMITH_HOME/cache/embeddings.sqlite`` (``./.rewardsmith/...`` when unset)."""
    return Path(os.environ.get("REWARDSMITH_HOME", ".rewardsmith")) / "cache" / "embeddings.sqlite"


def embedding_key(fingerprint: str, max_length: int, prompt: str, response: str) -> bytes:
    """The content hash of one (encoder, truncation, prompt, response) embedding."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (fingerprint, str(max_length), prompt, response):
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "little"))  # lengths make the join unambiguous
        digest.update(encoded)
    return digest.digest()


class EmbeddingCache:
    """A thread-safe map from `embedding_key` to a float32 vector, stored in SQLite."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (key BLOB PRIMARY KEY, vector BLOB NOT NULL)"
        )
        self._db.commit()
        self.hits = 0
        self.misses = 0

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for start in range(0, len(unique), 500):  # SQLite caps the number of parameters
                chunk = unique[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, vector FROM embeddings WHERE key IN ({marks})", chunk
                ).fetchall()
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        self.hits += len(found)
        self.misses += len(unique) - len(found)
        return found

    def put_many(self, vectors: Mapping[bytes, np.ndarray]) -> None:
        rows = [(key, np.asarray(v, dtype=np.float32).tobytes()) for key, v in vectors.items()]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?)", rows)
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
