"""Moved to `rewardsmith.core.extract` (shaping's group rewards use them too).

Kept so that old imports keep working.
"""

from rewardsmith.core.extract import (
    DEFAULT_RULES,
    RULES,
    Extraction,
    Rule,
    extract_answer,
    last_boxed,
)

__all__ = ["DEFAULT_RULES", "RULES", "Extraction", "Rule", "extract_answer", "last_boxed"]
