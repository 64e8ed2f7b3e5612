"""What the service answers about customers' health: one customer's score with its breakdown and evidence, and a
customer's score and tier right after a write. Plain dicts for the JSON encoder, typed for the reader."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple, TypedDict

from healthdash.db.reads import DailyRow, EventRow, InvoiceRow, ProfileRow, TicketRow


class ScoreAndTier(TypedDict):
    score: float | None
    tier: str


class Recorded(NamedTuple):
    """A stored event, and its customer's score and tier after it."""

    event: EventRow
    health: ScoreAndTier


class RecentEvents(TypedDict):
    """A page of a customer's events up to a moment, newest first, and how many there are in all."""

    items: list[EventRow]
    total: int
    limit: int
    offset: int


class ScoreTrend(TypedDict):
    """The score a window earlier, and the change since (None without a score then or now)."""

    previous_score: float | None
    delta: float | None


class Evidence(TypedDict):
    """What is known of one customer as of a moment: its profile, recent events, tickets, invoices and usage."""

    customer: ProfileRow
    as_of: dt.datetime
    events: RecentEvents
    tickets: list[TicketRow]
    invoices: list[InvoiceRow]
    activity: list[DailyRow]


class HealthScore(TypedDict):
    """One customer's score as of a moment and its breakdown by factor."""

    score: float | None
    tier: str
    coverage: float
    main_reason: str | None
    trend: ScoreTrend
    factors: list[dict[str, Any]]  # FactorResult.as_dict() of each factor


class HealthReport(Evidence, HealthScore):
    """One customer's score as of a moment, its breakdown by factor, and the evidence behind it."""
