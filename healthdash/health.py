"""What the service answers about customers' health: one customer's score with its breakdown and evidence, and a
customer's score and tier right after a write. Plain dicts for the JSON encoder, typed for the reader."""

from __future__ import annotations

from typing import Any, NamedTuple, TypedDict

from healthdash.db.reads import EventRow, Evidence


class ScoreAndTier(TypedDict):
    score: float | None
    tier: str


class Recorded(NamedTuple):
    """A stored event, and its customer's score and tier after it."""

    event: EventRow
    health: ScoreAndTier


class ScoreTrend(TypedDict):
    """The score a window earlier, and the change since (None without a score then or now)."""

    previous_score: float | None
    delta: float | None


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
