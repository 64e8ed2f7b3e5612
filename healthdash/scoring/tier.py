"""A score's tier: where it falls between the configured bounds, or insufficient_data when too little applies."""

from __future__ import annotations

import math

from healthdash.scoring.config import ScoringConfig


def tier_for_score(score: float, coverage: float, config: ScoringConfig) -> str:
    """Name the tier of a score, or insufficient_data when too little of the weight applies."""
    if coverage < config.min_coverage or not math.isfinite(score):
        return "insufficient_data"
    if score >= config.healthy_min:
        return "healthy"
    if score >= config.at_risk_min:
        return "at_risk"
    return "critical"
