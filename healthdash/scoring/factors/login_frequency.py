"""Login frequency: how many days in the window someone logged in."""

from __future__ import annotations

from typing import Any

import numpy as np

from healthdash.scoring.config import ScoringConfig
from healthdash.scoring.factor import Columns, Factor, Row, column
from healthdash.scoring.terms import FACTOR_LABELS


class LoginFrequency(Factor):
    key = "login_frequency"
    label = FACTOR_LABELS["login_frequency"]
    measure = "Active login days"
    signals = ("login_days",)
    needs_history = True

    def normalise(self, signals: Columns, config: ScoringConfig) -> np.ndarray:
        return 100.0 * column(signals, "login_days") / config.login_target_days

    def measured(self, row: Row, config: ScoringConfig) -> float:
        return float(row["login_days"])

    def raw(self, row: Row, config: ScoringConfig) -> dict[str, Any]:
        return {"active_days": int(row["login_days"]), "target_days": config.login_target_days}

    def describe(self, row: Row, config: ScoringConfig) -> str:
        days = int(row["login_days"])
        noun = "active day" if days == 1 else "active days"
        return f"{days} {noun} in the last {config.window_days} (target {config.login_target_days:g})."
