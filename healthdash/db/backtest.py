"""The backtest's reads: the score history against the churn events, counted in PostgreSQL, set-based.

A customer churned on the UTC day of its first `churned` event. A day D of the range counts a customer's row of the
score history when the customer was scored at D and had not churned on or before D; the row is churned when the
churn fell in (D, D + horizon]. Only the history row of day D judges day D: nothing recorded after D reaches it (a
back-dated event restates the days from its own on, never the days before).

At 100,000 customers a range of 180 days holds 16.5 million customer-days. The churns are found through a partial
index of the `churned` events; a customer-day finds its customer's ARR and churn day by subscript of two arrays
indexed by customer id, built once per statement, instead of a join per row. The score figures count every
customer-day in one parallel pass, their ARR summed in whole cents (exact below 2^53 cents, about 90 trillion
dollar-days, so the sums do not depend on the order the workers add them in); the per-factor counts and the rows the
weights are fitted on read every customer-day up to FACTOR_DAYS_READ of them, and beyond that every k-th day of the
range (a customer's neighbouring days are nearly the same observation), in one pass over those days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from healthdash.scoring import FACTOR_KEYS

FLAGGED = "h.tier IN ('at_risk', 'critical')"
FACTOR_DAYS_READ = 3_000_000  # customer-days the per-factor counts read at most (then every k-th day of the range)
_CHURN = """
    churn AS (
        SELECT customer_id, min((occurred_at AT TIME ZONE 'UTC')::date) AS day
          FROM events WHERE type = 'churned' GROUP BY customer_id
    )"""
# Each customer's ARR (in cents, exact in a float8) and churn day ('infinity': none), in two arrays indexed by the
# customer's id: a row of the history finds its customer's by subscript, for a fraction of what a hash join with
# customers and the churns costs per row (16.5 million rows: 6.3 s of one backend against 14.1 s). Customer ids are
# an identity from 1, so the arrays hold about one slot per customer (12 bytes each: 1.2 MB at 100,000 customers).
_LOOKUP = """
    lookup AS (
        SELECT array_agg(coalesce(c.arr * 100, 0)::float8 ORDER BY g.id) AS arr_cents,
               array_agg(coalesce(ch.day, 'infinity') ORDER BY g.id) AS churn_day
          FROM generate_series(1, (SELECT max(id) FROM customers)) AS g (id)
          LEFT JOIN customers c ON c.id = g.id
          LEFT JOIN churn ch ON ch.customer_id = g.id
    )"""
_OBSERVED = f"""
    WITH {_CHURN},{_LOOKUP},
    customer_day AS (
        SELECT h.*, (SELECT arr_cents FROM lookup)[h.customer_id] AS arr_cents,
               (SELECT churn_day FROM lookup)[h.customer_id] AS churn_day
          FROM score_history h
         WHERE {{days}} AND h.score IS NOT NULL
    ),
    observed AS (
        SELECT h.*, {FLAGGED} AS flagged, h.churn_day <= h.day + :horizon AS churned
          FROM customer_day h
         WHERE h.churn_day > h.day
    )"""  # noqa: S608 (constant fragments)
_EVERY_DAY = "h.day BETWEEN :first AND :last"
_SAMPLED_DAYS = "h.day = ANY (CAST(:days AS date[]))"  # the block range index on day reads only those days
_SCORES = text(
    f"""{_OBSERVED.format(days=_EVERY_DAY)}
    SELECT round(score * 10)::int AS bin, churned, flagged, count(*) AS count,
           coalesce(sum(arr_cents), 0) / 100 AS arr
      FROM observed GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    """  # noqa: S608 (constant fragments)
)
# Each factor's score bins by churned, in one pass: one grouping set per factor (each customer-day counted once in
# each, a set's other factors' bins left null), the groups of a factor that does not apply (null bin) then dropped.
# Half the CPU of a row per factor and customer-day grouped by factor name (2.3 s against 4.6 s over 2.75 million).
_FACTORS = text(
    f"""{_OBSERVED.format(days=_SAMPLED_DAYS)},
    binned AS (
        SELECT {", ".join(f"round({key} * 10)::int AS {key}" for key in FACTOR_KEYS)}, churned FROM observed
    ),
    counted AS (
        SELECT {", ".join(FACTOR_KEYS)}, churned, count(*) AS count
          FROM binned GROUP BY GROUPING SETS ({", ".join(f"({key}, churned)" for key in FACTOR_KEYS)})
    )
    SELECT f.factor, f.bin, c.churned, c.count
      FROM counted c
     CROSS JOIN LATERAL (VALUES {", ".join(f"('{key}', c.{key})" for key in FACTOR_KEYS)}) AS f (factor, bin)
     WHERE f.bin IS NOT NULL"""  # noqa: S608 (the factor keys)
)
# The churners' days before their churn, in one pass over the range joined to the churns (not an index probe per
# churner: at 17,000 churners those read a heap page per customer-day).
_CHURNERS = text(
    f"""
    WITH {_CHURN},
    seen AS (
        SELECT h.customer_id, min(h.day) FILTER (WHERE {FLAGGED}) AS first_flagged,
               coalesce(bool_or({FLAGGED} AND h.day <= ch.day - :lead), false) AS flagged_ahead
          FROM score_history h
          JOIN churn ch ON ch.customer_id = h.customer_id
         WHERE h.day BETWEEN :first AND :last AND h.score IS NOT NULL
           AND h.day >= ch.day - :horizon AND h.day < ch.day
         GROUP BY h.customer_id
    )
    SELECT ch.customer_id, ch.day, c.arr::float8 AS arr, ch.day - s.first_flagged AS lead_days,
           coalesce(s.flagged_ahead, false) AS flagged_ahead
      FROM churn ch
      JOIN customers c ON c.id = ch.customer_id
      LEFT JOIN seen s ON s.customer_id = ch.customer_id
     WHERE ch.day > CAST(:first AS date) AND ch.day <= CAST(:last AS date) + :horizon
     ORDER BY ch.customer_id
    """  # noqa: S608 (constant fragments)
)
# the first and last day of history and of recorded activity, then what else a backtest is computed from, in a few
# milliseconds: the days written (a restated day is written again), the churns (their partial index) and the
# customers (their ARR; any change of a row gives it a newer xmin)
_INPUTS = text(
    "SELECT (SELECT min(day) FROM score_history_days), (SELECT max(day) FROM score_history_days),"
    "       (SELECT min(day) FROM customer_daily),"
    "       (SELECT max(written_at) FROM score_history_days), (SELECT count(*) FROM score_history_days),"
    "       (SELECT count(*) FROM events WHERE type = 'churned'),"
    "       (SELECT max(occurred_at) FROM events WHERE type = 'churned'),"
    "       (SELECT count(*) FROM customers), (SELECT max(xmin::text::bigint) FROM customers)"
)
# the sampled days' factor scores, or an even sample of them: one in `every`, by a hash of customer and day
_FACTOR_ROWS = text(
    f"""{_OBSERVED.format(days=_SAMPLED_DAYS)}
    SELECT day - CAST(:first AS date) AS day, {", ".join(FACTOR_KEYS)}, churned, arr_cents / 100 AS arr
      FROM observed
     WHERE mod(customer_id * 7919 + (day - DATE '2000-01-01') * 104729, :every) = 0
    """  # noqa: S608 (constant fragments)
)


def day_step(observations: int, limit: int | None = None) -> int:
    """Return k such that every k-th day of a range of `observations` customer-days holds at most about `limit`
    (default FACTOR_DAYS_READ)."""
    most = FACTOR_DAYS_READ if limit is None else limit
    return max(1, -(-observations // max(most, 1)))


def sampled_days(first: dt.date, last: dt.date, step: int) -> list[dt.date]:
    """Return every `step`-th day from `first` to `last`."""
    return [first + dt.timedelta(days=n) for n in range(0, (last - first).days + 1, step)]


def factor_rows(
    conn: Connection, first: dt.date, days: list[dt.date], horizon: int, every: int = 1
) -> dict[str, np.ndarray]:
    """Return the customer-days of the given days (one in `every`) as columns: day (from `first`), each factor's
    score (NaN: does not apply), churned within the horizon, ARR."""
    params = {"first": first, "days": days, "horizon": horizon, "lead": 0, "every": every}
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
    factor_step: int  # the factors' counts read every factor_step-th day of the range (1: every day)


def inputs(conn: Connection) -> tuple[Any, ...]:
    """Return what a backtest reads, as a fingerprint that changes when a day of history is written or restated, a
    churn is recorded, or a customer is added or changed. It starts with the first and last day the score history
    holds (None, None when it holds none) and the first day of recorded activity (None when there is none)."""
    return tuple(conn.execute(_INPUTS).one())


def backtest_counts(conn: Connection, first: dt.date, last: dt.date, horizon: int, lead: int) -> BacktestCounts:
    """Count the observations of the days from `first` to `last`, by score bin, and list the churners; the factors'
    counts read every day of the range while it holds at most FACTOR_DAYS_READ customer-days, else every k-th."""
    params: dict[str, Any] = {"first": first, "last": last, "horizon": horizon, "lead": lead}
    scores = list(conn.execute(_SCORES, params))
    step = day_step(sum(int(row[3]) for row in scores))  # (bin, churned, flagged, count, arr)
    return BacktestCounts(
        scores=scores,
        factors=list(conn.execute(_FACTORS, {**params, "days": sampled_days(first, last, step)})),
        churners=list(conn.execute(_CHURNERS, params)),
        factor_step=step,
    )
