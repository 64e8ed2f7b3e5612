"""Pure, explainable health scoring: signals in, scores, tiers and explanations out. No I/O here."""

from healthdash.scoring.config import DEFAULT_WEIGHTS, ConfigError, ScoringConfig
from healthdash.scoring.factor import Factor
from healthdash.scoring.model import DEFAULT_FACTORS, FactorResult, explain_customer, score_customers, tier_for_score
from healthdash.scoring.terms import FACTOR_KEYS, PRIORITIES, TIERS, FactorKey, Priority, Tier

__all__ = [
    "DEFAULT_FACTORS",
    "DEFAULT_WEIGHTS",
    "FACTOR_KEYS",
    "PRIORITIES",
    "TIERS",
    "ConfigError",
    "Factor",
    "FactorKey",
    "FactorResult",
    "Priority",
    "ScoringConfig",
    "Tier",
    "explain_customer",
    "score_customers",
    "tier_for_score",
]
