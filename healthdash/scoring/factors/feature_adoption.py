"""Feature adoption: the share of the feature catalogue used in the window."""

from __future__ import annotations

from typing import Any

import numpy as np

from healthdash.scoring.config import ScoringConfig
from healthdash.scoring.factor import Columns, Factor, Row, column
from healthdash.scoring.terms import FACTOR_LABELS


class FeatureAdoption(Factor):
    key = "feature_adoption"
    label = FACTOR_LABELS["feature_adoption"]
    measure = "Features in use"
    signals = ("features_used", "catalogue_size")
    needs_history = True

    def normalise(self, signals: Columns, config: ScoringConfig) -> np.ndarray:
        size = column(signals, "catalogue_size")
        share = column(signals, "features_used") / np.where(size > 0, size, np.nan)
        return 100.0 * share / config.feature_target_share

    def measured(self, row: Row, config: ScoringConfig) -> float:
        return float(row["features_used"])

    def raw(self, row: Row, config: ScoringConfig) -> dict[str, Any]:
        size = int(row["catalogue_size"])
        used = int(row["features_used"])
        return {
            "features_used": used,
            "catalogue_size": size,
            "share": round(used / size, 4) if size else None,
            "target_share": config.feature_target_share,
        }

    def describe(self, row: Row, config: ScoringConfig) -> str:
        size = int(row["catalogue_size"])
        if size == 0:
            return "The feature catalogue is empty, so adoption cannot be measured."
        used = int(row["features_used"])
        return (
            f"Used {used} of {size} features in the last {config.window_days} days "
            f"({used / size:.0%}, target {config.feature_target_share:.0%})."
        )
