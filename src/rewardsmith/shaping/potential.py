"""Potential-based reward shaping (Ng, Harada and Russell 1999, "Policy invariance under reward
transformations"): adding ``F(s, s') = gamma * Phi(s') - Phi(s)`` to the reward leaves the
optimal policy unchanged, for any potential ``Phi``. A bonus that is not of this form (say,
``+b`` for being near the goal) can change which policy is optimal.

In episodic tasks the potential of a terminal state must be taken as 0 (``terminated=True``
below), otherwise the shaping pays ``gamma * Phi(s_T)`` once more at the end and the invariance
breaks for episodes of different lengths. A time-limit truncation is not a terminal state: the
next state's potential still counts.

Example:
    >>> shaping_term(phi_s=1.0, phi_next=3.0, gamma=0.9)
    1.7000000000000002
    >>> shaping_term(phi_s=1.0, phi_next=3.0, gamma=0.9, terminated=True)
    -1.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["PotentialShaping", "shaping_term"]

State = TypeVar("State")


def shaping_term(phi_s: float, phi_next: float, gamma: float, *, terminated: bool = False) -> float:
    """``gamma * Phi(s') - Phi(s)``, with ``Phi(s') = 0`` when ``s'`` is terminal."""
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    return gamma * (0.0 if terminated else phi_next) - phi_s


class PotentialShaping(Generic[State]):
    """A potential function and discount, applied to transitions.

    Args:
        potential: ``Phi(state) -> float``.
        gamma: the discount the agent optimizes with (shaping preserves the optimal policy only
            for that discount).
    """

    def __init__(self, potential: Callable[[State], float], gamma: float) -> None:
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        self.potential = potential
        self.gamma = gamma

    def term(self, state: State, next_state: State, *, terminated: bool = False) -> float:
        """The shaping reward ``F(s, s')`` for one transition."""
        return shaping_term(
            float(self.potential(state)),
            float(self.potential(next_state)),
            self.gamma,
            terminated=terminated,
        )

    def __call__(
        self, reward: float, state: State, next_state: State, *, terminated: bool = False
    ) -> float:
        """The shaped reward ``r + F(s, s')``."""
        return reward + self.term(state, next_state, terminated=terminated)

    def __repr__(self) -> str:
        name: Any = getattr(self.potential, "__name__", self.potential)
        return f"PotentialShaping({name}, gamma={self.gamma})"
