"""Moved to `rewardsmith.core.params` (models use these types too); kept so old imports work."""

from rewardsmith.core.params import CheckedParam, NonNegativeInt, NonPositiveFloat, PositiveInt

__all__ = ["CheckedParam", "NonNegativeInt", "NonPositiveFloat", "PositiveInt"]
