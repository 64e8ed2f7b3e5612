"""The per-customer signals behind every factor, aggregated set-based in PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Connection, text

from healthdash.scoring import ScoringConfig

# One row per (as-of day, customer). Usage comes from the daily rollup, never from raw events. The parameters
# CTE must stay NOT MATERIALIZED so that the planner can push the day bounds into the index scans.
_SIGNALS_SQL = """
WITH params AS NOT MATERIALIZED (
    SELECT d::date AS d FROM unnest(CAST(:days AS date[])) AS d
),
catalogue AS (
    SELECT count(*)::int AS size FROM features
),
cust AS (
    SELECT p.d, c.id, c.name, c.segment, c.plan, c.seats,
           (p.d - (c.created_at AT TIME ZONE 'UTC')::date) AS age_days
      FROM customers c CROSS JOIN params p
     WHERE (c.created_at AT TIME ZONE 'UTC')::date <= p.d {customer_filter}
),
usage AS (
    SELECT p.d, u.customer_id,
           count(*) FILTER (WHERE u.day > p.d - :window AND u.logins > 0) AS login_days,
           coalesce(bit_count((bit_or(u.feature_mask) FILTER (WHERE u.day > p.d - :window))::bit(64)), 0)
               AS features_used,
           coalesce(sum(u.api_calls) FILTER (WHERE u.day > p.d - :window), 0) AS api_calls,
           coalesce(sum(u.api_calls) FILTER (WHERE u.day <= p.d - :window), 0) AS api_calls_prev
      FROM params p
      JOIN customer_daily u ON u.day > p.d - 2 * :window AND u.day <= p.d {usage_filter}
     GROUP BY p.d, u.customer_id
),
ticket AS (
    SELECT p.d, t.customer_id,
           count(*) FILTER (WHERE t.priority = 'low') AS tickets_low,
           count(*) FILTER (WHERE t.priority = 'medium') AS tickets_medium,
           count(*) FILTER (WHERE t.priority = 'high') AS tickets_high,
           count(*) FILTER (WHERE t.priority = 'urgent') AS tickets_urgent
      FROM params p
      JOIN tickets t ON t.opened_at >= ((p.d - :window + 1)::timestamp AT TIME ZONE 'UTC')
                    AND t.opened_at < ((p.d + 1)::timestamp AT TIME ZONE 'UTC') {ticket_filter}
     GROUP BY p.d, t.customer_id
),
invoice AS (
    SELECT p.d, i.customer_id,
           count(*) FILTER (WHERE i.paid_at <= p.d AND i.paid_at <= i.due_at) AS invoices_on_time,
           count(*) FILTER (WHERE i.paid_at <= p.d AND i.paid_at > i.due_at
                              AND i.paid_at <= i.due_at + :grace) AS invoices_late_grace,
           count(*) FILTER (WHERE (i.paid_at <= p.d AND i.paid_at > i.due_at + :grace)
                               OR ((i.paid_at IS NULL OR i.paid_at > p.d) AND i.due_at < p.d)) AS invoices_late
      FROM params p
      JOIN invoices i ON i.due_at > p.d - :invoice_window AND i.due_at <= p.d {invoice_filter}
     GROUP BY p.d, i.customer_id
)
SELECT c.d AS as_of_day, c.id, c.name, c.segment, c.plan, c.seats, c.age_days,
       coalesce(u.login_days, 0) AS login_days,
       coalesce(u.features_used, 0) AS features_used,
       (SELECT size FROM catalogue) AS catalogue_size,
       coalesce(t.tickets_low, 0) AS tickets_low,
       coalesce(t.tickets_medium, 0) AS tickets_medium,
       coalesce(t.tickets_high, 0) AS tickets_high,
       coalesce(t.tickets_urgent, 0) AS tickets_urgent,
       coalesce(i.invoices_on_time, 0) AS invoices_on_time,
       coalesce(i.invoices_late_grace, 0) AS invoices_late_grace,
       coalesce(i.invoices_late, 0) AS invoices_late,
       coalesce(u.api_calls, 0) AS api_calls,
       coalesce(u.api_calls_prev, 0) AS api_calls_prev
  FROM cust c
  LEFT JOIN usage u ON u.d = c.d AND u.customer_id = c.id
  LEFT JOIN ticket t ON t.d = c.d AND t.customer_id = c.id
  LEFT JOIN invoice i ON i.d = c.d AND i.customer_id = c.id
 ORDER BY c.d, c.id
"""

_INT_COLUMNS = (
    "seats",
    "age_days",
    "login_days",
    "features_used",
    "catalogue_size",
    "tickets_low",
    "tickets_medium",
    "tickets_high",
    "tickets_urgent",
    "invoices_on_time",
    "invoices_late_grace",
    "invoices_late",
    "api_calls",
    "api_calls_prev",
)


def _sql(filtered: bool) -> str:
    def only(column: str) -> str:
        return f"AND {column} = ANY(CAST(:ids AS bigint[]))" if filtered else ""

    return _SIGNALS_SQL.format(
        customer_filter=only("c.id"),
        usage_filter=only("u.customer_id"),
        ticket_filter=only("t.customer_id"),
        invoice_filter=only("i.customer_id"),
    )


_ALL_SQL = text(_sql(filtered=False))
_SOME_SQL = text(_sql(filtered=True))


def signals_for_customers(
    conn: Connection,
    days: Sequence[dt.date],
    config: ScoringConfig,
    customer_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Return the signals of all customers (or the given ones) as of each day, in one query.

    One row per (as_of_day, customer) that existed on that day, indexed by (as_of_day, id).
    """
    params: dict[str, object] = {
        "days": list(days),
        "window": config.window_days,
        "invoice_window": config.invoice_window_days,
        "grace": config.invoice_grace_days,
    }
    if customer_ids is not None:
        params["ids"] = [int(i) for i in customer_ids]
    result = conn.execute(_ALL_SQL if customer_ids is None else _SOME_SQL, params)
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    for column in _INT_COLUMNS:
        frame[column] = frame[column].astype("int64")
    frame["as_of_day"] = pd.to_datetime(frame["as_of_day"]).dt.date
    return frame.set_index(["as_of_day", "id"])
