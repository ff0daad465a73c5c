"""EPIC and STARC: invariances, extremes, random-reward values and metric axioms (hypothesis)."""

from __future__ import annotations

import pytest

np = pytest.importorskip(
    "numpy", reason="the distances need numpy: pip install 'rewardsmith[audit]'"
)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

from rewardsmith.audit.distance import (  # noqa: E402
    epic_distance,
    epic_sampled,
    one_step_epic,
    one_step_starc,
    starc_distance,
    uniform_transitions,
)

S, A = 4, 3
GAMMA = 0.9
finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
# Entries are 0 or at least 1e-3 in size. The properties are exact in real arithmetic; in floating
# point the canonicalization error grows with |shaping| / |reward|, so a 1e-9 reward under a
# potential of size 1 is only recoverable to ~1e-6 — a conditioning limit, not a bug.
conditioned = st.one_of(
    st.just(0.0),
    st.builds(
        lambda size, negative: -size if negative else size, st.floats(1e-3, 10), st.booleans()
    ),
)
rewards = arrays(np.float64, (S, A, S), elements=conditioned)
potentials = arrays(np.float64, (S,), elements=finite)


def _transitions(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(S), size=(S, A))


def _shaped(R: np.ndarray, phi: np.ndarray, scale: float) -> np.ndarray:
    return scale * R + GAMMA * phi[None, None, :] - phi[:, None, None]


@settings(max_examples=60, deadline=None)
@given(rewards, potentials, st.floats(0.1, 10), st.integers(0, 1000))
def test_shaping_and_positive_scaling_give_zero(
    R: np.ndarray, phi: np.ndarray, scale: float, seed: int
) -> None:
    shaped = _shaped(R, phi, scale)
    assert epic_distance(R, shaped, GAMMA) == pytest.approx(0.0, abs=1e-6)
    assert starc_distance(R, shaped, _transitions(seed), GAMMA) == pytest.approx(0.0, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(rewards, st.integers(0, 1000))
def test_negation_gives_the_maximum(R: np.ndarray, seed: int) -> None:
    T = _transitions(seed)
    epic = epic_distance(R, -R, GAMMA)
    starc = starc_distance(R, -R, T, GAMMA)
    # A reward that is all shaping canonicalizes to 0 and is at distance 0 from its negation.
    if epic > 1e-9:
        assert epic == pytest.approx(1.0, abs=1e-6)
    if starc > 1e-9:
        assert starc == pytest.approx(2.0, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(rewards, rewards, rewards, st.integers(0, 1000))
def test_symmetry_and_triangle_inequality(
    R1: np.ndarray, R2: np.ndarray, R3: np.ndarray, seed: int
) -> None:
    T = _transitions(seed)
    for distance in (
        lambda x, y: epic_distance(x, y, GAMMA),
        lambda x, y: starc_distance(x, y, T, GAMMA),
    ):
        d12, d21 = distance(R1, R2), distance(R2, R1)
        assert d12 == pytest.approx(d21, abs=1e-9)
        assert d12 <= distance(R1, R3) + distance(R3, R2) + 1e-9
        assert distance(R1, R1) == pytest.approx(0.0, abs=1e-9)


def test_independent_random_rewards() -> None:
    rng = np.random.default_rng(0)
    states, actions = 30, 5
    T = rng.dirichlet(np.ones(states), size=(states, actions))
    epic, starc = [], []
    for _ in range(20):
        R1 = rng.normal(size=(states, actions, states))
        R2 = rng.normal(size=(states, actions, states))
        epic.append(epic_distance(R1, R2, GAMMA))
        starc.append(starc_distance(R1, R2, T, GAMMA))
    assert np.mean(epic) == pytest.approx(np.sqrt(0.5), abs=0.01)
    assert np.mean(starc) == pytest.approx(np.sqrt(2), abs=0.03)


def test_one_step_case() -> None:
    rng = np.random.default_rng(1)
    r = rng.normal(size=(50, 8))
    offsets = rng.normal(size=(50, 1)) * 10  # a per-prompt offset is one-step shaping
    assert one_step_epic(r, 3 * r + offsets) == pytest.approx(0.0, abs=1e-9)
    assert one_step_starc(r, 3 * r + offsets) == pytest.approx(0.0, abs=1e-9)
    assert one_step_epic(r, -r) == pytest.approx(1.0)
    assert one_step_starc(r, -r) == pytest.approx(2.0)
    other = rng.normal(size=(50, 8))
    assert one_step_epic(r, other) == pytest.approx(np.sqrt(0.5), abs=0.05)
    assert one_step_starc(r, other) == pytest.approx(np.sqrt(2), abs=0.1)
    # By hand: centred rows (-1, 1) and (-1, 1) vs (1, -1) and (-1, 1): rho = 0.
    assert one_step_epic([[0, 2], [0, 2]], [[2, 0], [0, 2]]) == pytest.approx(np.sqrt(0.5))
    with pytest.raises(ValueError, match="at least 2 responses"):
        one_step_epic([[1.0], [2.0]], [[1.0], [2.0]])


def test_sampled_epic_agrees_with_the_tabular_value() -> None:
    rng = np.random.default_rng(2)
    R1, R2 = rng.normal(size=(6, 2, 6)), rng.normal(size=(6, 2, 6))
    s, a, t = np.meshgrid(np.arange(6), np.arange(2), np.arange(6), indexing="ij")
    transitions = (s.ravel(), a.ravel(), t.ravel())
    exact = epic_sampled(
        lambda x, y, z: R1[x, y, z],
        lambda x, y, z: R2[x, y, z],
        transitions,
        np.arange(6),
        np.arange(2),
        GAMMA,
    )
    assert exact == pytest.approx(epic_distance(R1, R2, GAMMA), abs=1e-9)
    # With sampled states/actions the estimate is close, not exact.
    picks = rng.integers(0, 6, 400), rng.integers(0, 2, 400), rng.integers(0, 6, 400)
    estimate = epic_sampled(
        lambda x, y, z: R1[x, y, z],
        lambda x, y, z: R2[x, y, z],
        picks,
        rng.integers(0, 6, 64),
        rng.integers(0, 2, 16),
        GAMMA,
    )
    assert estimate == pytest.approx(epic_distance(R1, R2, GAMMA), abs=0.08)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"shape \(S, A, S\)"):
        epic_distance(np.zeros((2, 2)), np.zeros((2, 2)), GAMMA)
    with pytest.raises(ValueError, match="transition probabilities"):
        starc_distance(np.zeros((2, 1, 2)), np.zeros((2, 1, 2)), np.zeros((2, 1, 2)), GAMMA)
    with pytest.raises(ValueError, match="gamma < 1"):
        starc_distance(np.zeros((2, 1, 2)), np.zeros((2, 1, 2)), uniform_transitions(2, 1), 1.0)


def test_starc_is_scale_invariant_for_small_rewards() -> None:
    # Found by hypothesis: with an absolute floor, a 1e-9-sized reward survived normalisation
    # while its 1/8 multiple was zeroed, giving distance 1 instead of 0.
    R = np.zeros((S, A, S))
    R[0, 0, 1] = 1e-9
    T = _transitions(0)
    assert starc_distance(R, 0.125 * R, T, GAMMA) == pytest.approx(0.0, abs=1e-6)


def test_epic_is_defined_at_gamma_one() -> None:
    rng = np.random.default_rng(3)
    R, phi = rng.normal(size=(S, A, S)), rng.normal(size=S)
    undiscounted = 2.0 * R + phi[None, None, :] - phi[:, None, None]
    assert epic_distance(R, undiscounted, 1.0) == pytest.approx(0.0, abs=1e-9)
    assert epic_distance(R, -R, 1.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="0 <= gamma <= 1"):
        epic_distance(R, R, 1.5)


def _hidden_state_pair() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # R2 differs from R1 only on transitions from or to state 3; D_S gives state 3 no weight
    # and the coverage leaves those transitions out, so EPIC sees no difference.
    rng = np.random.default_rng(5)
    R1 = rng.normal(size=(S, A, S))
    R2 = R1.copy()
    R2[3, :, :] += rng.normal(size=(A, S))
    R2[:, :, 3] += rng.normal(size=(S, A))
    states = np.array([1 / 3, 1 / 3, 1 / 3, 0.0])
    coverage = np.ones((S, A, S))
    coverage[3, :, :] = 0.0
    coverage[:, :, 3] = 0.0
    return R1, R2, states, coverage


def test_state_distribution_and_coverage_change_what_epic_compares() -> None:
    R1, R2, states, coverage = _hidden_state_pair()
    assert epic_distance(R1, R2, GAMMA) > 0.1
    hidden = epic_distance(R1, R2, GAMMA, state_dist=states, coverage=coverage)
    assert hidden == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="coverage must be non-negative"):
        epic_distance(R1, R2, GAMMA, coverage=np.ones((S, A)))


def test_distance_cli_gamma_one_and_distribution_flags(tmp_path) -> None:
    import json
    import subprocess
    import sys

    R1, R2, states, coverage = _hidden_state_pair()
    paths = {}
    for name, array in {"a": R1, "b": R2, "ds": states, "cov": coverage}.items():
        paths[name] = str(tmp_path / f"{name}.npy")
        np.save(paths[name], array)

    def cli(*extra: str) -> tuple[subprocess.CompletedProcess[str], dict]:
        out = tmp_path / "d.json"
        done = subprocess.run(
            [sys.executable, "-m", "rewardsmith.cli", "audit", "distance", paths["a"],
             paths["b"], "--json", str(out), *extra],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        return done, json.loads(out.read_text()) if done.returncode == 0 else {}

    at_one, result = cli("--gamma", "1.0")
    assert at_one.returncode == 0, at_one.stderr
    assert result["epic"] == pytest.approx(epic_distance(R1, R2, 1.0))
    assert result["starc"] is None and "gamma < 1" in at_one.stdout
    flagged, result = cli("--state-dist", paths["ds"], "--coverage", paths["cov"])
    assert flagged.returncode == 0, flagged.stderr
    assert result["epic"] == pytest.approx(0.0, abs=1e-9)
    assert result["starc"] == pytest.approx(
        starc_distance(R1, R2, uniform_transitions(S, A), GAMMA)
    )
