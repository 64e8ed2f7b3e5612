"""The dashboard's numbers, derived from a table of all customers' scores."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from healthdash.scoring import DEFAULT_FACTORS, TIERS

TOP_AT_RISK = 5
BUCKET = 10


def scored_only(table: pd.DataFrame) -> pd.DataFrame:
    """Return the customers whose score is trusted (tier other than insufficient_data)."""
    return table[table["tier"] != "insufficient_data"]


def dashboard_summary(table: pd.DataFrame, as_of: dt.datetime) -> dict[str, Any]:
    """Summarise a score table: counts per tier, averages, the most at risk and the score distribution.

    Averages and the distribution cover customers with enough data; insufficient_data customers are counted
    in `tiers` only.
    """
    scored = scored_only(table)
    at_risk = scored.assign(_name=scored["name"].str.casefold()).sort_values(["score", "_name"], kind="stable")
    top = [
        {
            "id": int(customer_id),
            "name": row["name"],
            "score": float(row["score"]),
            "tier": row["tier"],
            "main_reason": row["main_reason"],
        }
        for customer_id, row in at_risk.head(TOP_AT_RISK).iterrows()
    ]
    counts = table["tier"].value_counts()
    return {
        "as_of": as_of,
        "customer_count": len(table),
        "average_score": _mean(scored["score"]),
        "tiers": {tier: int(counts.get(tier, 0)) for tier in TIERS},
        "top_at_risk": top,
        "factor_averages": {f.key: _mean(scored[f.key]) for f in DEFAULT_FACTORS},
        "distribution": score_distribution(scored["score"]),
    }


def score_distribution(scores: pd.Series) -> list[dict[str, int]]:
    """Count scores in 10-point buckets [0, 10), [10, 20), ... [90, 100]."""
    buckets = (scores // BUCKET).clip(upper=100 // BUCKET - 1).astype(int).value_counts()
    return [{"from": b * BUCKET, "to": (b + 1) * BUCKET, "count": int(buckets.get(b, 0))} for b in range(100 // BUCKET)]


def _mean(values: pd.Series) -> float | None:
    mean = values.mean()
    return None if mean is None or math.isnan(mean) else round(float(mean), 1)
