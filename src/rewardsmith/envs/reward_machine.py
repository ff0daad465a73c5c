"""Reward machines: finite-state machines over labelled events that emit rewards.

A reward machine (Toro Icarte et al. 2018, 2022) reads, after every step, the set of
propositions that hold (``{"A"}`` when the agent enters cell A) and moves between its states
along the first transition whose condition holds, paying that transition's reward. It can say
"A, then B, never C", which no reward on the environment's observation alone can: the machine
state is the memory the task needs. Giving that state to the agent (``add_state=True``) makes
the product environment Markov again.

Conditions are propositional formulas: names (``A``, ``at_door``), ``!`` (not), ``&``, ``|``,
parentheses, ``true`` and ``false``. Transitions are tried in the order they are defined; a
state with no matching transition stays put and pays ``default_reward``.

Define a machine in Python or TOML::

    initial = "start"
    accepting = ["done"]          # reaching these ends the episode with success
    rejecting = ["failed"]        # reaching these ends it as a failure

    [[transitions]]
    from = "start"
    when = "C"
    to = "failed"
    reward = -1.0

Counterfactual experience (CRM, Toro Icarte et al. 2018): one environment step is a valid
step of the product MDP from *every* machine state, so `RewardMachineEnv` can hand an
off-policy learner one experience per machine state (``info["counterfactual"]``).

Example:
    >>> rm = RewardMachine.from_dict({
    ...     "initial": "u0", "accepting": ["ok"], "rejecting": ["bad"],
    ...     "transitions": [
    ...         {"from": "u0", "when": "C", "to": "bad", "reward": -1},
    ...         {"from": "u0", "when": "A", "to": "u1"},
    ...         {"from": "u1", "when": "C", "to": "bad", "reward": -1},
    ...         {"from": "u1", "when": "B", "to": "ok", "reward": 1},
    ...     ]})
    >>> rm.step("u0", {"B"}), rm.step("u0", {"A"}), rm.step("u1", {"B"})
    (('u0', 0.0), ('u1', 0.0), ('ok', 1.0))
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, SupportsFloat

try:
    import gymnasium as gym
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without the extra
    raise ModuleNotFoundError(
        "rewardsmith.envs needs gymnasium: pip install 'rewardsmith[gym]'", name=exc.name
    ) from exc

__all__ = ["Condition", "RMTransition", "RewardMachine", "RewardMachineEnv", "parse_condition"]

Labeler = Callable[[Any, dict[str, Any]], Iterable[str]]
"""``labeler(observation, info) -> propositions that hold`` after a step."""

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[!&|()]))")


class Condition:
    """A compiled propositional formula over proposition names.

    Example:
        >>> cond = parse_condition("A & !(B | C)")
        >>> cond({"A"}), cond({"A", "C"}), sorted(cond.names)
        (True, False, ['A', 'B', 'C'])
    """

    def __init__(self, text: str, fn: Callable[[frozenset[str]], bool], names: frozenset[str]):
        self.text, self._fn, self.names = text, fn, names

    def __call__(self, labels: Iterable[str]) -> bool:
        return self._fn(frozenset(labels))

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"


def parse_condition(text: str) -> Condition:
    """Compile ``text`` (names, ``! & | ( )``, ``true``, ``false``); raises ValueError."""
    tokens: list[str] = []
    position = 0
    stripped = text.strip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None:
            raise ValueError(f"condition {text!r}: cannot read {stripped[position:]!r}")
        tokens.append(match.group("name") or match.group("op"))
        position = match.end()
    if not tokens:
        raise ValueError("empty condition (write 'true' for a condition that always holds)")
    names: set[str] = set()
    cursor = 0

    def peek() -> str | None:
        return tokens[cursor] if cursor < len(tokens) else None

    def take(expected: str | None = None) -> str:
        nonlocal cursor
        token = peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(f"condition {text!r}: expected {expected or 'more'}, got {token!r}")
        cursor += 1
        return token

    Fn = Callable[[frozenset[str]], bool]

    def parse_or() -> Fn:
        parts = [parse_and()]
        while peek() == "|":
            take("|")
            parts.append(parse_and())
        return parts[0] if len(parts) == 1 else (lambda ls: any(p(ls) for p in parts))

    def parse_and() -> Fn:
        parts = [parse_not()]
        while peek() == "&":
            take("&")
            parts.append(parse_not())
        return parts[0] if len(parts) == 1 else (lambda ls: all(p(ls) for p in parts))

    def parse_not() -> Fn:
        if peek() == "!":
            take("!")
            inner = parse_not()
            return lambda ls: not inner(ls)
        if peek() == "(":
            take("(")
            inner = parse_or()
            take(")")
            return inner
        token = take()
        if token in "&|)":
            raise ValueError(f"condition {text!r}: unexpected {token!r}")
        if token == "true":
            return lambda ls: True
        if token == "false":
            return lambda ls: False
        names.add(token)
        return lambda ls: token in ls

    fn = parse_or()
    if cursor != len(tokens):
        raise ValueError(f"condition {text!r}: unexpected {tokens[cursor]!r}")
    return Condition(text, fn, frozenset(names))


@dataclass(frozen=True)
class RMTransition:
    """``source --when / reward--> target``."""

    source: str
    when: Condition
    target: str
    reward: float = 0.0


class RewardMachine:
    """A reward machine: states, an initial state, terminal states and ordered transitions.

    Args:
        transitions: in priority order: the first whose condition holds is taken.
        initial: the state at reset.
        accepting: terminal states that mean the task is done (``info["success"]``).
        rejecting: terminal states that mean the task failed.
        default_reward: paid when no transition matches (the machine stays).
    """

    def __init__(
        self,
        transitions: Sequence[RMTransition],
        initial: str,
        *,
        accepting: Iterable[str] = (),
        rejecting: Iterable[str] = (),
        default_reward: float = 0.0,
    ) -> None:
        self.transitions = list(transitions)
        self.initial = initial
        self.accepting, self.rejecting = frozenset(accepting), frozenset(rejecting)
        self.default_reward = float(default_reward)
        order = [initial]
        for t in self.transitions:
            order += [s for s in (t.source, t.target) if s not in order]
        for s in sorted(self.accepting | self.rejecting):
            if s not in order:
                raise ValueError(f"terminal state {s!r} has no transition into it")
        if self.accepting & self.rejecting:
            both = sorted(self.accepting & self.rejecting)
            raise ValueError(f"states both accepting and rejecting: {both}")
        for t in self.transitions:
            if t.source in self.accepting | self.rejecting:
                raise ValueError(f"terminal state {t.source!r} cannot have outgoing transitions")
        self.states: tuple[str, ...] = tuple(order)
        self.index = {s: i for i, s in enumerate(self.states)}
        self._out: dict[str, list[RMTransition]] = {s: [] for s in self.states}
        for t in self.transitions:
            self._out[t.source].append(t)

    @property
    def terminal(self) -> frozenset[str]:
        return self.accepting | self.rejecting

    @property
    def propositions(self) -> frozenset[str]:
        """Every proposition a condition reads."""
        return frozenset().union(*(t.when.names for t in self.transitions))

    def step(self, state: str, labels: Iterable[str]) -> tuple[str, float]:
        """The next machine state and the reward for seeing ``labels`` in ``state``."""
        if state not in self._out:
            raise ValueError(f"unknown machine state {state!r}; states: {list(self.states)}")
        held = frozenset(labels)
        for t in self._out[state]:
            if t.when(held):
                return t.target, float(t.reward)
        return state, self.default_reward

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: str = "<dict>") -> RewardMachine:
        """Build from the TOML structure (see the module docstring); errors name the key."""
        known = {"initial", "accepting", "rejecting", "default_reward", "transitions"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{origin}: unknown keys {sorted(unknown)}; expected {sorted(known)}")
        if not isinstance(data.get("initial"), str):
            raise ValueError(f"{origin}: 'initial' must name the start state")
        raw = data.get("transitions")
        if not isinstance(raw, list) or not raw:
            raise ValueError(f"{origin}: 'transitions' must be a non-empty list of tables")
        transitions = []
        for i, item in enumerate(raw):
            where = f"{origin}: transitions[{i}]"
            if not isinstance(item, Mapping):
                raise ValueError(f"{where} must be a table")
            extra = set(item) - {"from", "when", "to", "reward"}
            if extra:
                raise ValueError(f"{where}: unknown keys {sorted(extra)}")
            for key in ("from", "to", "when"):
                if not isinstance(item.get(key), str):
                    raise ValueError(f"{where}.{key} must be a string")
            try:
                when = parse_condition(item["when"])
                reward = float(item.get("reward", 0.0))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: {exc}") from None
            transitions.append(RMTransition(item["from"], when, item["to"], reward))
        try:
            return cls(
                transitions,
                data["initial"],
                accepting=data.get("accepting", ()),
                rejecting=data.get("rejecting", ()),
                default_reward=float(data.get("default_reward", 0.0)),
            )
        except ValueError as exc:
            raise ValueError(f"{origin}: {exc}") from None

    @classmethod
    def from_toml(cls, source: str | Path) -> RewardMachine:
        """Load from a TOML file path, or from TOML text."""
        # A string with a newline or an "=" is TOML text; anything else names a file.
        text_given = isinstance(source, str) and ("\n" in source or "=" in source)
        path = None if text_given else Path(source)
        if path is not None:
            if not path.is_file():
                raise ValueError(f"no reward machine file {str(path)!r}")
            text, origin = path.read_text(), str(path)
        else:
            text, origin = str(source), "<toml>"
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{origin}: not valid TOML: {exc}") from None
        return cls.from_dict(data, origin=origin)

    def __repr__(self) -> str:
        return f"RewardMachine(states={list(self.states)}, initial={self.initial!r})"


def _info_labels(observation: Any, info: dict[str, Any]) -> Iterable[str]:
    labels = info.get("labels")
    if labels is None:
        raise KeyError("the environment puts no 'labels' in info; pass labeler=")
    return labels  # type: ignore[no-any-return]


class RewardMachineEnv(gym.Wrapper):  # type: ignore[misc]
    """Track a reward machine over an environment and pay its rewards.

    The step reward becomes ``machine + env_weight * env`` (the environment's own reward is
    dropped by default), both kept in ``info["reward_components"]``. The episode ends when the
    machine reaches a terminal state; ``info["success"]`` says whether it accepted. The
    machine reads labels after each step only: what holds at reset is not an event.

    Args:
        env: the environment.
        machine: the reward machine.
        labeler: ``(obs, info) -> propositions``; default reads ``info["labels"]``.
        add_state: observe ``(obs, machine state index)`` instead of ``obs``.
        counterfactual: add ``info["counterfactual"]``: for every non-terminal machine state
            ``u``, the experience ``(obs, action, reward, next_obs, terminated)`` the same
            environment step would have given from ``u`` (observations as the agent sees them).
        env_weight: weight of the environment's reward in the step reward.
    """

    def __init__(
        self,
        env: gym.Env,
        machine: RewardMachine,
        *,
        labeler: Labeler | None = None,
        add_state: bool = False,
        counterfactual: bool = False,
        env_weight: float = 0.0,
    ) -> None:
        super().__init__(env)
        self.machine = machine
        self.labeler = labeler or _info_labels
        self.add_state, self.counterfactual = add_state, counterfactual
        self.env_weight = float(env_weight)
        if add_state:
            self.observation_space = gym.spaces.Tuple(
                (env.observation_space, gym.spaces.Discrete(len(machine.states)))
            )
        self.machine_state = machine.initial
        self._obs: Any = None

    def _observe(self, obs: Any, state: str) -> Any:
        return (obs, self.machine.index[state]) if self.add_state else obs

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self.machine_state = self.machine.initial
        self._obs = obs
        info["rm_state"] = self.machine_state
        return self._observe(obs, self.machine_state), info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        labels = frozenset(self.labeler(obs, info))
        before = self.machine_state
        after, machine_reward = self.machine.step(before, labels)
        if self.counterfactual:
            experiences = []
            for u in self.machine.states:
                if u in self.machine.terminal:
                    continue
                v, r = self.machine.step(u, labels)
                experiences.append(
                    (
                        self._observe(self._obs, u),
                        action,
                        r + self.env_weight * float(env_reward),
                        self._observe(obs, v),
                        bool(terminated) or v in self.machine.terminal,
                    )
                )
            info["counterfactual"] = experiences
        self.machine_state, self._obs = after, obs
        components = info.setdefault("reward_components", {"env": float(env_reward)})
        components["machine"] = machine_reward
        info["rm_state"] = after
        info["labels"] = labels
        info["success"] = after in self.machine.accepting
        done = bool(terminated) or after in self.machine.terminal
        reward = machine_reward + self.env_weight * float(env_reward)
        return self._observe(obs, after), reward, done, truncated, info
