"""The health score: a weighted mean of the factors that apply, its tier, and its explanation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from healthdash.scoring.config import ScoringConfig
from healthdash.scoring.factor import Factor, Row
from healthdash.scoring.factors import (
    ApiUsage,
    FeatureAdoption,
    InvoiceTimeliness,
    LoginFrequency,
    TicketVolume,
)

DEFAULT_FACTORS: tuple[Factor, ...] = (
    LoginFrequency(),
    FeatureAdoption(),
    TicketVolume(),
    InvoiceTimeliness(),
    ApiUsage(),
)
TIERS: tuple[str, ...] = ("healthy", "at_risk", "critical", "insufficient_data")


@dataclass(frozen=True)
class FactorResult:
    """One factor's part in one customer's score."""

    key: str
    label: str
    weight: float
    score: float | None
    points: float
    points_lost: float
    raw: dict[str, Any]
    explanation: str

    def as_dict(self) -> dict[str, Any]:
        """Return the result as plain JSON-ready values."""
        return {
            "key": self.key,
            "label": self.label,
            "weight": self.weight,
            "score": self.score,
            "points": self.points,
            "points_lost": self.points_lost,
            "raw": self.raw,
            "explanation": self.explanation,
        }


def tier_for_score(score: float, coverage: float, config: ScoringConfig) -> str:
    """Name the tier of a score, or insufficient_data when too little of the weight applies."""
    if coverage < config.min_coverage or not np.isfinite(score):
        return "insufficient_data"
    if score >= config.healthy_min:
        return "healthy"
    if score >= config.at_risk_min:
        return "at_risk"
    return "critical"


def score_customers(
    signals: pd.DataFrame,
    config: ScoringConfig | None = None,
    factors: Sequence[Factor] = DEFAULT_FACTORS,
) -> pd.DataFrame:
    """Score every customer (row) of a signals frame at once.

    Returns a frame on the same index with `score` (rounded to 0.1), `tier`, `coverage`, `main_reason` (the key of
    the factor that lost the most points, None when none lost any) and, per factor key, the factor score
    (NaN when not applicable) and `<key>_points` / `<key>_lost`: the points it contributes to and takes from 100.
    """
    config = config or ScoringConfig()
    scores = pd.DataFrame({f.key: f.scores(signals, config) for f in factors}, index=signals.index)
    weights = pd.Series({f.key: float(config.weights[f.key]) for f in factors})
    applies = scores.notna()
    applicable_weight = applies.mul(weights, axis=1).sum(axis=1)
    share = applies.mul(weights, axis=1).div(applicable_weight.where(applicable_weight > 0, np.nan), axis=0)
    points = share * scores
    lost = share * (100.0 - scores)
    overall = points.sum(axis=1, min_count=1).round(1)

    result = scores.copy()
    for f in factors:
        result[f"{f.key}_points"] = points[f.key].fillna(0.0)
        result[f"{f.key}_lost"] = lost[f.key].fillna(0.0)
    result["score"] = overall
    result["coverage"] = applicable_weight / weights.sum()
    result["tier"] = [
        tier_for_score(s, c, config) for s, c in zip(overall.to_numpy(), result["coverage"].to_numpy(), strict=True)
    ]
    lost_filled = lost.fillna(0.0)
    has_loss = lost_filled.max(axis=1) > 0
    main = lost_filled.idxmax(axis=1) if len(result) else pd.Series(index=result.index, dtype=object)
    reasons = [key if loses else None for key, loses in zip(main, has_loss, strict=True)]
    result["main_reason"] = pd.Series(reasons, index=result.index, dtype=object)
    return result


def explain_customer(
    signals: Row,
    scored: Row,
    config: ScoringConfig | None = None,
    factors: Sequence[Factor] = DEFAULT_FACTORS,
) -> list[FactorResult]:
    """Break one customer's score into its factors, given its signals and its row of `score_customers`."""
    config = config or ScoringConfig()
    results = []
    for f in factors:
        value = scored[f.key]
        applies = value is not None and bool(np.isfinite(value))
        results.append(
            FactorResult(
                key=f.key,
                label=f.label,
                weight=float(config.weights[f.key]),
                score=round(float(value), 1) if applies else None,
                points=round(float(scored[f"{f.key}_points"]), 2),
                points_lost=round(float(scored[f"{f.key}_lost"]), 2),
                raw=f.raw(signals, config),
                explanation=f.explain(signals, config),
            )
        )
    return results
