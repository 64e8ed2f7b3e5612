"""Invoice timeliness: how punctually the invoices that fell due were paid."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from healthdash.scoring.config import ScoringConfig
from healthdash.scoring.factor import Factor, Row, plural


class InvoiceTimeliness(Factor):
    key = "invoice_timeliness"
    label = "Invoice timeliness"
    signals = ("invoices_on_time", "invoices_late_grace", "invoices_late")

    def normalise(self, signals: pd.DataFrame, config: ScoringConfig) -> pd.Series:
        due = signals["invoices_on_time"] + signals["invoices_late_grace"] + signals["invoices_late"]
        credit = signals["invoices_on_time"] + 0.5 * signals["invoices_late_grace"]
        return 100.0 * credit / due.where(due > 0, np.nan)

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
