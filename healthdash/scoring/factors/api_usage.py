"""API usage: the change in API calls between the window and the window before it."""

from __future__ import annotations

from typing import Any

import numpy as np

from healthdash.scoring.config import ScoringConfig
from healthdash.scoring.factor import Columns, Factor, Row, column
from healthdash.scoring.terms import FACTOR_LABELS


class ApiUsage(Factor):
    key = "api_usage"
    label = FACTOR_LABELS["api_usage"]
    measure = "API calls"
    signals = ("api_calls", "api_calls_prev")

    def normalise(self, signals: Columns, config: ScoringConfig) -> np.ndarray:
        now = column(signals, "api_calls")
        before = column(signals, "api_calls_prev")
        change = (now - before) / np.where(before > 0, before, np.nan)
        points = np.interp(
            np.where(np.isnan(change), 0.0, change),
            [config.api_zero_at, config.api_floor_change, config.api_full_at],
            [0.0, config.api_floor_score, 100.0],
        )
        score = np.where(before > 0, points, 100.0)  # calls only in the current window: no drop
        return np.where((now > 0) | (before > 0), score, np.nan)

    def measured(self, row: Row, config: ScoringConfig) -> float:
        return float(row["api_calls"])

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
