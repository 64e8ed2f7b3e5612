"""Build per-customer signal frames for scoring tests."""

from __future__ import annotations

from typing import Any

import pandas as pd

BASE: dict[str, Any] = {
    "name": "Acme",
    "segment": "smb",
    "plan": "growth",
    "seats": 10,
    "age_days": 400,
    "login_days": 16,
    "features_used": 8,
    "catalogue_size": 12,
    "tickets_low": 0,
    "tickets_medium": 0,
    "tickets_high": 0,
    "tickets_urgent": 0,
    "invoices_on_time": 3,
    "invoices_late_grace": 0,
    "invoices_late": 0,
    "api_calls": 1000,
    "api_calls_prev": 1000,
}


def signals(*rows: dict[str, Any]) -> pd.DataFrame:
    """Return a signals frame with one row per dict (defaults for what a dict leaves out), ids from 1."""
    return pd.DataFrame([{**BASE, **row} for row in rows], index=pd.Index(range(1, len(rows) + 1), name="id"))
