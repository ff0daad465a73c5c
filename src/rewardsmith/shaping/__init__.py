"""Combining term scores into one reward (more shaping tools arrive with the shaping issue)."""

from rewardsmith.shaping.combine import combine_terms

__all__ = ["combine_terms"]
