"""Pure, explainable health scoring: signals in, scores, tiers and explanations out. No I/O here.

The names are imported on first use: a page's kernel that only needs the configuration and the words
(`ScoringConfig`, `TIERS`) does not pay for pandas and numpy, which the scoring itself needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from healthdash.scoring.config import DEFAULT_WEIGHTS, ConfigError, ScoringConfig
    from healthdash.scoring.factor import Factor
    from healthdash.scoring.model import (
        DEFAULT_FACTORS,
        FactorResult,
        explain_customer,
        score_customers,
    )
    from healthdash.scoring.terms import FACTOR_KEYS, FACTOR_LABELS, PRIORITIES, TIERS, FactorKey, Priority, Tier
    from healthdash.scoring.tier import tier_for_score

_HOMES = {
    "DEFAULT_WEIGHTS": "config",
    "ConfigError": "config",
    "ScoringConfig": "config",
    "Factor": "factor",
    "DEFAULT_FACTORS": "model",
    "FactorResult": "model",
    "explain_customer": "model",
    "score_customers": "model",
    "tier_for_score": "tier",
    "FACTOR_KEYS": "terms",
    "FACTOR_LABELS": "terms",
    "PRIORITIES": "terms",
    "TIERS": "terms",
    "FactorKey": "terms",
    "Priority": "terms",
    "Tier": "terms",
}

__all__ = [
    "DEFAULT_FACTORS",
    "DEFAULT_WEIGHTS",
    "FACTOR_KEYS",
    "FACTOR_LABELS",
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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'healthdash.scoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"healthdash.scoring.{home}"), name)
    globals()[name] = value  # later lookups find it without this function
    return value
