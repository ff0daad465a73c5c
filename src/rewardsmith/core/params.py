"""Param types that check their own values when a spec loads.

A reward's keyword params become a pydantic model built from the function's type hints (see
`rewardsmith.core.reward.Reward.params_model`). That model is built with
``typing.get_type_hints(fn)``, which drops ``Annotated[...]`` metadata, so a constraint written
as ``Annotated[int, Field(gt=0)]`` would silently not apply. The types here carry their check in
their own pydantic schema instead, so it applies however the hints are read: a bad value is a
`rewardsmith.SpecError` at load time, not a per-row failure.

A check may look at the params validated before it (``data``): put a param that depends on
others last in the signature.

Example:
    >>> import rewardsmith
    >>> @rewardsmith.reward("demo.clip", register=False)
    ... def clip(sample, *, limit: PositiveInt = 10) -> float:
    ...     return float(min(len(sample.completion_text), limit))
    >>> clip.validate_params({"limit": 3})
    {'limit': 3}
    >>> try:
    ...     clip.validate_params({"limit": 0})
    ... except ValueError as exc:
    ...     print(exc.errors()[0]["msg"])
    Input should be greater than 0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

__all__ = ["CheckedParam", "NonNegativeInt", "NonPositiveFloat", "PositiveInt"]


if TYPE_CHECKING:
    # To a type checker the bounded numbers are plain numbers: `limit: PositiveInt = 10`.
    PositiveInt = int
    NonNegativeInt = int
    NonPositiveFloat = float
else:

    class PositiveInt(int):
        """An integer greater than zero."""

        @classmethod
        def __get_pydantic_core_schema__(
            cls, source: Any, handler: GetCoreSchemaHandler
        ) -> CoreSchema:
            return core_schema.int_schema(gt=0)

    class NonNegativeInt(int):
        """An integer at or above zero."""

        @classmethod
        def __get_pydantic_core_schema__(
            cls, source: Any, handler: GetCoreSchemaHandler
        ) -> CoreSchema:
            return core_schema.int_schema(ge=0)

    class NonPositiveFloat(float):
        """A number at or below zero (a penalty)."""

        @classmethod
        def __get_pydantic_core_schema__(
            cls, source: Any, handler: GetCoreSchemaHandler
        ) -> CoreSchema:
            return core_schema.float_schema(le=0, allow_inf_nan=False)


class CheckedParam:
    """Base of a param type: ``base`` is validated by pydantic, then ``check`` runs.

    Subclass it together with the Python type the value has (``class Pattern(str,
    CheckedParam)``) so that readers and type checkers see what the function receives.
    """

    base: ClassVar[Any] = Any

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        """Return the value (possibly normalised) or raise ValueError with the problem."""
        return value

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        def run(value: Any, info: core_schema.ValidationInfo) -> Any:
            return cls.check(value, dict(info.data or {}))

        return core_schema.with_info_after_validator_function(
            run, handler.generate_schema(cls.base)
        )
