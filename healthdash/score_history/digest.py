"""What the dashboard and the customer list know of the history, kept in memory: the tier counts of each of the
last TIER_DAYS closed days, for every customer the last of those days it was in each tier or a better one, and its
row of the days a week and a month back. Movers, tier counts over time, the 7-day change and "tier fell within N
days" are computed from it and the live scores, without a query. PostgreSQL aggregates the 90 days (9 million rows
at 100,000 customers) into a few hundred counts and one row per customer.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from healthdash.db import history as db
from healthdash.score_table import ScoreTable
from healthdash.scoring import FACTOR_KEYS, TIERS, ScoringConfig

TIER_DAYS = 90  # days of tier counts on the dashboard, and the longest "tier fell within N days"
MOVER_SPANS = (7, 30)  # days back of the movers
MOVERS = 10  # customers in each list of movers
INSUFFICIENT = TIERS.index("insufficient_data")


@dataclass(frozen=True)
class HistoryDigest:
    """The recent history of every customer, as arrays (customers in ascending id order)."""

    today: dt.date
    built: float  # time.monotonic() when it was read
    counts: list[dict[str, Any]]  # per written day, oldest first: the day and the customers in each tier
    ids: np.ndarray  # customers with history in the TIER_DAYS days, ascending
    last_at: np.ndarray  # customers x real tiers: the last day (0 .. TIER_DAYS - 1) in that tier or better; -1: never
    then: dict[int, pd.DataFrame]  # days back (MOVER_SPANS) -> that day's rows, indexed by customer id

    def tier_history(self) -> list[dict[str, Any]]:
        """Return the count of customers in each tier for each written day, oldest first."""
        return self.counts

    def change(self, scores: ScoreTable, back: int) -> np.ndarray:
        """Return each customer's score now minus its score `back` days ago (NaN when either is unknown)."""
        change: np.ndarray = np.round(scores.columns["score"].astype(float) - self._then(scores, back, "score"), 1)
        return change  # scores are kept to 0.1 (the history's as 4-byte floats): so is their change

    def movers(self, scores: ScoreTable, config: ScoringConfig, back: int) -> dict[str, list[dict[str, Any]]]:
        """Return the customers whose score fell and rose most over `back` days, with the factor that moved most.

        The change of every customer ranks them; what each factor moved is worked out for the movers shown only (at
        100,000 customers, scanning every row in Python and each factor's change for every customer took 45 ms of the
        event loop at each new table).
        """
        change = self.change(scores, back)
        known = np.flatnonzero(np.isfinite(change) & (scores.tier_codes() != INSUFFICIENT))
        order = known[np.lexsort((scores.ids[known], change[known]))]
        falls = order[change[order] < 0][:MOVERS]
        rises = order[::-1][change[order[::-1]] > 0][:MOVERS]
        shown = np.concatenate([falls, rises])
        then = self.then[back].reindex(scores.ids[shown])
        before = np.stack([then[key].to_numpy(dtype=float) for key in FACTOR_KEYS], axis=1)
        weights = np.array([float(config.weights[key]) for key in FACTOR_KEYS]) * ~np.isnan(before)
        total = weights.sum(axis=1, keepdims=True)
        shares = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
        points = np.stack([scores.columns[f"{key}_points"][shown].astype(float) for key in FACTOR_KEYS], axis=1)
        moved = dict(zip(shown.tolist(), points - np.nan_to_num(before) * shares, strict=True))

        def entry(row: int) -> dict[str, Any]:
            biggest = int(np.argmax(np.abs(moved[row])))
            return {
                "id": int(scores.ids[row]),
                "name": scores.columns["name"][row],
                "score": float(scores.columns["score"][row]),
                "tier": scores.columns["tier"][row],
                "change": round(float(change[row]), 1),
                "factor": FACTOR_KEYS[biggest],
                "factor_points": round(float(moved[row][biggest]), 1),
            }

        return {"falls": [entry(r) for r in falls.tolist()], "rises": [entry(r) for r in rises.tolist()]}

    def tier_fell(self, scores: ScoreTable, within: int) -> np.ndarray:
        """Tell which customers are in a lower tier now than on some closed day of the last `within` days."""
        found = _positions(self.ids, scores.ids)
        rows = found >= 0
        since = TIER_DAYS - within  # the first day of the last `within`, in days after the first kept day
        best = np.full(len(scores), 99)
        for code in range(self.last_at.shape[1] - 1, -1, -1):  # the best tier reached within the days wins
            reached = np.zeros(len(scores), dtype=bool)
            reached[rows] = self.last_at[found[rows], code] >= since
            best = np.where(reached, code, best)
        now = scores.tier_codes()
        fell: np.ndarray = (now != INSUFFICIENT) & (now >= 0) & (now > best)
        return fell

    def _then(self, scores: ScoreTable, back: int, column: str) -> np.ndarray:
        values: np.ndarray = self.then[back][column].reindex(scores.ids).to_numpy(dtype=float)
        return values


def read_digest(engine: Engine, today: dt.date) -> HistoryDigest:
    """Read the recent history from the database: the tier counts and each customer's last days at each tier over
    TIER_DAYS days, and the rows of the movers' days."""
    last = today - dt.timedelta(days=1)
    first = last - dt.timedelta(days=TIER_DAYS - 1)
    back_days = {back: today - dt.timedelta(days=back) for back in MOVER_SPANS}
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        counted = db.tier_counts(conn, first, last)
        reached = db.last_days_at_best(conn, first, last)
        rows = db.rows_of_days(conn, list(back_days.values()))
    counts = []
    for day, group in counted.groupby("day", sort=True):
        found = dict(zip(group["tier"], group["customers"].astype(int), strict=True))
        counts.append({"day": dt.date.fromisoformat(str(day)), **{tier: int(found.get(tier, 0)) for tier in TIERS}})
    reached = reached.sort_values("customer_id")
    last_at = reached[list(TIERS[:INSUFFICIENT])].fillna(-1).to_numpy(dtype=np.int16)
    then = {
        back: rows[rows["day"] == day.isoformat()].set_index("customer_id").drop(columns="day")
        for back, day in back_days.items()
    }
    return HistoryDigest(
        today, time.monotonic(), counts, reached["customer_id"].to_numpy(dtype=np.int64), last_at, then
    )


def _positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Return where each wanted id is in the sorted `ids` (-1 when absent)."""
    if not len(ids):
        return np.full(len(wanted), -1, dtype=np.int64)
    slot = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
    return np.where(ids[slot] == wanted, slot, -1)
