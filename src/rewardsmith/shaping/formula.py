"""Moved to `rewardsmith.core.formula` (spec loading checks formulas, and core imports no shaping).

Kept so that old imports keep working.
"""

from rewardsmith.core.formula import FUNCTIONS, Formula, FormulaError

__all__ = ["FUNCTIONS", "Formula", "FormulaError"]
