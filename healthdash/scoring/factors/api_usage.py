"""API usage: the change in API calls between the window and the window before it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from healthdash.scoring.config import ScoringConfig
from healthdash.scoring.factor import Factor, Row


class ApiUsage(Factor):
    key = "api_usage"
    label = "API usage"
    signals = ("api_calls", "api_calls_prev")

    def normalise(self, signals: pd.DataFrame, config: ScoringConfig) -> pd.Series:
        now = signals["api_calls"].astype(float)
        before = signals["api_calls_prev"].astype(float)
        change = (now - before) / before.where(before > 0, np.nan)
        points = np.interp(
            change.fillna(0.0).to_numpy(),
            [config.api_zero_at, config.api_floor_change, config.api_full_at],
            [0.0, config.api_floor_score, 100.0],
        )
        score = pd.Series(points, index=signals.index)
        score = score.where(before > 0, 100.0)  # calls only in the current window: no drop
        return score.where((now > 0) | (before > 0), np.nan)

    def raw(self, row: Row, config: ScoringConfig) -> dict[str, Any]:
        now, before = int(row["api_calls"]), int(row["api_calls_prev"])
        return {
            "calls": now,
            "calls_previous": before,
            "change": round((now - before) / before, 4) if before else None,
        }

    def describe(self, row: Row, config: ScoringConfig) -> str:
        now, before = int(row["api_calls"]), int(row["api_calls_prev"])
        days = config.window_days
        if now == 0 and before == 0:
            return f"No API calls in the last {2 * days} days."
        if before == 0:
            return f"API use began in the last {days} days ({now:,} calls)."
        change = (now - before) / before
        direction = "up" if change > 0 else "down" if change < 0 else "unchanged"
        amount = "" if change == 0 else f" {abs(change):.0%}"
        return f"API calls {direction}{amount}: {now:,} in the last {days} days against {before:,} before."
