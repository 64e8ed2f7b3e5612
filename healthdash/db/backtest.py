"""The backtest's reads: the score history against the churn events, counted in PostgreSQL, set-based.

A customer churned on the UTC day of its first `churned` event. A day D of the range counts a customer's row of the
score history when the customer was scored at D and had not churned on or before D; the row is churned when the
churn fell in (D, D + horizon]. Only the history row of day D judges day D: nothing recorded after D reaches it (a
back-dated event restates the days from its own on, never the days before).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from healthdash.scoring import FACTOR_KEYS

FLAGGED = "h.tier IN ('at_risk', 'critical')"
_CHURN = """
    churn AS (
        SELECT customer_id, min((occurred_at AT TIME ZONE 'UTC')::date) AS day
          FROM events WHERE type = 'churned' GROUP BY customer_id
    )"""
_OBSERVED = f"""
    WITH {_CHURN},
    observed AS (
        SELECT h.*, c.arr::float8 AS arr, {FLAGGED} AS flagged,
               coalesce(ch.day <= h.day + :horizon, false) AS churned
          FROM score_history h
          JOIN customers c ON c.id = h.customer_id
          LEFT JOIN churn ch ON ch.customer_id = h.customer_id
         WHERE h.day BETWEEN :first AND :last AND h.score IS NOT NULL AND (ch.day IS NULL OR ch.day > h.day)
    )"""  # noqa: S608 (constant fragments)
_SCORES = text(
    f"""{_OBSERVED}
    SELECT round(score * 10)::int AS bin, churned, flagged, count(*) AS count, coalesce(sum(arr), 0) AS arr
      FROM observed GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    """  # noqa: S608 (constant fragments)
)
_FACTORS = text(
    _OBSERVED
    + " UNION ALL ".join(
        f"""
    SELECT '{key}' AS factor, round({key} * 10)::int AS bin, churned, count(*) AS count
      FROM observed WHERE {key} IS NOT NULL GROUP BY 2, 3"""  # noqa: S608 (the factor keys)
        for key in FACTOR_KEYS
    )
)
_CHURNERS = text(
    f"""
    WITH {_CHURN}
    SELECT ch.customer_id, ch.day, c.arr::float8 AS arr,
           ch.day - min(h.day) FILTER (WHERE {FLAGGED}) AS lead_days,
           coalesce(bool_or({FLAGGED} AND h.day <= ch.day - :lead), false) AS flagged_ahead
      FROM churn ch
      JOIN customers c ON c.id = ch.customer_id
      LEFT JOIN score_history h
        ON h.customer_id = ch.customer_id AND h.day >= ch.day - :horizon AND h.day < ch.day
       AND h.day BETWEEN :first AND :last AND h.score IS NOT NULL
     WHERE ch.day > CAST(:first AS date) AND ch.day <= CAST(:last AS date) + :horizon
     GROUP BY ch.customer_id, ch.day, c.arr
     ORDER BY ch.customer_id
    """  # noqa: S608 (constant fragments)
)
_DAYS = text("SELECT min(day), max(day) FROM score_history_days")
# every customer-day's factor scores, or an even sample of them: one in `every`, by a hash of customer and day
_FACTOR_ROWS = text(
    f"""{_OBSERVED}
    SELECT day - CAST(:first AS date) AS day, {", ".join(FACTOR_KEYS)}, churned, arr
      FROM observed
     WHERE mod(customer_id * 7919 + (day - DATE '2000-01-01') * 104729, :every) = 0
    """  # noqa: S608 (constant fragments)
)


def factor_rows(conn: Connection, first: dt.date, last: dt.date, horizon: int, every: int = 1) -> dict[str, np.ndarray]:
    """Return the customer-days of a range (one in `every`) as columns: day (from `first`), each factor's score (NaN:
    does not apply), churned within the horizon, ARR."""
    params = {"first": first, "last": last, "horizon": horizon, "lead": 0, "every": every}
    rows = conn.execute(_FACTOR_ROWS, params).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * (len(FACTOR_KEYS) + 3)
    result = {"day": np.asarray(columns[0], dtype=np.int64)}
    for i, key in enumerate(FACTOR_KEYS, start=1):
        result[key] = np.asarray([np.nan if v is None else v for v in columns[i]], dtype=np.float64)
    result["churned"] = np.asarray(columns[-2], dtype=bool)
    result["arr"] = np.asarray(columns[-1], dtype=np.float64)
    return result


@dataclass(frozen=True)
class BacktestCounts:
    """What the backtest's figures are computed from."""

    scores: list[Any]  # rows (bin, churned, flagged, count, arr)
    factors: list[Any]  # rows (factor, bin, churned, count)
    churners: list[Any]  # rows (customer_id, day, arr, lead_days, flagged_ahead)


def history_days(conn: Connection) -> tuple[dt.date | None, dt.date | None]:
    """Return the first and last day the score history holds (None, None when it holds none)."""
    first, last = conn.execute(_DAYS).one()
    return first, last


def backtest_counts(conn: Connection, first: dt.date, last: dt.date, horizon: int, lead: int) -> BacktestCounts:
    """Count the observations of the days from `first` to `last`, by score bin, and list the churners."""
    params = {"first": first, "last": last, "horizon": horizon, "lead": lead}
    return BacktestCounts(
        scores=list(conn.execute(_SCORES, params)),
        factors=list(conn.execute(_FACTORS, params)),
        churners=list(conn.execute(_CHURNERS, params)),
    )
