"""The spec's shaping tables: per-term transforms and credit, ensembles, normalization.

These are the optional keys a spec may carry on top of its terms (docs/shaping.md has every
formula with its source). They only describe; `rewardsmith.shaping` does the arithmetic.

Example:
    >>> TransformSpec(kind="clip", low=-1, high=1).params()
    {'low': -1.0, 'high': 1.0}
"""

from __future__ import annotations

from typing import Any, Final, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "TRANSFORM_PARAMS",
    "ConstrainedSpec",
    "ConstraintSpec",
    "CreditSpec",
    "EnsembleSpec",
    "LexicographicSpec",
    "NormalizeSpec",
    "TransformSpec",
    "UnlikelinessSpec",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


TransformKind = Literal[
    "affine",
    "clip",
    "ceiling",
    "tanh",
    "sigmoid",
    "zscore",
    "minmax",
    "lsc",
    "par",
    "length_penalty",
    "ppo_c",
]

TRANSFORM_PARAMS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    # kind: (required params, optional params)
    "affine": ((), ("scale", "shift")),
    "clip": ((), ("low", "high")),
    "ceiling": (("high",), ()),
    "tanh": ((), ("scale", "center")),
    "sigmoid": ((), ("scale", "center")),
    "zscore": ((), ("eps",)),
    "minmax": ((), ()),
    "lsc": ((), ("ref", "ref_field")),
    "par": (("ref_field",), ()),
    "length_penalty": (("max_length",), ("coef", "free", "unit", "field")),
    "ppo_c": ((), ("w", "alpha", "initial_mean", "confidence_field")),
}
"""Which params each transform kind takes."""


class TransformSpec(_Strict):
    """One transform of a term's (or an ensemble's) value; a term applies its list in order."""

    kind: TransformKind
    """affine, clip, ceiling, tanh, sigmoid, zscore (running), minmax (running), lsc, par,
    length_penalty or ppo_c."""
    scale: float | None = None
    """affine: multiplier (default 1); tanh/sigmoid: divides ``r - center`` (default 1)."""
    shift: float | None = None
    """affine: added after scaling (default 0)."""
    center: float | None = None
    """tanh/sigmoid: the value mapped to 0 / 0.5 (default 0)."""
    low: float | None = None
    """clip: lower bound (default: none)."""
    high: float | None = None
    """clip: upper bound (default: none); ceiling: the cap."""
    eps: float | None = Field(default=None, gt=0)
    """zscore: added to the variance before the square root (default 1e-8)."""
    ref: float | None = None
    """lsc: a constant reference reward ``r_ref``."""
    ref_field: str | None = None
    """lsc: row field holding ``r_ref(x)``; par: row field holding the reference rewards (a
    number or a list of numbers)."""
    max_length: float | None = Field(default=None, gt=0)
    """length_penalty: length at which the full penalty ``coef`` is paid."""
    coef: float | None = None
    """length_penalty: the largest penalty (default 1)."""
    free: float | None = Field(default=None, ge=0)
    """length_penalty: lengths up to this pay nothing (default 0)."""
    unit: Literal["chars", "words", "whitespace_tokens"] | None = None
    """length_penalty: how the completion is measured (default chars)."""
    field: str | None = None
    """length_penalty: read the length from this numeric row field instead (e.g. a token
    count supplied by the trainer)."""
    w: float | None = None
    """ppo_c: adjustment weight (default 0.5)."""
    alpha: float | None = Field(default=None, gt=0, le=1)
    """ppo_c: weight of each batch's mean in the running reward average (default 0.1)."""
    initial_mean: float | None = None
    """ppo_c: running average before the first batch (default 0)."""
    confidence_field: str | None = None
    """ppo_c: row field with the verbalized confidence in [0, 1]; unset: parsed from
    ``Confidence: <0-10>`` in the completion."""

    @pydantic.model_validator(mode="after")
    def _check_kind_params(self) -> TransformSpec:
        required, optional = TRANSFORM_PARAMS[self.kind]
        allowed = set(required) | set(optional)
        given = {name for name in _PARAM_NAMES if getattr(self, name) is not None}
        stray = sorted(given - allowed)
        if stray:
            takes = ", ".join(sorted(allowed)) or "no params"
            raise ValueError(f"transform {self.kind!r} takes {takes}; remove {', '.join(stray)}")
        missing = [name for name in required if getattr(self, name) is None]
        if missing:
            raise ValueError(f"transform {self.kind!r} needs {', '.join(missing)}")
        if (
            self.kind == "clip"
            and self.low is not None
            and self.high is not None
            and self.low > self.high
        ):
            raise ValueError(f"clip: low ({self.low}) is above high ({self.high})")
        if self.kind == "lsc" and (self.ref is None) == (self.ref_field is None):
            raise ValueError("transform 'lsc' needs exactly one of ref or ref_field")
        if self.kind in ("tanh", "sigmoid") and self.scale is not None and self.scale <= 0:
            raise ValueError(f"{self.kind}: scale must be > 0")
        if self.kind == "length_penalty":
            assert self.max_length is not None
            if (self.free or 0.0) >= self.max_length:
                raise ValueError("length_penalty: free must be below max_length")
            if self.field is not None and self.unit is not None:
                raise ValueError("length_penalty: give unit or field, not both")
        return self

    def params(self) -> dict[str, Any]:
        """The params that were set, by name."""
        return {
            name: getattr(self, name) for name in _PARAM_NAMES if getattr(self, name) is not None
        }


_PARAM_NAMES: Final = tuple(name for name in TransformSpec.model_fields if name != "kind")


class CreditSpec(_Strict):
    """How a term's step scores (``Score.info["steps"]``) become its value."""

    method: Literal["sum", "mean", "min", "product", "last", "pure"]
    """sum, mean, min, product, last, or pure (PURE's softmax(-r/T)-weighted min-form)."""
    temperature: float = Field(default=0.1, gt=0)
    """pure: softmax temperature T; smaller is closer to the minimum (PURE uses 0.1)."""


class EnsembleSpec(_Strict):
    """Several terms scoring the same thing (e.g. reward models) pooled into one component."""

    name: str = Field(min_length=1)
    """Component name of the pooled value; formulas and gates may refer to it."""
    terms: list[str] = Field(min_length=2)
    """Member term names. In the weighted sum, members count only through the ensemble."""
    method: Literal["mean", "median", "min", "mean_minus_var", "mean_minus_std"] = "mean"
    """mean, median, min (worst case), mean_minus_var (uncertainty-weighted: mean - lam * var)
    or mean_minus_std (mean - lam * std); var and std over members, population form."""
    lam: float = Field(default=1.0, ge=0)
    """The uncertainty penalty λ of mean_minus_var and mean_minus_std."""
    weight: float = 1.0
    """Multiplier of the pooled value in the weighted sum."""
    transform: list[TransformSpec] = Field(default_factory=list)
    """Transforms of the pooled value, in order."""
    clip: tuple[float, float] | None = None
    """Shorthand: clip the pooled value to ``[low, high]`` after the transforms."""

    @pydantic.field_validator("transform", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


class LexicographicSpec(_Strict):
    """Hierarchical comparison (HERON): rank factors by importance, compare pairs factor by
    factor, and let a factor decide only when the difference exceeds its margin."""

    order: list[str] = Field(default_factory=list)
    """Term or ensemble names, most important first (default: the terms in spec order)."""
    margins: float | list[float] = 0.0
    """Smallest difference that decides, one per factor or one for all."""
    scope: Literal["group", "batch"] = "group"
    """Compare within each ``group`` (rows without one stand alone) or across the batch."""


class NormalizeSpec(_Strict):
    """Advantages computed after combining, alongside the rewards."""

    method: Literal["grpo", "dr_grpo", "rloo", "batch", "rank", "gdpo", "pass_at_k"]
    """grpo (r-mean)/(std+eps); dr_grpo r-mean; rloo leave-one-out baseline; batch z-score over
    the whole batch; rank centred ranks in [-1, 1]; gdpo per-component group normalization then
    a batch z-score; pass_at_k the analytical pass@k advantage for 0/1 rewards."""
    eps: float = Field(default=1e-6, gt=0)
    """Added to the std before dividing."""
    std: Literal["sample", "population"] = "sample"
    """Standard deviation with n-1 (sample; TRL and verl use this) or n (population)."""
    scope: Literal["group", "batch"] = "group"
    """Statistics per ``group`` or over the whole batch (``batch`` ignores it: always the batch;
    gdpo's second stage is always over the batch)."""
    batch_normalize: bool = True
    """gdpo: z-score the summed advantage over the batch (GDPO's second stage)."""
    k: int | None = Field(default=None, ge=1)
    """pass_at_k: the k of pass@k (required for that method)."""
    threshold: float = 1.0
    """pass_at_k: a reward of at least this counts as correct."""
    process: str | None = None
    """Hybrid credit: a term whose scores carry step rewards (``info["steps"]``); each row also
    gets ``info["step_advantages"]``: the outcome's leave-one-out advantage plus the steps'
    returns against the group's other samples (PRIME-style)."""
    process_weight: float = 1.0
    """Hybrid credit: weight of the process part of each step advantage."""

    @pydantic.model_validator(mode="after")
    def _check(self) -> NormalizeSpec:
        if self.method == "pass_at_k" and self.k is None:
            raise ValueError("method 'pass_at_k' needs k")
        if self.method != "pass_at_k" and self.k is not None:
            raise ValueError(f"k applies to method 'pass_at_k', not {self.method!r}")
        return self


class UnlikelinessSpec(_Strict):
    """Unlikeliness reward (He et al. 2025): within a group, ``r * (1 - beta * rank / G)`` where
    rank 0 is the least likely sample by mean token log-prob."""

    beta: float = Field(default=0.25, ge=0, le=1)
    """How much the most likely sample's reward shrinks (by ``beta * (G-1)/G``)."""
    logprob_field: str = "mean_logprob"
    """Row field holding the policy's mean token log-prob of the completion."""


class ConstraintSpec(_Strict):
    """One constraint of ``combine = "constrained"``: a term kept at or above (or at) a level."""

    term: str = Field(min_length=1)
    """Term or ensemble name whose batch mean is constrained."""
    threshold: float
    """The level θ: the batch mean must stay ``>= θ`` (or ``= θ``)."""
    relation: Literal[">=", "="] = ">="
    """``>=`` (the multiplier stays >= 0: the term is paid only while it is below θ) or ``=``
    (the multiplier may go negative: pushing the term past θ is penalised)."""
    initial: float = 0.0
    """The multiplier before the first batch."""
    bounds: tuple[float, float] | None = None
    """``[low, high]`` for the multiplier (default ``[0, max_multiplier]`` for ``>=`` and
    ``[-max_multiplier, max_multiplier]`` for ``=``)."""

    @pydantic.model_validator(mode="after")
    def _check(self) -> ConstraintSpec:
        if self.bounds is not None:
            low, high = self.bounds
            if low > high:
                raise ValueError(f"bounds = [low, high] needs low <= high, got {list(self.bounds)}")
            if self.relation == ">=" and low < 0:
                raise ValueError(
                    "bounds: a '>=' constraint's multiplier cannot be negative (use relation '=')"
                )
        return self


class ConstrainedSpec(_Strict):
    """Constrained combination (Moskovitz et al. 2023): maximise one objective subject to each
    constraint, with Lagrange multipliers updated from every batch's means."""

    objective: str = Field(min_length=1)
    """Term or ensemble name that is maximised."""
    constraints: list[ConstraintSpec] = Field(min_length=1)
    """One entry per constrained term."""
    lr: float = Field(default=0.1, gt=0)
    """Multiplier learning rate η of ``λ ← clip(λ + η·(θ − mean), low, high)``."""
    max_multiplier: float = Field(default=10.0, gt=0)
    """Default bound on ``|λ|`` for constraints without their own ``bounds``."""

    @pydantic.model_validator(mode="after")
    def _check(self) -> ConstrainedSpec:
        seen: set[str] = set()
        for position, constraint in enumerate(self.constraints):
            where = f"constraints[{position}] ({constraint.term!r})"
            if constraint.term == self.objective:
                raise ValueError(f"{where}: the objective cannot also be a constraint")
            if constraint.term in seen:
                raise ValueError(f"{where}: term {constraint.term!r} is constrained twice")
            seen.add(constraint.term)
            low, high = self.bounds_of(constraint)
            if not low <= constraint.initial <= high:
                raise ValueError(
                    f"{where}.initial: {constraint.initial} is outside the multiplier's bounds "
                    f"[{low}, {high}]"
                )
        return self

    def bounds_of(self, constraint: ConstraintSpec) -> tuple[float, float]:
        """The multiplier's ``(low, high)`` for one constraint."""
        if constraint.bounds is not None:
            return constraint.bounds
        low = 0.0 if constraint.relation == ">=" else -self.max_multiplier
        return (low, self.max_multiplier)
