"""The VLM-RM reward: how close an image is to a goal described in language.

Rocamonde et al. 2023, "Vision-Language Models are Zero-Shot Reward Models for Reinforcement
Learning". With unit-normalised embeddings ``x`` (the image), ``g`` (the goal prompt) and ``b``
(a baseline prompt describing the setting without the goal), let ``d = (g − b)/‖g − b‖`` and
``P = d dᵀ`` the projection onto the baseline→goal line. Goal-baseline regularisation with
strength α ∈ [0, 1] is

    R(x) = 1 − ½ ‖(α P + (1 − α) I)(x − g)‖²

α = 0 gives ``1 − ½‖x − g‖² = x·g``, the plain cosine similarity; α = 1 gives
``1 − ½ ((x − g)·d)²``: only the part of the image embedding along the baseline→goal direction
counts, which removes what the two prompts share (the agent's body, the background) from the
reward.

Example:
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> goal_baseline_reward(x, np.array([1.0, 0.0])).tolist()
    [1.0, 0.0]
    >>> goal_baseline_reward(x, np.array([1.0, 1.0]), np.array([0.0, 1.0]), alpha=1.0).round(4).tolist()
    [0.8536, 0.7071]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rewardsmith.models.vlm.encoder import ImageLike, ImageTextEncoder, load_image

__all__ = ["GoalReward", "goal_baseline_reward", "unit_rows"]


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row divided by its Euclidean norm; a zero row raises ValueError."""
    array = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if (norms == 0).any() or not np.isfinite(norms).all():
        raise ValueError("an embedding is zero or not finite: it has no direction")
    return array / norms


def goal_baseline_reward(
    images: np.ndarray,
    goal: np.ndarray,
    baseline: np.ndarray | None = None,
    *,
    alpha: float = 0.0,
) -> np.ndarray:
    """``R = 1 − ½‖(αP + (1−α)I)(x − g)‖²`` for each image embedding (module docstring).

    Args:
        images: ``(n, d)`` image embeddings (normalised here).
        goal: ``(d,)`` goal text embedding, or ``(n, d)``: one goal per image.
        baseline: baseline text embedding(s), same shapes as ``goal``; needed when α > 0.
        alpha: regularisation strength in [0, 1]; 0 is plain cosine similarity.

    Raises:
        ValueError: α outside [0, 1], α > 0 without a baseline, a goal equal to its baseline,
            or a zero embedding.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    x = unit_rows(images)
    g = unit_rows(goal)
    diff = x - g
    if alpha == 0.0:
        return np.asarray(1.0 - 0.5 * np.einsum("ij,ij->i", diff, diff))
    if baseline is None:
        raise ValueError("alpha > 0 needs a baseline embedding")
    direction = g - unit_rows(baseline)
    lengths = np.linalg.norm(direction, axis=1, keepdims=True)
    if (lengths < 1e-12).any():
        raise ValueError(
            "the goal and baseline embeddings are identical: no direction between them"
        )
    d = direction / lengths
    along = np.einsum("ij,ij->i", diff, d)[:, None]
    regularised = (1.0 - alpha) * diff + alpha * along * d
    return np.asarray(1.0 - 0.5 * np.einsum("ij,ij->i", regularised, regularised))


class GoalReward:
    """Rewards frames for matching a goal prompt, with goal-baseline regularisation.

    The prompts are embedded once; frames are embedded ``batch_size`` at a time, so a whole
    rollout (or the frames of a vector environment) costs one forward pass per batch.

    Args:
        encoder: an `ImageTextEncoder` (`load_clip` for a real CLIP).
        goal: the state to reach, e.g. ``"a humanoid robot kneeling"``.
        baseline: the setting without the goal, e.g. ``"a humanoid robot"``; needed for α > 0.
        alpha: regularisation strength in [0, 1] (0: plain cosine similarity).
        batch_size: most frames per forward pass.

    Example:
        >>> class Colours:
        ...     def embed_images(self, images):
        ...         return np.array([im.reshape(-1, 3).mean(0) / 255 + 1.0 for im in images])
        ...     def embed_texts(self, texts):
        ...         return np.array([[2.0, 1.0, 1.0] if "red" in t else [1.0, 1.0, 1.0] for t in texts])
        >>> reward = GoalReward(Colours(), goal="a red square", baseline="a square", alpha=1.0)
        >>> red, grey = np.zeros((4, 4, 3)), np.zeros((4, 4, 3))
        >>> red[..., 0] = 1.0
        >>> values = reward([red, grey])
        >>> bool(values[0] > values[1])
        True
    """

    def __init__(
        self,
        encoder: ImageTextEncoder,
        goal: str,
        baseline: str | None = None,
        *,
        alpha: float = 0.0,
        batch_size: int = 32,
    ) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        if alpha > 0 and baseline is None:
            raise ValueError("alpha > 0 needs a baseline prompt")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.encoder = encoder
        self.goal, self.baseline, self.alpha, self.batch_size = goal, baseline, alpha, batch_size
        texts = [goal] if baseline is None else [goal, baseline]
        embedded = encoder.embed_texts(texts)
        self.goal_embedding = embedded[0]
        self.baseline_embedding = embedded[1] if baseline is not None else None

    def embed(self, frames: Sequence[ImageLike]) -> np.ndarray:
        """``(n, d)`` embeddings of the frames, ``batch_size`` per forward pass."""
        arrays = [load_image(frame) for frame in frames]
        chunks = [
            self.encoder.embed_images(arrays[start : start + self.batch_size])
            for start in range(0, len(arrays), self.batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, len(self.goal_embedding)))

    def __call__(self, frames: Sequence[ImageLike]) -> np.ndarray:
        """One reward per frame, in order."""
        embeddings = self.embed(frames)
        if len(embeddings) == 0:
            return np.zeros(0)
        return goal_baseline_reward(
            embeddings, self.goal_embedding, self.baseline_embedding, alpha=self.alpha
        )
