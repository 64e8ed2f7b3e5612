"""The health score: a weighted mean of the factors that apply, its tier, and its explanation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from healthdash.scoring.config import ScoringConfig
from healthdash.scoring.factor import Columns, Factor, Row
from healthdash.scoring.factors import (
    ApiUsage,
    FeatureAdoption,
    InvoiceTimeliness,
    LoginFrequency,
    TicketVolume,
)
from healthdash.scoring.terms import TIERS

DEFAULT_FACTORS: tuple[Factor, ...] = (
    LoginFrequency(),
    FeatureAdoption(),
    TicketVolume(),
    InvoiceTimeliness(),
    ApiUsage(),
)
_TIER_NAMES = np.array(TIERS, dtype=object)
CHUNK = 8192  # customers scored at once by `score_columns`


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
    return score_frame(score_columns(signals, len(signals), config, factors), signals.index)


def score_columns(
    signals: Columns,
    size: int,
    config: ScoringConfig | None = None,
    factors: Sequence[Factor] = DEFAULT_FACTORS,
    chunk: int = CHUNK,
) -> dict[str, np.ndarray]:
    """Score `size` customers given as signal columns (a DataFrame or a mapping of arrays); return result columns.

    The columns are those of `score_customers`, as arrays in the same order; this is its engine, cheap for one
    customer as for a hundred thousand. A customer's score depends on its own signals alone, so customers are scored
    `chunk` at a time into the result's arrays: the scoring's scratch arrays stay the same few MB at any count of
    customers (at 100,000 they were twice the size of the result).
    """
    config = config or ScoringConfig()
    if size <= chunk:
        return _scored(signals, size, config, factors)
    result: dict[str, np.ndarray] = {}
    for start in range(0, size, chunk):
        rows = slice(start, min(start + chunk, size))
        part = _scored(_rows(signals, rows), rows.stop - rows.start, config, factors)
        if not result:
            result = {name: np.empty(size, dtype=values.dtype) for name, values in part.items()}
        for name, values in part.items():
            result[name][rows] = values
    return result


def _rows(signals: Columns, rows: slice) -> Columns:
    if isinstance(signals, pd.DataFrame):
        return cast(Columns, signals.iloc[rows])
    return {name: np.asarray(values)[rows] for name, values in signals.items()}


def _scored(signals: Columns, size: int, config: ScoringConfig, factors: Sequence[Factor]) -> dict[str, np.ndarray]:
    keys = [f.key for f in factors]
    scores = np.empty((size, len(factors)))
    for i, f in enumerate(factors):
        scores[:, i] = f.values(signals, config)
    weights = np.array([float(config.weights[key]) for key in keys])
    applies = ~np.isnan(scores)
    weighted = applies * weights
    applicable_weight = weighted.sum(axis=1)
    share = weighted / np.where(applicable_weight > 0, applicable_weight, np.nan)[:, None]
    # points given and taken: none where the factor does not apply (NaN -> 0); each factor's a row of its own
    points, lost_filled = share * scores, share * (100.0 - scores)
    points = np.where(np.isnan(points), 0.0, points).T.copy()
    lost_filled = np.where(np.isnan(lost_filled), 0.0, lost_filled)
    lost = lost_filled.T.copy()
    total = np.where(applies.any(axis=1), points.sum(axis=0), np.nan)
    # rounding twice keeps the score independent of float noise (e.g. from scaling every weight)
    overall = total.round(9).round(1)
    coverage = applicable_weight / weights.sum()

    by_factor = scores.T.copy()
    result: dict[str, np.ndarray] = {key: by_factor[i] for i, key in enumerate(keys)}
    for i, key in enumerate(keys):
        result[f"{key}_points"] = points[i]
        result[f"{key}_lost"] = lost[i]
    result["score"] = overall
    result["coverage"] = coverage
    result["tier"] = tiers_for_scores(overall, coverage, config)
    reasons = np.array([*keys, None], dtype=object)
    main = np.where(lost_filled.max(axis=1, initial=0.0) > 0, lost_filled.argmax(axis=1) if size else 0, len(keys))
    result["main_reason"] = reasons[main]
    return result


def tiers_for_scores(scores: np.ndarray, coverage: np.ndarray, config: ScoringConfig) -> np.ndarray:
    """Name the tier of each score, exactly as `tier_for_score` does one at a time."""
    code = np.where(scores >= config.healthy_min, 0, np.where(scores >= config.at_risk_min, 1, 2))
    code[(coverage < config.min_coverage) | ~np.isfinite(scores)] = 3
    return _TIER_NAMES[code]


def score_frame(columns: Mapping[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    """Return result columns as a frame on the customers' index (tiers as text, main reasons as objects)."""
    frame = pd.DataFrame(
        {name: values for name, values in columns.items() if name != "main_reason"}, index=index, copy=False
    )
    frame["main_reason"] = pd.Series(columns["main_reason"], index=index, dtype=object)
    return frame


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
