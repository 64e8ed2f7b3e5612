"""Invoice timeliness: how punctually the invoices that fell due were paid."""

from __future__ import annotations

from typing import Any

import numpy as np

from healthdash.scoring.config import ScoringConfig
from healthdash.scoring.factor import Columns, Factor, Row, column, plural
from healthdash.scoring.terms import FACTOR_LABELS


class InvoiceTimeliness(Factor):
    key = "invoice_timeliness"
    label = FACTOR_LABELS["invoice_timeliness"]
    measure = "Invoices late or unpaid"
    signals = ("invoices_on_time", "invoices_late_grace", "invoices_late")

    def normalise(self, signals: Columns, config: ScoringConfig) -> np.ndarray:
        on_time, grace = column(signals, "invoices_on_time"), column(signals, "invoices_late_grace")
        due = on_time + grace + column(signals, "invoices_late")
        credit = on_time + 0.5 * grace
        return 100.0 * credit / np.where(due > 0, due, np.nan)

    def measured(self, row: Row, config: ScoringConfig) -> float:
        return float(row["invoices_late"])

    def raw(self, row: Row, config: ScoringConfig) -> dict[str, Any]:
        return {
            "on_time": int(row["invoices_on_time"]),
            "late_within_grace": int(row["invoices_late_grace"]),
            "late_or_unpaid": int(row["invoices_late"]),
            "grace_days": config.invoice_grace_days,
        }

    def describe(self, row: Row, config: ScoringConfig) -> str:
        on_time, grace, late = (
            int(row["invoices_on_time"]),
            int(row["invoices_late_grace"]),
            int(row["invoices_late"]),
        )
        due = on_time + grace + late
        if due == 0:
            return f"No invoice fell due in the last {config.invoice_window_days} days."
        parts = [f"{on_time} paid on time"]
        if grace:
            parts.append(f"{grace} paid up to {config.invoice_grace_days} days late")
        if late:
            parts.append(f"{late} paid later or still unpaid")
        return f"{plural(due, 'invoice')} due in the last {config.invoice_window_days} days: {', '.join(parts)}."
