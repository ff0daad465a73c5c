"""A small image-rendering environment for VLM rewards, and an encoder whose embeddings we control.

`PixelTarget` is a ``size`` x ``size`` grid drawn as an RGB image: a grey floor with a red
square (the agent) in its cell. Actions move the square up, right, down or left (into a wall: it
stays). ``info["success"]`` says whether it is on ``goal`` (default: the top-right corner). The
episode is a continuing task truncated after ``max_steps``: it does not end at the goal, because
a VLM reward pays every step (it is positive almost everywhere), and an episode that ended at
the goal would teach the agent to avoid it; the agent should reach the goal and stay there.
The environment pays nothing itself: the reward must come from the picture, as with a VLM-RM.
Observations are the agent's ``(row, column)``; ``render()`` returns the frame
(``render_mode="rgb_array"``). Registered as ``rewardsmith/PixelTarget-v0`` when this module is
imported.

`PositionEncoder` stands in for CLIP in tests and examples: an image's embedding is
``[x, y, 1]``, the centre of its red pixels (x from left 0 to right 1, y from bottom 0 to top
1: on a 5 x 5 grid the top-right cell reads ``[0.9, 0.9, 1]``); a text's embedding reads the words ``left``/``right`` and ``top``/``bottom`` (0.5 for an
axis it does not name). So ``"a red square in the top right corner"`` embeds as ``[1, 1, 1]``,
closest in direction to the goal frame's embedding, and ``"a red square"`` (the baseline) as ``[0.5, 0.5, 1]``. A
real CLIP replaces it by `rewardsmith.models.vlm.load_clip` (docs/models.md).

Example:
    >>> env = PixelTarget(size=3, render_mode="rgb_array")
    >>> (row, col), _ = env.reset(seed=0)
    >>> env.render().shape
    (24, 24, 3)
    >>> PositionEncoder().embed_texts(["a red square in the top right corner"]).tolist()
    [[1.0, 1.0, 1.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, SupportsFloat

import numpy as np

try:
    import gymnasium as gym
    from gymnasium import spaces
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without the extra
    raise ModuleNotFoundError(
        "rewardsmith.envs needs gymnasium: pip install 'rewardsmith[gym]'", name=exc.name
    ) from exc

__all__ = ["BASELINE_PROMPT", "GOAL_PROMPT", "PixelTarget", "PositionEncoder"]

GOAL_PROMPT = "a red square in the top right corner"
"""The example's goal prompt."""
BASELINE_PROMPT = "a red square"
"""The example's baseline prompt (the scene without the goal)."""

_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left (row 0 is the top)
_FLOOR = (96, 96, 96)
_AGENT = (230, 20, 20)


class PixelTarget(gym.Env):  # type: ignore[misc]
    """A grid drawn as pixels; see the module docstring.

    Args:
        size: cells per side.
        cell: pixels per cell.
        goal: the target cell ``(row, column)``; default the top-right corner.
        start: the start cell; default random (never the goal), drawn by ``reset(seed=...)``.
        max_steps: truncation limit.
        terminate_at_goal: end the episode on reaching the goal (pair it with a reward that is
            not positive elsewhere).
        render_mode: ``"rgb_array"`` (the only mode) or None.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}  # noqa: RUF012  (Gymnasium declares it per instance)

    def __init__(
        self,
        size: int = 5,
        *,
        cell: int = 8,
        goal: tuple[int, int] | None = None,
        start: tuple[int, int] | None = None,
        max_steps: int = 50,
        terminate_at_goal: bool = False,
        render_mode: str | None = None,
    ) -> None:
        if size < 2 or cell < 1:
            raise ValueError("size must be >= 2 and cell >= 1")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be 'rgb_array' or None, not {render_mode!r}")
        self.size, self.cell, self.max_steps = size, cell, max_steps
        self.goal = goal if goal is not None else (0, size - 1)
        self.start = start
        self.terminate_at_goal = terminate_at_goal
        self.render_mode = render_mode
        self.observation_space = spaces.MultiDiscrete([size, size])
        self.action_space = spaces.Discrete(4)
        self.position = (size - 1, 0)
        self.steps = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if self.start is not None:
            self.position = self.start
        else:
            cells = [
                (r, c) for r in range(self.size) for c in range(self.size) if (r, c) != self.goal
            ]
            self.position = cells[int(self.np_random.integers(len(cells)))]
        self.steps = 0
        return np.array(self.position), {}

    def step(self, action: int) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        dr, dc = _MOVES[int(action)]
        row = min(max(self.position[0] + dr, 0), self.size - 1)
        col = min(max(self.position[1] + dc, 0), self.size - 1)
        self.position = (row, col)
        self.steps += 1
        reached = self.position == self.goal
        info = {"success": reached}
        terminated = reached and self.terminate_at_goal
        return np.array(self.position), 0.0, terminated, self.steps >= self.max_steps, info

    def render(self) -> np.ndarray:
        """The frame: ``(size·cell, size·cell, 3)`` uint8."""
        side = self.size * self.cell
        frame = np.empty((side, side, 3), dtype=np.uint8)
        frame[:] = _FLOOR
        row, col = self.position
        frame[row * self.cell : (row + 1) * self.cell, col * self.cell : (col + 1) * self.cell] = (
            _AGENT
        )
        return frame

    def frame_at(self, cell: tuple[int, int]) -> np.ndarray:
        """The frame with the agent at ``cell`` (for ranking every state)."""
        saved, self.position = self.position, cell
        try:
            return self.render()
        finally:
            self.position = saved


class PositionEncoder:
    """An `ImageTextEncoder` whose embeddings are positions we can reason about (module docstring).

    It measures the picture (the red pixels' centre), so the wrapper's render-and-score path is
    exercised for real; only the "understanding" of the prompt is hand-made.
    """

    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """``[x, y, 1]`` per frame: the centre of the red pixels, in [0, 1]."""
        rows = []
        for image in images:
            red = (image[:, :, 0] > 180) & (image[:, :, 1] < 80) & (image[:, :, 2] < 80)
            height, width = red.shape
            ys, xs = np.nonzero(red)
            if len(xs) == 0:
                rows.append([0.5, 0.5, 1.0])
                continue
            x = (xs.mean() + 0.5) / width
            y = 1.0 - (ys.mean() + 0.5) / height
            rows.append([x, y, 1.0])
        return np.array(rows, dtype=np.float64)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``[x, y, 1]`` per text from the words left/right and top/bottom."""
        rows = []
        for text in texts:
            words = set(text.lower().split())
            x = 1.0 if "right" in words else 0.0 if "left" in words else 0.5
            y = 1.0 if "top" in words else 0.0 if "bottom" in words else 0.5
            rows.append([x, y, 1.0])
        return np.array(rows, dtype=np.float64)


if "rewardsmith/PixelTarget-v0" not in gym.registry:
    gym.register(
        id="rewardsmith/PixelTarget-v0",
        entry_point="rewardsmith.envs.pixel_target:PixelTarget",
        disable_env_checker=True,
    )
