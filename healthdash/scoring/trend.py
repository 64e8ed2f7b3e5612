"""Scores with their trend: the same model applied one window earlier."""

from __future__ import annotations

import numpy as np
import pandas as pd

from healthdash.scoring.config import ScoringConfig
from healthdash.scoring.model import score_customers

PROFILE_COLUMNS = ("name", "segment", "plan", "seats")


def score_with_trend(current: pd.DataFrame, previous: pd.DataFrame, config: ScoringConfig) -> pd.DataFrame:
    """Score customers now and one window earlier; add `previous_score` and `trend` (the delta).

    Both frames are indexed by customer id. A customer who did not exist a window ago has no trend (NaN).
    """
    scored = score_customers(current, config)
    before = score_customers(previous, config)["score"] if len(previous) else pd.Series(dtype=float)
    profile = current[[c for c in PROFILE_COLUMNS if c in current.columns]]
    result = pd.concat([profile, scored], axis=1)
    result["previous_score"] = before.reindex(result.index).astype(float)
    result["trend"] = (result["score"] - result["previous_score"]).round(1)
    result["previous_score"] = result["previous_score"].where(result["previous_score"].notna(), np.nan)
    return result
