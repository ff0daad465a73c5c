"""The ``bi`` feature mode: prompt and response embedded separately, joined by relevance features.

The ``joint`` mode embeds ``[CLS] prompt [SEP] response [SEP]`` as one text, so a head can only
see whether an answer fits its instruction through whatever the mean-pooled vector keeps of
that; pairing a response with another prompt costs a fresh encoder call. In ``bi`` mode the
prompt ``p`` and the response ``r`` are encoded on their own (L2-normalised vectors ``u``,
``v``), and a head reads::

    [v, u ⊙ v, cos(u, v)]

``v`` carries the response's quality and style, the element-wise product ``u ⊙ v`` and the
cosine carry whether it is about the instruction. Every response can then be paired with every
prompt at no encoder cost, which is what makes the contrast pairs of `contrast_pairs` free.

A prompt is clipped to its last ``PROMPT_CHARS`` characters before encoding: in a multi-turn
transcript the last user turn is the instruction, and the encoder keeps only the first
``max_length`` tokens of a text.

Example:
    >>> import numpy as np
    >>> u = np.array([[1.0, 0.0]], dtype=np.float32); v = np.array([[0.6, 0.8]], dtype=np.float32)
    >>> [round(float(x), 2) for x in relevance_features(u, v)[0]]
    [0.6, 0.8, 0.6, 0.0, 0.6]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from rewardsmith.models.bt.data import PreferencePair

__all__ = [
    "PROMPT_CHARS",
    "clip_prompt",
    "contrast_pairs",
    "embed_pair_texts",
    "length_feature",
    "relevance_features",
]

PROMPT_CHARS = 1000
"""Characters of a prompt kept (from its end) before encoding it on its own."""


def clip_prompt(prompt: str) -> str:
    """The last `PROMPT_CHARS` characters of a prompt (the latest turn of a transcript)."""
    return prompt[-PROMPT_CHARS:]


def relevance_features(prompts: np.ndarray, responses: np.ndarray) -> np.ndarray:
    """``[v, u ⊙ v, cos(u, v)]`` per row from ``(n, d)`` prompt and response vectors."""
    product = prompts * responses
    cosine = product.sum(1, keepdims=True)  # both are unit vectors
    return np.concatenate([responses, product, cosine], axis=1).astype(np.float32, copy=False)


def length_feature(responses: Sequence[str]) -> np.ndarray:
    """``log(1 + characters)`` per response, ``(n, 1)``: the covariate a length head reads."""
    return np.log1p(np.array([len(r) for r in responses], dtype=np.float32))[:, None]


def embed_pair_texts(
    encoder: object,
    pairs: Sequence[PreferencePair],
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prompt, chosen, rejected) vectors of ``pairs``, each text encoded once on its own.

    Args:
        encoder: a `TextEncoder` (typed loosely so this module does not import torch).
        pairs: the pairs.
        progress: called with a count of texts done.
    """
    texts = (
        [clip_prompt(p.prompt) for p in pairs]
        + [p.chosen for p in pairs]
        + [p.rejected for p in pairs]
    )
    vectors = encoder.embed_texts(texts, progress=progress)  # type: ignore[attr-defined]
    n = len(pairs)
    return vectors[:n], vectors[n : 2 * n], vectors[2 * n :]


def contrast_pairs(
    prompts: Sequence[str],
    prompt_vectors: np.ndarray,
    *,
    answers: int = 2,
    per_pair: float,
    neighbours: int = 5,
    seed: int = 0,
) -> list[tuple[int, int]]:
    """Train-time contrast pairs: (prompt row, foreign response row) index pairs.

    For training pair ``i`` (prompt ``p``, chosen answer ``r``) the pair ``(p, r) ≻ (p, r')``
    is built, where ``r'`` is a fluent answer (any answer in the data) to one of the
    ``neighbours`` nearest *other* prompts by embedding cosine, the construction of LLMBar's
    Neighbor set and of "Trickle-down". The foreign answer is as long and well written as the
    data's own answers, so the only thing separating it is whether it answers ``p``; and its
    length is unrelated to the right answer's, so these pairs also teach that length alone does
    not decide.

    Args:
        prompts: the prompt of each training pair.
        prompt_vectors: ``(n, d)`` unit vectors of those prompts.
        answers: candidate foreign answers are rows ``0 .. answers * n - 1`` of the caller's
            answer list, row ``j`` answering ``prompts[j % n]`` (2: the chosen answers, then the
            rejected ones).
        per_pair: contrast pairs per training pair (e.g. 0.5: half of the pairs get one).
        neighbours: how many nearest distinct prompts ``r'`` may come from.
        seed: random seed of which pairs, which neighbour and which answer.

    Returns:
        ``(i, j)``: training pair ``i``'s prompt with candidate answer ``j`` is the rejected side.
        A prompt with no distinct neighbour (a single prompt in the data) gets none.
    """
    n = len(prompts)
    if len(prompt_vectors) != n:
        raise ValueError(f"{len(prompt_vectors)} prompt vectors for {n} prompts")
    if per_pair <= 0 or n == 0:
        return []
    rng = np.random.default_rng(seed)
    unique: dict[str, int] = {}
    for i, prompt in enumerate(prompts):
        unique.setdefault(prompt, i)
    keys = list(unique)
    if len(keys) < 2:
        return []
    rows = np.array([unique[k] for k in keys])
    vectors = prompt_vectors[rows]
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    # Near-duplicate instructions (cosine > 0.95) may share a right answer: never neighbours.
    similarity[similarity > 0.95] = -np.inf
    k = min(neighbours, len(keys) - 1)
    nearest = np.argsort(-similarity, axis=1)[:, :k]
    by_prompt: dict[int, list[int]] = {}
    prompt_index = {key: u for u, key in enumerate(keys)}
    for j in range(answers * n):
        by_prompt.setdefault(prompt_index[prompts[j % n]], []).append(j)
    count = round(per_pair * n)
    chosen_rows = rng.choice(n, size=count, replace=count > n)
    out: list[tuple[int, int]] = []
    for i in chosen_rows:
        u = prompt_index[prompts[int(i)]]
        options = [v for v in nearest[u] if np.isfinite(similarity[u, v])]
        if not options:
            continue
        neighbour = int(options[int(rng.integers(len(options)))])
        pool = by_prompt[neighbour]
        out.append((int(i), int(pool[int(rng.integers(len(pool)))])))
    return out
