"""healthdash: explainable customer health scores over PostgreSQL."""

from __future__ import annotations

from typing import Any

__all__ = [
    "activity",
    "backtest",
    "changes",
    "connect",
    "customer_breakdown",
    "customers",
    "events",
    "history",
    "invoices",
    "scores",
    "tickets",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # imported lazily so that `healthdash.scoring` stays free of database imports
    if name in __all__:
        from healthdash import analysis

        return getattr(analysis, name)
    raise AttributeError(f"module 'healthdash' has no attribute {name!r}")
