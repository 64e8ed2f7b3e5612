"""The dashboard's numbers, derived from a table of all customers' scores."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from healthdash.score_table import ScoreTable
from healthdash.scoring import DEFAULT_FACTORS, TIERS
from healthdash.vocabulary import STATUSES

TOP_AT_RISK = 5
BUCKET = 10
INSUFFICIENT = TIERS.index("insufficient_data")
RENEWAL_DAYS = 90  # renewals due within this many days count on the dashboard
EPOCH = dt.date(1970, 1, 1)


def scored_only(table: pd.DataFrame) -> pd.DataFrame:
    """Return the customers whose score is trusted (tier other than insufficient_data)."""
    return table[table["tier"] != "insufficient_data"]


def dashboard_summary(table: pd.DataFrame | ScoreTable, as_of: dt.datetime, status: str = "active") -> dict[str, Any]:
    """Summarise a score table: counts per tier, averages, the most at risk and the score distribution.

    Only customers of the given status count (active by default; `all` for every one). Averages and the
    distribution cover customers with enough data; insufficient_data customers are counted in `tiers` only. The most
    at risk are the lowest scores first, ties by name (casefolded), then id.
    """
    return summary_of(
        with_status(table if isinstance(table, ScoreTable) else ScoreTable.from_frame(table), status), as_of
    )


def summary_of(scores: ScoreTable, as_of: dt.datetime) -> dict[str, Any]:
    """Summarise every customer of a score table (`dashboard_summary` once the customers of a status are taken)."""
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
        "arr": arr_summary(scores, tiers, as_of),
        "top_at_risk": top,
        "factor_averages": {f.key: _mean(scores.columns[f.key][scored]) for f in DEFAULT_FACTORS},
        "distribution": score_distribution(score),
    }


def with_status(scores: ScoreTable, status: str) -> ScoreTable:
    """Return the customers of a status (active or churned; every one for `all`)."""
    if status == "all":
        return scores
    scores.name_rank()  # made once for the whole table (kept while the names stay), then taken along to the rows
    return scores.take(np.flatnonzero(scores.codes("status", STATUSES) == STATUSES.index(status)), explained=False)


def arr_summary(scores: ScoreTable, tiers: np.ndarray, as_of: dt.datetime) -> dict[str, Any]:
    """Return the ARR per tier, the ARR at risk (at_risk and critical), and the renewals due in the next
    RENEWAL_DAYS days per tier (how many, and their ARR)."""
    arr = scores.columns["arr_cents"].astype(np.int64)
    day = (as_of.astimezone(dt.UTC).date() - EPOCH).days
    ahead = scores.columns["renewal_day"].astype(np.int64) - day
    due = (ahead >= 0) & (ahead <= RENEWAL_DAYS)
    known = tiers >= 0
    by_tier = np.bincount(tiers[known], weights=arr[known], minlength=len(TIERS))
    due_count = np.bincount(tiers[known & due], minlength=len(TIERS))
    due_arr = np.bincount(tiers[known & due], weights=arr[known & due], minlength=len(TIERS))
    risky = [TIERS.index("at_risk"), TIERS.index("critical")]
    return {
        "total": round(float(arr.sum()) / 100, 2),
        "by_tier": {tier: round(float(by_tier[i]) / 100, 2) for i, tier in enumerate(TIERS)},
        "at_risk": round(float(by_tier[risky].sum()) / 100, 2),
        "renewals_due": {tier: int(due_count[i]) for i, tier in enumerate(TIERS)},
        "renewals_due_arr": {tier: round(float(due_arr[i]) / 100, 2) for i, tier in enumerate(TIERS)},
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
