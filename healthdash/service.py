"""The one place where database reads and writes meet the scoring model."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from healthdash.clock import as_of_day, utc_now
from healthdash.db import reads, writes
from healthdash.db.signals import signals_for_customers
from healthdash.scoring import ScoringConfig, explain_customer
from healthdash.scoring.trend import score_with_trend

ACTIVITY_DAYS = 90


class HealthService:
    """Compute health scores and gather the evidence behind them."""

    def __init__(self, engine: Engine, config: ScoringConfig) -> None:
        self.engine = engine
        self.config = config

    def score_table(self, as_of: dt.datetime, customer_ids: Sequence[int] | None = None) -> pd.DataFrame:
        """Return every customer's (or the given ones') score, tier, factors and trend, indexed by customer id."""
        day = as_of_day(as_of)
        previous_day = day - dt.timedelta(days=self.config.window_days)
        with self.engine.connect() as conn:
            signals = signals_for_customers(conn, [day, previous_day], self.config, customer_ids)
        return score_with_trend(_day(signals, day), _day(signals, previous_day), self.config)

    def record_event(
        self, customer_id: int, event_type: str, occurred_at: dt.datetime, data: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Store an event; return it with the customer's updated score and tier, or None for an unknown customer."""
        with self.engine.begin() as conn:
            if not writes.customer_exists(conn, customer_id):
                return None
            event = writes.record_event(conn, customer_id, event_type, occurred_at, data)
        row = self.score_table(utc_now(), [customer_id])
        if row.empty:
            return event, {"score": None, "tier": "insufficient_data"}
        return event, {"score": _number(row["score"].iloc[0]), "tier": row["tier"].iloc[0]}

    def event(self, customer_id: int, event_id: int) -> dict[str, Any] | None:
        """Return one stored event of a customer, or None."""
        with self.engine.connect() as conn:
            return reads.customer_event(conn, customer_id, event_id)

    def ping(self) -> None:
        """Raise unless the database answers."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def customer_health(
        self, customer_id: int, as_of: dt.datetime, events_limit: int = 50, events_offset: int = 0
    ) -> dict[str, Any] | None:
        """Return one customer's score with its breakdown and evidence, or None for an unknown customer."""
        day = as_of_day(as_of)
        previous_day = day - dt.timedelta(days=self.config.window_days)
        with self.engine.connect() as conn:
            profile = reads.customer_profile(conn, customer_id)
            if profile is None:
                return None
            signals = signals_for_customers(conn, [day, previous_day], self.config, [customer_id])
            events, events_total = reads.recent_events(conn, customer_id, as_of, events_limit, events_offset)
            tickets = reads.customer_tickets(conn, customer_id, as_of)
            invoices = reads.customer_invoices(conn, customer_id, day, self.config.invoice_grace_days)
            activity = reads.daily_activity(conn, customer_id, day, ACTIVITY_DAYS)
        current = _day(signals, day)
        health: dict[str, Any] = {
            "customer": profile,
            "as_of": as_of,
            "events": {"items": events, "total": events_total, "limit": events_limit, "offset": events_offset},
            "tickets": tickets,
            "invoices": invoices,
            "activity": activity,
        }
        if current.empty:  # created after as_of
            health.update(score=None, tier="insufficient_data", coverage=0.0, main_reason=None, factors=[])
            health["trend"] = {"previous_score": None, "delta": None}
            return health
        row = score_with_trend(current, _day(signals, previous_day), self.config).iloc[0]
        health.update(
            score=_number(row["score"]),
            tier=row["tier"],
            coverage=round(float(row["coverage"]), 4),
            main_reason=row["main_reason"],
            trend={"previous_score": _number(row["previous_score"]), "delta": _number(row["trend"])},
            factors=[f.as_dict() for f in explain_customer(current.iloc[0].to_dict(), row.to_dict(), self.config)],
        )
        return health


def _day(signals: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    if day in signals.index.get_level_values("as_of_day"):
        return signals.xs(day, level="as_of_day")
    return signals.iloc[0:0].droplevel("as_of_day")


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
