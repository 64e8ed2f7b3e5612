"""The dashboard's numbers, derived from a table of all customers' scores."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from healthdash.score_table import ScoreTable
from healthdash.scoring import DEFAULT_FACTORS, TIERS

TOP_AT_RISK = 5
BUCKET = 10
INSUFFICIENT = TIERS.index("insufficient_data")


def scored_only(table: pd.DataFrame) -> pd.DataFrame:
    """Return the customers whose score is trusted (tier other than insufficient_data)."""
    return table[table["tier"] != "insufficient_data"]


def dashboard_summary(table: pd.DataFrame | ScoreTable, as_of: dt.datetime) -> dict[str, Any]:
    """Summarise a score table: counts per tier, averages, the most at risk and the score distribution.

    Averages and the distribution cover customers with enough data; insufficient_data customers are counted
    in `tiers` only. The most at risk are the lowest scores first, ties by name (casefolded), then id.
    """
    scores = table if isinstance(table, ScoreTable) else ScoreTable.from_frame(table)
    tiers = scores.tier_codes()
    scored = tiers != INSUFFICIENT
    by_score = scores.order("score", ascending=True)
    top = [
        {
            "id": int(scores.ids[row]),
            "name": scores.columns["name"][row],
            "score": float(scores.columns["score"][row]),
            "tier": scores.columns["tier"][row],
            "main_reason": scores.columns["main_reason"][row],
        }
        for row in by_score[scored[by_score]][:TOP_AT_RISK]
    ]
    counts = np.bincount(tiers[tiers >= 0], minlength=len(TIERS))
    score = scores.columns["score"][scored]
    return {
        "as_of": as_of,
        "customer_count": len(scores),
        "average_score": _mean(score),
        "tiers": {tier: int(counts[i]) for i, tier in enumerate(TIERS)},
        "top_at_risk": top,
        "factor_averages": {f.key: _mean(scores.columns[f.key][scored]) for f in DEFAULT_FACTORS},
        "distribution": score_distribution(score),
    }


def score_distribution(scores: pd.Series | np.ndarray) -> list[dict[str, int]]:
    """Count scores in 10-point buckets [0, 10), [10, 20), ... [90, 100]."""
    values = np.asarray(scores, dtype=float)
    buckets = np.clip(values // BUCKET, 0, 100 // BUCKET - 1).astype(np.int64)
    counts = np.bincount(buckets, minlength=100 // BUCKET)
    return [{"from": b * BUCKET, "to": (b + 1) * BUCKET, "count": int(counts[b])} for b in range(100 // BUCKET)]


def _mean(values: np.ndarray) -> float | None:
    """Return the mean of the values that are not NaN (summed as pandas does), rounded to 0.1; None if none are."""
    known = ~np.isnan(values)
    count = int(known.sum())
    if not count:
        return None
    mean = float(np.where(known, values, 0.0).sum() / count)
    return None if math.isnan(mean) else round(mean, 1)
