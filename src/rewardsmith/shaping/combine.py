"""From term scores to one reward per row: credit, transforms, gates, ensembles, then a weighted
sum, a formula or a lexicographic comparison, then the unlikeliness reward.

`Shaper` is the compiled form of a spec's shaping keys. It works on a whole batch because some
steps need one: running normalizers update on the batch's values, lexicographic comparison and
the unlikeliness reward look across a group. It keeps the state of stateful transforms (save it
with `Shaper.state_dict`). `combine_terms` is the one-row form, with fresh state.

Per row, in order:

1. ``credit``: a term's step scores (``Score.info["steps"]``) become its value.
2. ``transform`` / ``clip``: each term's ok value goes through its transforms (batch-wise).
3. Status policy: a failed term contributes what ``on_status`` says (``mask`` -> row is None).
4. Gates: a gated term counts as 0 unless its gate term ended ok with its own value (before
   transforms) at least ``gate_min``; a gate that does not apply does not block.
5. Ensembles pool their members; the pooled value has its own transforms.
6. ``combine``: weighted sum (ensemble members count only through their ensemble), formula,
   lexicographic win rate within groups, or constrained (objective plus Lagrange-multiplied
   constraints, whose multipliers then step on the batch's means: `shaping.constrained`).
7. ``unlikeliness``: within each group, scale rewards down for the most likely samples.

Example:
    >>> from rewardsmith import Score, load_spec
    >>> spec = load_spec({"terms": [{"name": "a", "use": "exact_match", "clip": [0, 0.5]},
    ...                             {"name": "b", "use": "exact_match", "weight": 2}]})
    >>> combine_terms(spec, {"a": Score(value=0.9), "b": Score(value=1.0)}, row_id="r").value
    2.5
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import msgspec

from rewardsmith.core.formula import Formula, FormulaError
from rewardsmith.core.policy import apply_policy
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.core.shaping_spec import TransformSpec
from rewardsmith.core.spec import Spec
from rewardsmith.shaping.constrained import Multipliers
from rewardsmith.shaping.credit import aggregate
from rewardsmith.shaping.ensembles import pool
from rewardsmith.shaping.group import unlikeliness
from rewardsmith.shaping.lexicographic import win_rates
from rewardsmith.shaping.transforms import Clip, Transform, TransformError, build_transform

__all__ = ["Shaper", "combine_terms"]


def combine_terms(spec: Spec, term_scores: dict[str, Score], *, row_id: str) -> Score:
    """One row's reward from its term scores (fresh transform state, no group context).

    A failed term becomes what the status policy says (``mask`` makes the row's reward None).
    The row's status is the first failed term's status, in spec order. Components hold each
    applied term's training value under its name, a term's own components under
    ``term.component``, and each ensemble's pooled value under its name.
    """
    return Shaper(spec).combine([term_scores], [None], [row_id])[0]


class _Row:
    """What one row accumulates while it is combined."""

    __slots__ = ("applied", "components", "details", "failures", "masked", "status", "values")

    def __init__(self) -> None:
        self.components: dict[str, float] = {}
        self.details: dict[str, Any] = {}
        self.failures: list[str] = []
        self.status = "ok"
        self.masked = False
        self.applied = 0
        self.values: dict[str, float] = {}

    def fail(self, status: str, reason: str) -> None:
        self.failures.append(reason)
        if self.status == "ok":
            self.status = status


class Shaper:
    """The shaping steps of one spec, with the state of its stateful transforms.

    Example:
        >>> from rewardsmith import Score, load_spec
        >>> spec = load_spec({"terms": [{"name": "rm", "use": "exact_match",
        ...                              "transform": {"kind": "zscore"}}]})
        >>> shaper = Shaper(spec)
        >>> [round(s.value, 3) for s in shaper.combine([{"rm": Score(value=v)} for v in (1.0, 3.0)])]
        [-1.0, 1.0]
        >>> shaper.state_dict()["terms"]["rm"][0]["count"]
        2
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.term_chains = {term.name: _chain(term.transform, term.clip) for term in spec.terms}
        self.ensemble_chains = {e.name: _chain(e.transform, e.clip) for e in spec.ensembles}
        self.members = {member: e.name for e in spec.ensembles for member in e.terms}
        self._lock = threading.Lock()
        self._credit_terms = [term for term in spec.terms if term.credit is not None]
        self._sum_weights = [
            (term.name, term.weight) for term in spec.terms if term.name not in self.members
        ] + [(e.name, e.weight) for e in spec.ensembles]
        names = [term.name for term in spec.terms] + [e.name for e in spec.ensembles]
        self.formula = (
            Formula(spec.formula, names=names)
            if spec.combine == "formula" and spec.formula
            else None
        )
        lex = spec.lexicographic
        self.lex_order = lex.order if lex and lex.order else [term.name for term in spec.terms]
        self.lex_margins = lex.margins if lex else 0.0
        self.lex_scope = lex.scope if lex else "group"
        self.multipliers = (
            Multipliers(spec.constrained)
            if spec.combine == "constrained" and spec.constrained is not None
            else None
        )
        self.last_constraints: dict[str, Any] | None = None
        """The latest batch's constrained-combine record (see `combine_with_report`)."""
        self._transforms = any(self.term_chains.values())
        # A weighted sum without ensembles needs no per-row state object: `_sum_rows` does the
        # work of `_row` and `_total` in one pass per row (a third of the cost on cheap specs).
        self._plain_sum = spec.combine == "sum" and not spec.ensembles
        self._sum_terms = [
            (term.name, term.weight, term.gate, term.gate_min) for term in spec.terms
        ]

    # -- state ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The statistics of every stateful transform, by term / ensemble and position, and
        (with ``combine = "constrained"``) the Lagrange multipliers under ``"constrained"``."""
        state: dict[str, Any] = {
            "terms": {
                name: [t.state_dict() for t in chain] for name, chain in self.term_chains.items()
            },
            "ensembles": {
                name: [t.state_dict() for t in chain]
                for name, chain in self.ensemble_chains.items()
            },
        }
        if self.multipliers is not None:
            state["constrained"] = self.multipliers.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore statistics saved by `state_dict` from a shaper of the same spec."""
        pairs: list[tuple[Any, Any]] = []
        for kind, chains in (("terms", self.term_chains), ("ensembles", self.ensemble_chains)):
            for name, chain in chains.items():
                saved = state.get(kind, {}).get(name)
                if saved is None or len(saved) != len(chain):
                    raise ValueError(
                        f"saved shaping state has no matching entry for {kind} {name!r}"
                    )
                pairs.extend(zip(chain, saved, strict=True))
        if self.multipliers is not None:
            saved_multipliers = state.get("constrained")
            if not isinstance(saved_multipliers, dict):
                raise ValueError("saved shaping state has no 'constrained' multipliers")
            # A copy takes the load first, so a bad entry leaves the live multipliers untouched.
            trial = Multipliers(self.multipliers.spec)
            trial.load_state_dict(saved_multipliers)
        # Checked everything first, so a mismatch leaves the current state untouched.
        for transform, item in pairs:
            transform.load_state_dict(item)
        if self.multipliers is not None:
            self.multipliers = trial

    # -- combining -----------------------------------------------------------------------

    def combine(
        self,
        term_scores: Sequence[dict[str, Score]],
        rows: Sequence[Sample | None] | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[Score]:
        """One `Score` per row from each row's term scores (same order).

        ``rows`` gives the samples (for transforms that read row fields and for groups);
        ``ids`` names rows in errors raised by the ``raise`` policy.
        """
        return self.combine_with_report(term_scores, rows, ids)[0]

    def combine_with_report(
        self,
        term_scores: Sequence[dict[str, Score]],
        rows: Sequence[Sample | None] | None = None,
        ids: Sequence[str] | None = None,
    ) -> tuple[list[Score], dict[str, Any] | None]:
        """`combine`, plus the batch's constrained-combine record (None for other modes):
        the multipliers used, the updated ones, each constraint's batch mean and violation."""
        with self._lock:  # stateful transforms and multipliers must see one batch at a time
            results = self._combine(term_scores, rows, ids)
            return results, self.last_constraints

    def _combine(
        self,
        term_scores: Sequence[dict[str, Score]],
        rows: Sequence[Sample | None] | None,
        ids: Sequence[str] | None,
    ) -> list[Score]:
        size = len(term_scores)
        rows = list(rows) if rows is not None else [None] * size
        ids = list(ids) if ids is not None else [f"row-{index}" for index in range(size)]
        # Copies, because credit and transform failures replace scores; the caller's stay intact.
        # With neither, nothing is replaced, so the caller's dicts are read as they are.
        if self._credit_terms:
            scores = [self._credited(scores) for scores in term_scores]
        elif self._transforms:
            scores = [dict(scores) for scores in term_scores]
        else:
            scores = list(term_scores)
        transformed = self._transform_terms(scores, rows) if self._transforms else None
        groups = [row.group if row is not None else None for row in rows]
        if self._plain_sum:
            results = self._sum_rows(scores, transformed, ids)
            if self.spec.unlikeliness is not None:
                self._unlikeliness(results, rows, groups, ids)
            return results
        if transformed is None:
            transformed = [{} for _ in scores]
        states = [self._row(scores[i], transformed[i], ids[i]) for i in range(size)]
        self._pool_ensembles(states, rows, ids)
        results = [self._total(state, scores[i], ids[i]) for i, state in enumerate(states)]
        if self.spec.combine == "lexicographic":
            self._lexicographic(results, states, groups)
        if self.multipliers is not None:
            live = [
                state.values
                for state, result in zip(states, results, strict=True)
                if not state.masked and state.applied and result.value is not None
            ]
            self.last_constraints = self.multipliers.update(live)
        if self.spec.unlikeliness is not None:
            self._unlikeliness(results, rows, groups, ids)
        return results

    def _credited(self, scores: dict[str, Score]) -> dict[str, Score]:
        out = dict(scores)
        for term in self._credit_terms:
            score = scores[term.name]
            if term.credit is None or score.status != "ok":
                continue
            steps = score.info.get("steps")
            problem = _steps_problem(steps)
            if problem:
                reason = f"credit = {term.credit.method!r} needs info['steps']: {problem}"
                out[term.name] = Score.fail("error", reason)
                continue
            value = aggregate(steps, term.credit.method, temperature=term.credit.temperature)  # type: ignore[arg-type]
            out[term.name] = msgspec.structs.replace(score, value=value)
        return out

    def _transform_terms(
        self, scores: list[dict[str, Score]], rows: list[Sample | None]
    ) -> list[dict[str, float]]:
        values: list[dict[str, float]] = [{} for _ in scores]
        for term in self.spec.terms:
            if not self.term_chains[term.name]:
                continue  # untransformed: _row reads the score's own value
            live = [
                i for i, row_scores in enumerate(scores) if row_scores[term.name].status == "ok"
            ]
            current = {i: float(scores[i][term.name].value) for i in live}  # type: ignore[arg-type]
            failed = _run_chain(self.term_chains[term.name], current, rows)
            for i, reason in failed.items():
                scores[i][term.name] = Score.fail("error", reason)
            for i, value in current.items():
                values[i][term.name] = value
        return values

    def _sum_rows(
        self,
        scores: Sequence[dict[str, Score]],
        transformed: list[dict[str, float]] | None,
        ids: list[str],
    ) -> list[Score]:
        """`_row` then `_total` for ``combine = "sum"`` without ensembles, in one pass per row.

        The same values, in the same order: details and components in spec order, the total
        summed in spec order, the first failed term's status, policy raised in row order.
        """
        policy = self.spec.on_status
        terms = self._sum_terms
        results: list[Score] = []
        append = results.append
        for i, row_scores in enumerate(scores):
            shaped = transformed[i] if transformed is not None else None
            details: dict[str, Any] = {}
            components: dict[str, float] = {}
            failures: list[str] = []
            status = "ok"
            masked = False
            applied = False
            total = 0.0
            for name, weight, gate, gate_min in terms:
                score = row_scores[name]
                term_status = score.status
                detail: dict[str, Any] = {"status": term_status, "value": score.value}
                if score.reason:
                    detail["reason"] = score.reason
                if score.info:
                    detail["info"] = score.info
                details[name] = detail
                if term_status == "not_applicable":
                    continue
                applied = True
                if term_status == "ok":
                    value: float | None = score.value
                    if shaped is not None:
                        value = shaped.get(name, value)
                    if value != score.value:  # also NaN, as `_row` does
                        detail["shaped"] = value
                else:
                    value = apply_policy(policy, score, row_id=ids[i], term=name)
                    failures.append(f"{name}: {term_status}: {score.reason}")
                    if status == "ok":
                        status = term_status
                if value is None:
                    masked = True
                    continue
                if gate is not None and not _gate_passes(row_scores[gate], gate_min):
                    detail["gated_by"] = gate
                    value = 0.0
                components[name] = value
                total += weight * value
                if score.components:
                    for key, sub_value in score.components.items():
                        components[f"{name}.{key}"] = sub_value
            info: dict[str, Any] = {"terms": details}
            if not applied:
                reason = "no term applies to this row" + _task_hint(row_scores)
                empty = Score(status="not_applicable", reason=reason)
                value = apply_policy(policy, empty, row_id=ids[i], term="<row>")
                append(Score(value=value, status="not_applicable", reason=reason, info=info))
                continue
            append(
                Score(
                    value=None if masked else total,
                    status=status,  # type: ignore[arg-type]
                    reason="; ".join(failures),
                    components=components,
                    info=info,
                )
            )
        return results

    def _row(self, scores: dict[str, Score], transformed: dict[str, float], row_id: str) -> _Row:
        state = _Row()
        policy = self.spec.on_status
        for term in self.spec.terms:
            score = scores[term.name]
            state.details[term.name] = _detail(score)
            if score.status == "not_applicable":
                continue
            state.applied += 1
            if score.status == "ok":
                value: float | None = transformed.get(term.name, score.value)
                if value != score.value:
                    state.details[term.name]["shaped"] = value
            else:
                value = apply_policy(policy, score, row_id=row_id, term=term.name)
                state.fail(score.status, f"{term.name}: {score.status}: {score.reason}")
            if value is None:
                state.masked = True
                continue
            if term.gate is not None and not _gate_passes(scores[term.gate], term.gate_min):
                state.details[term.name]["gated_by"] = term.gate
                value = 0.0
            state.components[term.name] = value
            state.values[term.name] = value
            for key, sub_value in score.components.items():
                state.components[f"{term.name}.{key}"] = sub_value
        return state

    def _pool_ensembles(
        self, states: list[_Row], rows: list[Sample | None], ids: list[str]
    ) -> None:
        for ensemble in self.spec.ensembles:
            current: dict[int, float] = {}
            for i, state in enumerate(states):
                found = [state.values[m] for m in ensemble.terms if m in state.values]
                if found and not state.masked:
                    current[i] = pool(found, ensemble.method, lam=ensemble.lam)
            failed = _run_chain(self.ensemble_chains[ensemble.name], current, rows)
            for i, reason in failed.items():
                failure = Score.fail("error", reason)
                states[i].fail("error", f"{ensemble.name}: error: {reason}")
                value = apply_policy(
                    self.spec.on_status, failure, row_id=ids[i], term=ensemble.name
                )
                if value is None:
                    states[i].masked = True
                else:
                    current[i] = value
            for i, value in current.items():
                states[i].values[ensemble.name] = value
                states[i].components[ensemble.name] = value

    def _total(self, state: _Row, scores: dict[str, Score], row_id: str) -> Score:
        info: dict[str, Any] = {"terms": state.details}
        if state.applied == 0:
            reason = "no term applies to this row" + _task_hint(scores)
            empty = Score(status="not_applicable", reason=reason)
            value = apply_policy(self.spec.on_status, empty, row_id=row_id, term="<row>")
            return Score(value=value, status="not_applicable", reason=reason, info=info)
        total: float | None = None
        if not state.masked:
            if self.spec.combine == "sum":
                total = 0.0
                values = state.values
                for name, weight in self._sum_weights:
                    if name in values:
                        total += weight * values[name]
            elif self.multipliers is not None:
                total = self.multipliers.reward(state.values)
                info["multipliers"] = dict(self.multipliers.values)
            elif self.formula is not None:
                total = self._formula_total(state, scores, row_id, info)
                if total is None and state.status == "not_applicable":
                    return Score(
                        value=total,
                        status="not_applicable",
                        reason="; ".join(state.failures),
                        info=info,
                    )
            else:
                total = 0.0  # lexicographic: filled in across the group afterwards
        return Score(
            value=total,
            status=state.status,  # type: ignore[arg-type]
            reason="; ".join(state.failures),
            components=state.components,
            info=info,
        )

    def _formula_total(
        self, state: _Row, scores: dict[str, Score], row_id: str, info: dict[str, Any]
    ) -> float | None:
        assert self.formula is not None
        missing = sorted(name for name in self.formula.names if name not in state.values)
        if missing:
            reason = f"formula needs {', '.join(missing)}, which did not apply to this row"
            empty = Score(status="not_applicable", reason=reason)
            state.status = "not_applicable"
            state.failures.append(reason)
            return apply_policy(self.spec.on_status, empty, row_id=row_id, term="<formula>")
        try:
            return self.formula(state.values)
        except FormulaError as exc:
            failure = Score.fail("error", f"formula: {exc}")
            state.fail("error", failure.reason)
            info["formula_error"] = str(exc)
            return apply_policy(self.spec.on_status, failure, row_id=row_id, term="<formula>")

    def _lexicographic(self, results: list[Score], states: list[_Row], groups: list[Any]) -> None:
        eligible = [
            state.values if result.value is not None and state.applied else None
            for result, state in zip(results, states, strict=True)
        ]
        keys = groups if self.lex_scope == "group" else None
        rates = win_rates(eligible, self.lex_order, self.lex_margins, keys)
        for result, rate in zip(results, rates, strict=True):
            if rate is not None:
                result.value = rate

    def _unlikeliness(
        self, results: list[Score], rows: list[Sample | None], groups: list[Any], ids: list[str]
    ) -> None:
        spec = self.spec.unlikeliness
        assert spec is not None
        logprobs: list[float | None] = []
        for result, row, row_id in zip(results, rows, ids, strict=True):
            raw = row.get(spec.logprob_field) if row is not None else None
            number = raw if isinstance(raw, int | float) and not isinstance(raw, bool) else None
            if (
                result.value is not None
                and result.status != "not_applicable"
                and (number is None or not math.isfinite(number))
            ):
                reason = f"unlikeliness: row field {spec.logprob_field!r} is {raw!r}, not a finite number"
                failure = Score.fail("error", reason)
                result.value = apply_policy(
                    self.spec.on_status, failure, row_id=row_id, term="<unlikeliness>"
                )
                result.reason = "; ".join(filter(None, [result.reason, reason]))
                result.status = "error" if result.status == "ok" else result.status
                number = None
            logprobs.append(float(number) if number is not None else None)
        values = [r.value if r.status != "not_applicable" else None for r in results]
        shaped = unlikeliness(values, logprobs, groups, beta=spec.beta)
        for result, before, after, logprob in zip(results, values, shaped, logprobs, strict=True):
            if before is not None and after is not None and logprob is not None:
                result.info["before_unlikeliness"] = before
                result.value = after


def _chain(specs: list[TransformSpec], clip: tuple[float, float] | None) -> list[Transform]:
    chain = [build_transform(spec) for spec in specs]
    if clip is not None:
        chain.append(Clip(*clip))
    return chain


def _run_chain(
    chain: list[Transform], current: dict[int, float], rows: list[Sample | None]
) -> dict[int, str]:
    """Apply transforms in order to ``current`` (row -> value) in place; returns failed rows."""
    failed: dict[int, str] = {}
    for transform in chain:
        live = sorted(current)
        transform.observe([current[i] for i in live], [rows[i] for i in live])
        for i in live:
            try:
                value = transform.apply(current[i], rows[i])
            except TransformError as exc:
                failed[i] = f"transform {type(transform).__name__}: {exc}"
                del current[i]
                continue
            except (OverflowError, ValueError, ZeroDivisionError) as exc:
                failed[i] = f"transform {type(transform).__name__}: {type(exc).__name__}: {exc}"
                del current[i]
                continue
            if not math.isfinite(value):
                failed[i] = f"transform {type(transform).__name__} gave {value}"
                del current[i]
                continue
            current[i] = value
    return failed


def _steps_problem(steps: object) -> str | None:
    if not isinstance(steps, list) or not steps:
        return "missing or empty" if not steps else f"got {type(steps).__name__}"
    for step in steps:
        if isinstance(step, bool) or not isinstance(step, int | float) or not math.isfinite(step):
            return f"step {step!r} is not a finite number"
    return None


def _gate_passes(gate: Score, gate_min: float) -> bool:
    if gate.status == "not_applicable":
        return True
    return gate.status == "ok" and gate.value is not None and gate.value >= gate_min


def _detail(score: Score) -> dict[str, Any]:
    detail: dict[str, Any] = {"status": score.status, "value": score.value}
    if score.reason:
        detail["reason"] = score.reason
    if score.info:
        detail["info"] = score.info
    return detail


def _task_hint(term_scores: dict[str, Score]) -> str:
    reasons = {score.reason for score in term_scores.values() if score.reason}
    return f" ({'; '.join(sorted(reasons))})" if reasons else ""
