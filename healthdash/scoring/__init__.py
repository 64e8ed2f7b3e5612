"""Pure, explainable health scoring: signals in, scores, tiers and explanations out. No I/O here."""

from healthdash.scoring.config import DEFAULT_WEIGHTS, FACTOR_KEYS, ConfigError, ScoringConfig
from healthdash.scoring.factor import Factor
from healthdash.scoring.model import (
    DEFAULT_FACTORS,
    TIERS,
    FactorResult,
    explain_customer,
    score_customers,
    tier_for_score,
)

__all__ = [
    "DEFAULT_FACTORS",
    "DEFAULT_WEIGHTS",
    "FACTOR_KEYS",
    "TIERS",
    "ConfigError",
    "Factor",
    "FactorResult",
    "ScoringConfig",
    "explain_customer",
    "score_customers",
    "tier_for_score",
]
