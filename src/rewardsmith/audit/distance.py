"""Reward distances that ignore what cannot change the optimal policy: EPIC and STARC.

Two rewards that differ by potential shaping (``γΦ(s') - Φ(s)``) or by a positive scale
induce the same optimal policies, so a useful distance between rewards is 0 for them. Both
metrics here first *canonicalize* each reward (remove shaping), then compare.

- **EPIC** (Gleave et al. 2021): canonicalize with
  ``C(R)(s,a,s') = R(s,a,s') + E[γR(s',A,S') - R(s,A,S') - γR(S,A,S')]`` (S, S' ~ D_S,
  A ~ D_A, independent), then take the Pearson distance ``sqrt((1 - ρ) / 2)`` over a coverage
  distribution of transitions. Range [0, 1]; ``R`` vs ``-R`` gives 1, independent rewards ≈ √½.
- **STARC** (Skalse et al. 2024): canonicalize by value-adjusted levelling
  ``c(R)(s,a) = E_{S'~τ(s,a)}[R(s,a,S') + γV^π(S')] - V^π(s)`` (π uniform by default),
  divide by the L2 norm, and take the L2 distance. Range [0, 2]; ``R`` vs ``-R`` gives 2,
  independent rewards ≈ √2.

For language models the one-step case applies: an episode is one prompt x and one response y,
and shaping reduces to a per-prompt offset, so canonicalization is centring each prompt's
rewards over its sampled responses (`one_step_epic`, `one_step_starc`). For spaces too large to
enumerate, `epic_sampled` estimates EPIC from samples (Gleave et al.'s sample-based estimator).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> R = rng.normal(size=(4, 2, 4)); phi = rng.normal(size=4)
    >>> shaped = 3 * R + 0.9 * phi[None, None, :] - phi[:, None, None]
    >>> round(epic_distance(R, shaped, gamma=0.9), 9), round(starc_distance(R, shaped, uniform_transitions(4, 2), gamma=0.9), 9)
    (0.0, 0.0)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rewardsmith.audit.scoring import require_numpy
from rewardsmith.core.errors import InputError

__all__ = [
    "epic_canonical",
    "epic_distance",
    "epic_sampled",
    "one_step_epic",
    "one_step_starc",
    "one_step_tables",
    "pearson_distance",
    "starc_canonical",
    "starc_distance",
    "uniform_transitions",
]

Array = Any  # numpy.ndarray; numpy is imported lazily


def _check_reward(R: Array, name: str) -> Array:
    np = require_numpy()
    R = np.asarray(R, dtype=float)
    if R.ndim != 3 or R.shape[0] != R.shape[2]:
        raise ValueError(f"{name} must be an array R[s, a, s'] of shape (S, A, S), got {R.shape}")
    if not np.isfinite(R).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return R


def _distribution(p: Array | None, size: int, name: str) -> Array:
    np = require_numpy()
    if p is None:
        return np.full(size, 1.0 / size)
    p = np.asarray(p, dtype=float)
    if p.shape != (size,) or (p < 0).any() or not np.isclose(p.sum(), 1.0):
        raise ValueError(f"{name} must be a probability vector of length {size}")
    return p


def pearson_distance(x: Array, y: Array, weights: Array | None = None) -> float:
    """``sqrt((1 - ρ) / 2)`` with ρ the (weighted) Pearson correlation.

    A constant side has no correlation; by the convention of the EPIC code it is treated as
    ρ = 0 unless both sides are constant (then the rewards are equivalent: distance 0).
    """
    np = require_numpy()
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    w = (
        np.full(x.size, 1.0 / x.size)
        if weights is None
        else np.asarray(weights, dtype=float).ravel()
    )
    w = w / w.sum()
    xc = x - (w * x).sum()
    yc = y - (w * y).sum()
    vx, vy = (w * xc * xc).sum(), (w * yc * yc).sum()
    scale = max(float(np.abs(x).max(initial=0.0)), float(np.abs(y).max(initial=0.0)), 1.0)
    flat_x, flat_y = vx <= (1e-12 * scale) ** 2, vy <= (1e-12 * scale) ** 2
    if flat_x and flat_y:
        return 0.0
    rho = 0.0 if flat_x or flat_y else float((w * xc * yc).sum() / np.sqrt(vx * vy))
    return float(np.sqrt(max(0.0, (1 - min(1.0, rho)) / 2)))


def epic_canonical(
    R: Array, gamma: float, state_dist: Array | None = None, action_dist: Array | None = None
) -> Array:
    """EPIC's canonically shaped reward of a tabular ``R[s, a, s']`` (``0 <= gamma <= 1``).

    Unlike STARC, EPIC needs no value function, so ``gamma = 1`` (undiscounted) is fine.
    """
    np = require_numpy()
    if not 0 <= gamma <= 1:
        raise ValueError(f"EPIC needs 0 <= gamma <= 1, got {gamma}")
    R = _check_reward(R, "R")
    S, A, _ = R.shape
    ds = _distribution(state_dist, S, "state_dist")
    da = _distribution(action_dist, A, "action_dist")
    # m[x] = E_{A, S'}[R(x, A, S')]: the mean reward leaving x.
    m = np.einsum("xay,a,y->x", R, da, ds)
    mean = float(ds @ m)
    return R + gamma * m[None, None, :] - m[:, None, None] - gamma * mean


def epic_distance(
    R1: Array,
    R2: Array,
    gamma: float,
    *,
    state_dist: Array | None = None,
    action_dist: Array | None = None,
    coverage: Array | None = None,
) -> float:
    """EPIC distance of two tabular rewards ``R[s, a, s']``.

    ``coverage`` weights the transitions the Pearson distance is taken over (default uniform
    over every (s, a, s')).
    """
    np = require_numpy()
    c1 = epic_canonical(R1, gamma, state_dist, action_dist)
    c2 = epic_canonical(R2, gamma, state_dist, action_dist)
    if c1.shape != c2.shape:
        raise ValueError(f"rewards differ in shape: {c1.shape} vs {c2.shape}")
    if coverage is not None:
        coverage = np.asarray(coverage, dtype=float)
        if coverage.shape != c1.shape or (coverage < 0).any() or not coverage.sum() > 0:
            raise ValueError(
                f"coverage must be non-negative weights of shape {c1.shape} (s, a, s'), "
                f"not all zero; got shape {coverage.shape}"
            )
    return pearson_distance(c1, c2, coverage)


def uniform_transitions(states: int, actions: int) -> Array:
    """``T[s, a, s'] = 1/S``: every next state equally likely."""
    np = require_numpy()
    return np.full((states, actions, states), 1.0 / states)


def _policy_values(R: Array, T: Array, gamma: float, policy: Array) -> Array:
    np = require_numpy()
    S = R.shape[0]
    r_pi = np.einsum("sa,sat,sat->s", policy, T, R)
    P_pi = np.einsum("sa,sat->st", policy, T)
    return np.linalg.solve(np.eye(S) - gamma * P_pi, r_pi)


def starc_canonical(R: Array, T: Array, gamma: float, policy: Array | None = None) -> Array:
    """Value-adjusted levelling ``c(R)(s, a)``, normalised to unit L2 norm (0 stays 0)."""
    np = require_numpy()
    R = _check_reward(R, "R")
    S, A, _ = R.shape
    T = np.asarray(T, dtype=float)
    if T.shape != R.shape or (T < 0).any() or not np.allclose(T.sum(axis=2), 1.0):
        raise ValueError(f"T must be transition probabilities T[s, a, s'] of shape {R.shape}")
    if not 0 <= gamma < 1:
        raise ValueError(f"STARC needs 0 <= gamma < 1 for finite values, got {gamma}")
    pi = np.full((S, A), 1.0 / A) if policy is None else np.asarray(policy, dtype=float)
    V = _policy_values(R, T, gamma, pi)
    c = np.einsum("sat,sat->sa", T, R + gamma * V[None, None, :]) - V[:, None]
    norm = float(np.linalg.norm(c))
    # Relative to the reward's own size, so that R and k*R (k > 0) are both zero or both not:
    # an absolute floor would zero a small reward and keep a large multiple of it.
    scale = float(np.abs(R).max(initial=0.0))
    return c / norm if norm > 1e-10 * scale * np.sqrt(c.size) else np.zeros_like(c)


def starc_distance(
    R1: Array, R2: Array, T: Array, gamma: float, *, policy: Array | None = None
) -> float:
    """STARC distance (VAL canonicalization, L2 normalisation, L2 metric) of tabular rewards."""
    np = require_numpy()
    return float(
        np.linalg.norm(
            starc_canonical(R1, T, gamma, policy) - starc_canonical(R2, T, gamma, policy)
        )
    )


def _center_rows(r: Array, name: str) -> Array:
    np = require_numpy()
    r = np.asarray(r, dtype=float)
    if r.ndim != 2 or r.shape[1] < 2:
        raise ValueError(
            f"{name} must be rewards[prompt, response] with at least 2 responses per prompt, got shape {r.shape}"
        )
    if not np.isfinite(r).all():
        raise ValueError(f"{name} holds NaN or infinite values (a response was not scored?)")
    return r - r.mean(axis=1, keepdims=True)


def one_step_epic(r1: Array, r2: Array) -> float:
    """EPIC between two rewards of sampled responses, ``r[prompt, response]``: the Pearson
    distance of prompt-centred rewards.

    Example:
        >>> one_step_epic([[1, 2, 3], [0, 0, 1]], [[10, 12, 14], [5, 5, 7]])
        0.0
    """
    c1, c2 = _center_rows(r1, "r1"), _center_rows(r2, "r2")
    if c1.shape != c2.shape:
        raise ValueError(f"reward tables differ in shape: {c1.shape} vs {c2.shape}")
    return pearson_distance(c1, c2)


def one_step_starc(r1: Array, r2: Array) -> float:
    """STARC between two rewards of sampled responses: prompt-centred, unit L2 norm, L2 distance."""
    np = require_numpy()
    c1, c2 = _center_rows(r1, "r1"), _center_rows(r2, "r2")
    if c1.shape != c2.shape:
        raise ValueError(f"reward tables differ in shape: {c1.shape} vs {c2.shape}")

    def unit(c: Array) -> Array:
        norm = float(np.linalg.norm(c))
        return c / norm if norm > 1e-12 else np.zeros_like(c)

    return float(np.linalg.norm(unit(c1) - unit(c2)))


def epic_sampled(
    reward_a: Callable[[Array, Array, Array], Array],
    reward_b: Callable[[Array, Array, Array], Array],
    transitions: tuple[Array, Array, Array],
    states: Array,
    actions: Array,
    gamma: float,
) -> float:
    """Sample-based EPIC for reward functions too large to tabulate.

    Args:
        reward_a, reward_b: vectorised ``R(s, a, s') -> rewards`` over equal-length arrays.
        transitions: ``(s, a, s')`` arrays sampled from the coverage distribution.
        states: samples from D_S (used for both S and S' in the canonicalization).
        actions: samples from D_A.
        gamma: discount.

    Each transition's canonical reward is estimated with the same state and action samples,
    at a cost of ``len(transitions) * len(states) * len(actions)`` reward calls per reward.
    """
    np = require_numpy()
    s, a, s2 = (np.asarray(x) for x in transitions)
    states, actions = np.asarray(states), np.asarray(actions)
    n_s, n_a = len(states), len(actions)
    # Every (action sample, next-state sample) combination, repeated for each source state.
    grid_a = np.repeat(actions, n_s)
    grid_s = np.tile(states, n_a)

    def canonical(reward: Callable[[Array, Array, Array], Array]) -> Array:
        def mean_from(sources: Array) -> Array:
            src = np.repeat(sources, n_a * n_s, axis=0)
            act = np.tile(grid_a, len(sources))
            nxt = np.tile(grid_s, len(sources))
            values = np.asarray(reward(src, act, nxt), dtype=float)
            return values.reshape(len(sources), n_a * n_s).mean(axis=1)

        base = np.asarray(reward(s, a, s2), dtype=float)
        overall = float(mean_from(states).mean())
        return base + gamma * mean_from(s2) - mean_from(s) - gamma * overall

    return pearson_distance(canonical(reward_a), canonical(reward_b))


def one_step_tables(
    rows: list[dict[str, Any]], a: str, b: str, field: str, workers: int | None = None
) -> tuple[list[list[float]], list[list[float]], int]:
    """The one-step tables of rewards ``a`` and ``b`` (names or spec files) over ``rows``: one
    list per prompt (rows grouped by ``field``, else by ``prompt``) of its responses' values, as
    `one_step_epic` and `one_step_starc` take them, and the number of prompts.

    Raises:
        InputError: a row has no group, the groups differ in size (or hold one response), or a
            response has no value (its status and reason are named).
    """
    from rewardsmith.audit.scoring import score_rows
    from rewardsmith.core.spec import load_spec

    groups: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        key = row.get(field, row.get("prompt"))
        if key is None:
            raise InputError(f"row {index}: needs field {field!r} (or 'prompt') to group responses")
        groups.setdefault(json.dumps(key, sort_keys=True), []).append(index)
    sizes = {len(members) for members in groups.values()}
    if len(sizes) != 1 or min(sizes) < 2:
        raise InputError(
            f"every prompt needs the same number (>= 2) of responses; found group sizes {sorted(sizes)}"
        )
    tables = []
    for name in (a, b):
        scores = score_rows(rows, load_spec(name), workers=workers)
        table: list[list[float]] = []
        for members in groups.values():
            values: list[float] = []
            for index in members:
                value = scores[index].value
                if value is None:
                    raise InputError(
                        f"row {index}: {name} gave status {scores[index].status} ({scores[index].reason}); distances need every response scored"
                    )
                values.append(value)
            table.append(values)
        tables.append(table)
    return tables[0], tables[1], len(groups)
