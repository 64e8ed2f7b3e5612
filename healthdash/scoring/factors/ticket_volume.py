"""Ticket volume: support tickets opened in the window, weighted by priority."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from healthdash.scoring.config import ScoringConfig
from healthdash.scoring.factor import Columns, Factor, Row, column, plural
from healthdash.scoring.terms import FACTOR_LABELS, PRIORITIES


def ticket_load(counts: pd.DataFrame | Row, config: ScoringConfig) -> Any:
    """Sum the tickets opened in the window, each weighted by its priority."""
    weights = config.ticket_priority_weights
    return sum(counts[f"tickets_{p}"] * weights[p] for p in PRIORITIES)


class TicketVolume(Factor):
    key = "ticket_volume"
    label = FACTOR_LABELS["ticket_volume"]
    measure = "Weighted ticket load"
    signals = tuple(f"tickets_{p}" for p in PRIORITIES)

    def normalise(self, signals: Columns, config: ScoringConfig) -> np.ndarray:
        load = ticket_load({f"tickets_{p}": column(signals, f"tickets_{p}") for p in PRIORITIES}, config)
        return 100.0 - config.ticket_points_per_unit * np.asarray(load, dtype=float)

    def measured(self, row: Row, config: ScoringConfig) -> float:
        return float(ticket_load(row, config))

    def raw(self, row: Row, config: ScoringConfig) -> dict[str, Any]:
        counts = {p: int(row[f"tickets_{p}"]) for p in PRIORITIES}
        return {"tickets": counts, "weighted_load": float(ticket_load(row, config))}

    def describe(self, row: Row, config: ScoringConfig) -> str:
        counts = {p: int(row[f"tickets_{p}"]) for p in PRIORITIES}
        total = sum(counts.values())
        if total == 0:
            return f"No support tickets opened in the last {config.window_days} days."
        parts = ", ".join(f"{n} {p}" for p, n in reversed(counts.items()) if n)
        load = float(ticket_load(row, config))
        return (
            f"{plural(total, 'ticket')} opened in the last {config.window_days} days ({parts}): "
            f"weighted load {load:g}, {config.ticket_points_per_unit:g} points each."
        )
