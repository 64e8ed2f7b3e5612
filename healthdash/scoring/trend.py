"""Scores with their trend: the same model applied one window earlier."""

from __future__ import annotations

import numpy as np
import pandas as pd

from healthdash.scoring.config import ScoringConfig
from healthdash.scoring.factor import Columns
from healthdash.scoring.model import score_columns, score_frame

PROFILE_COLUMNS = ("name", "segment", "plan", "status", "seats", "arr_cents", "renewal_day")


def score_with_trend(current: pd.DataFrame, previous: pd.DataFrame, config: ScoringConfig) -> pd.DataFrame:
    """Score customers now and one window earlier; add `previous_score` and `trend` (the delta).

    Both frames are indexed by customer id. A customer who did not exist a window ago has no trend (NaN).
    """
    columns = trend_columns(
        current, current.index.to_numpy(), previous, previous.index.to_numpy(), len(current), len(previous), config
    )
    profile = [c for c in PROFILE_COLUMNS if c in current.columns]
    frame = score_frame({k: v for k, v in columns.items() if k not in profile}, current.index)
    return pd.concat([current[profile], frame], axis=1)


def trend_columns(
    current: Columns,
    current_ids: np.ndarray,
    previous: Columns,
    previous_ids: np.ndarray,
    current_size: int,
    previous_size: int,
    config: ScoringConfig,
) -> dict[str, np.ndarray]:
    """Do what `score_with_trend` does on signal columns: return the profile, score and trend columns as arrays."""
    before = score_columns(previous, previous_size, config)["score"] if previous_size and current_size else None
    return columns_with_trend(current, current_ids, current_size, config, previous_ids, before)


def columns_with_trend(
    current: Columns,
    current_ids: np.ndarray,
    current_size: int,
    config: ScoringConfig,
    previous_ids: np.ndarray,
    previous_scores: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """Score customers from their signals now; their trend from the scores they had a window earlier (given, e.g. as
    the score history kept them: customers not among `previous_ids` have no trend)."""
    result = {c: np.asarray(current[c]) for c in PROFILE_COLUMNS if c in current}
    result.update(score_columns(current, current_size, config))
    previous_score = np.full(current_size, np.nan)
    if previous_scores is not None and len(previous_ids) and current_size:
        ids = np.asarray(current_ids)
        order = np.argsort(ids, kind="stable")
        found = order[np.minimum(np.searchsorted(ids, previous_ids, sorter=order), current_size - 1)]
        known = ids[found] == previous_ids
        previous_score[found[known]] = np.asarray(previous_scores)[known]
    result["previous_score"] = previous_score
    result["trend"] = (result["score"] - previous_score).round(1)
    return result
