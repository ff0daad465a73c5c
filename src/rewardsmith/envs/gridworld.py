"""Small gridworlds with labelled cells, for reward machines and the reward-design loop.

A layout is a list of equal-length strings: ``#`` is a wall, ``S`` the start, ``.`` an empty
cell, and any other capital letter a *labelled* cell. Entering a cell reports its letter in
``info["labels"]`` (the propositions a reward machine reads). The observation is the index of
the agent's cell (``Discrete``), so the environment is tabular: `GridWorld.tabular` gives the
full transition model that the design loop and the reward distances need.

The environment's own reward is 0 unless ``rewards`` pays for letters; ``goal`` letters end the
episode with ``info["success"] = True``, ``trap`` letters end it with ``success = False``.

Bundled tasks (`make_task`):

- ``abc``: visit A, then B, never C. The only way from A to B that avoids C passes the start
  again, so no memoryless policy on the cell index solves it (see docs/design.md).
- ``goal``: reach G without stepping into lava (L); the environment gives no reward at all, so
  the reward must be designed.

Example:
    >>> env = GridWorld(["S.G"], goal="G")
    >>> _ = env.reset(seed=0)
    >>> _, reward, terminated, _, info = env.step(1)
    >>> _, reward, terminated, _, info = env.step(1)
    >>> terminated, info["labels"], info["success"]
    (True, frozenset({'G'}), True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

try:
    import gymnasium as gym
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without the extra
    raise ModuleNotFoundError(
        "rewardsmith.envs needs gymnasium: pip install 'rewardsmith[gym]'", name=exc.name
    ) from exc

__all__ = ["ACTIONS", "TASKS", "GridWorld", "TabularModel", "make_task"]

ACTIONS = ("up", "right", "down", "left")
_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))


@dataclass(frozen=True)
class TabularModel:
    """A finite MDP as arrays, with the plain-data observation of every state.

    ``transitions[s, a, s']`` are probabilities; ``terminal[s]`` marks absorbing end states
    (transitions out of them are never taken); ``observations[s]`` is what reward code sees.
    """

    transitions: np.ndarray
    start: np.ndarray
    terminal: np.ndarray
    observations: list[dict[str, Any]]

    @property
    def n_states(self) -> int:
        return int(self.transitions.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.transitions.shape[1])


class GridWorld(gym.Env):  # type: ignore[misc]
    """A deterministic (or slippery) grid with labelled cells.

    Args:
        layout: rows of the grid (see the module docstring).
        goal: letters whose cell ends the episode as a success.
        trap: letters whose cell ends the episode as a failure.
        rewards: environment reward for entering a letter's cell (default none).
        max_steps: steps before truncation.
        slip: probability that the action is replaced by a uniformly random one.
    """

    metadata = {"render_modes": ["ansi"]}  # noqa: RUF012  (Gymnasium declares it per instance)

    def __init__(
        self,
        layout: Sequence[str],
        *,
        goal: str = "",
        trap: str = "",
        rewards: Mapping[str, float] | None = None,
        max_steps: int = 50,
        slip: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        rows = [str(row) for row in layout]
        if not rows or len({len(row) for row in rows}) != 1 or not rows[0]:
            raise ValueError("layout must be non-empty rows of equal length")
        starts = [(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch == "S"]
        if len(starts) != 1:
            raise ValueError(f"layout must have exactly one start 'S', found {len(starts)}")
        bad = {ch for row in rows for ch in row if not (ch in "#." or ch.isupper())}
        if bad:
            raise ValueError(f"layout has unknown characters {sorted(bad)} (use # . S or A-Z)")
        letters = {ch for row in rows for ch in row if ch.isupper() and ch != "S"}
        for name, given in (("goal", goal), ("trap", trap), ("rewards", "".join(rewards or {}))):
            missing = set(given) - letters
            if missing:
                raise ValueError(f"{name} names letters not in the layout: {sorted(missing)}")
        if not 0.0 <= slip <= 1.0:
            raise ValueError(f"slip must be in [0, 1], got {slip}")
        if max_steps <= 0:
            raise ValueError(f"max_steps must be positive, got {max_steps}")
        self.layout = rows
        self.goal, self.trap = frozenset(goal), frozenset(trap)
        self.rewards = dict(rewards or {})
        self.max_steps, self.slip = max_steps, slip
        self.render_mode = render_mode
        self.cells = [(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch != "#"]
        self._index = {cell: i for i, cell in enumerate(self.cells)}
        self.start_state = self._index[starts[0]]
        self.observation_space = gym.spaces.Discrete(len(self.cells))
        self.action_space = gym.spaces.Discrete(len(ACTIONS))
        self._next = np.array(
            [[self._move(cell, move) for move in _MOVES] for cell in self.cells], dtype=np.int64
        )
        self.state = self.start_state
        self.steps = 0

    def _move(self, cell: tuple[int, int], move: tuple[int, int]) -> int:
        r, c = cell[0] + move[0], cell[1] + move[1]
        inside = 0 <= r < len(self.layout) and 0 <= c < len(self.layout[0])
        return self._index[(r, c)] if inside and self.layout[r][c] != "#" else self._index[cell]

    def letter(self, state: int) -> str:
        """The cell's character: a letter, ``S`` or ``.``."""
        r, c = self.cells[state]
        return self.layout[r][c]

    def labels(self, state: int) -> frozenset[str]:
        """Propositions true in ``state``: its letter, if it has one (the start has none)."""
        ch = self.letter(state)
        return frozenset(ch) if ch.isupper() and ch != "S" else frozenset()

    def describe(self, state: int) -> dict[str, Any]:
        """The plain-data view of a state that reward code receives."""
        r, c = self.cells[state]
        return {"row": r, "col": c, "cell": self.letter(state)}

    def description(self) -> str:
        """A compact text description for a language model writing reward code."""
        ends = []
        if self.goal:
            ends.append(f"entering {'/'.join(sorted(self.goal))} ends it as a success")
        if self.trap:
            ends.append(f"entering {'/'.join(sorted(self.trap))} ends it as a failure")
        ends.append(f"it is cut off after {self.max_steps} steps")
        slip = f" With probability {self.slip} the action is random." if self.slip else ""
        return "\n".join(
            [
                f"A {len(self.layout)}x{len(self.layout[0])} grid world. Layout (row 0 at the top; "
                "'#' wall, 'S' start, '.' empty, capital letters are special cells):",
                *self.layout,
                "Actions: 0=up, 1=right, 2=down, 3=left. Moving into a wall or off the grid "
                f"leaves the agent where it is.{slip}",
                "Episode: " + "; ".join(ends) + ".",
                'Observation: a dict {"row": int, "col": int, "cell": str}, where "cell" is the '
                "layout character under the agent, e.g. "
                + repr(self.describe(self.start_state)).replace("'", '"')
                + ".",
            ]
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self.state, self.steps = self.start_state, 0
        return self.state, {"labels": self.labels(self.state)}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r}; expected 0..{len(ACTIONS) - 1}")
        if self.slip and self.np_random.random() < self.slip:
            action = int(self.np_random.integers(len(ACTIONS)))
        self.state = int(self._next[self.state, int(action)])
        self.steps += 1
        labels = self.labels(self.state)
        reward = float(sum(self.rewards.get(letter, 0.0) for letter in labels))
        terminated = bool(labels & (self.goal | self.trap))
        info = {"labels": labels, "success": bool(labels & self.goal)}
        return self.state, reward, terminated, self.steps >= self.max_steps, info

    def render(self) -> str:
        r, c = self.cells[self.state]
        rows = [list(row) for row in self.layout]
        rows[r][c] = "@"
        return "\n".join("".join(row) for row in rows)

    def tabular(self) -> TabularModel:
        """The transition model, start distribution, end states and state descriptions."""
        n, k = len(self.cells), len(ACTIONS)
        transitions = np.zeros((n, k, n))
        for s in range(n):
            for a in range(k):
                transitions[s, a, self._next[s, a]] += 1.0 - self.slip
                for b in range(k):
                    transitions[s, a, self._next[s, b]] += self.slip / k
        start = np.zeros(n)
        start[self.start_state] = 1.0
        terminal = np.array([bool(self.labels(s) & (self.goal | self.trap)) for s in range(n)])
        return TabularModel(transitions, start, terminal, [self.describe(s) for s in range(n)])


ABC_LAYOUT = (
    "...C.",
    "A.S.B",
    "...C.",
)
"""Visit A, then B, never C: every path from A to B avoiding C goes through S."""

GOAL_LAYOUT = (
    "S....",
    ".LL..",
    "...L.",
    ".L..G",
)
"""Reach G, never step into lava L."""

TASKS: dict[str, dict[str, Any]] = {
    "abc": {"layout": ABC_LAYOUT, "trap": "", "goal": "", "max_steps": 30},
    "goal": {"layout": GOAL_LAYOUT, "trap": "L", "goal": "G", "max_steps": 30},
}
"""Bundled tasks by name; `make_task` builds them."""


def make_task(name: str, **overrides: Any) -> GridWorld:
    """A bundled gridworld by name (``abc`` or ``goal``), with keyword overrides.

    Example:
        >>> make_task("goal").render().splitlines()[0]
        '@....'
    """
    if name not in TASKS:
        raise ValueError(f"unknown gridworld task {name!r}; bundled: {sorted(TASKS)}")
    return GridWorld(**{**TASKS[name], **overrides})
