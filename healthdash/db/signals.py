"""The per-customer signals behind every factor, aggregated set-based in PostgreSQL.

One query gives every customer's signals as of a day and as of one window earlier (for the trend): the two as-of
days share their data, so the rollup is read once, over three windows. Usage comes from the daily rollup, never from
raw events. The score board computes the same columns from memory (healthdash.board.records, healthdash.board.usage).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from healthdash.db.prepared import prepared_rows
from healthdash.scoring import ScoringConfig
from healthdash.vocabulary import PRIORITIES

# The parameters CTE must stay NOT MATERIALIZED so that the planner can push the day bounds into the index scans.
# Blocks count back from the as-of day d: block 0 is the window (d - w, d], block 1 the one before, block 2 the
# one before that. Signals as of d read blocks 0 and 1; signals as of d - w read blocks 1 and 2.
_PARAMS = """
params AS NOT MATERIALIZED (
    SELECT CAST(%(day)s AS date) AS d, CAST(%(window)s AS integer) AS w,
           CAST(%(invoice_window)s AS integer) AS iw, CAST(%(grace)s AS integer) AS g
)"""
_USAGE = """
usage AS (
    SELECT u.customer_id,
           {usage_aggregates}
      FROM params p
      JOIN customer_daily u ON u.day > p.d - {blocks} * p.w AND u.day <= p.d {usage_filter}
     GROUP BY u.customer_id
),"""
# API calls are summed as float8 (exact for whole numbers below 2^53): a bigint's sum accumulates wider integers, a
# tenth slower over the millions of rollup rows of all customers.
# Each usage column from the rollup rows, and whether the signals as of the day itself read it (the rest serve only
# the signals a window earlier, for the trend: without it they are not aggregated at all, and come out as 0).
_USAGE_AGGREGATES = {
    "login_days_0": ("count(*) FILTER (WHERE u.logins > 0 AND u.day > p.d - p.w)", True),
    "login_days_1": ("count(*) FILTER (WHERE u.logins > 0 AND u.day <= p.d - p.w AND u.day > p.d - 2 * p.w)", False),
    "feature_mask_0": ("coalesce(bit_or(u.feature_mask) FILTER (WHERE u.day > p.d - p.w), 0)", True),
    "feature_mask_1": (
        "coalesce(bit_or(u.feature_mask) FILTER (WHERE u.day <= p.d - p.w AND u.day > p.d - 2 * p.w), 0)",
        False,
    ),
    "api_calls_0": ("coalesce(sum(u.api_calls::float8) FILTER (WHERE u.day > p.d - p.w), 0)::bigint", True),
    "api_calls_1": (
        "coalesce(sum(u.api_calls::float8) FILTER (WHERE u.day <= p.d - p.w AND u.day > p.d - 2 * p.w), 0)::bigint",
        True,  # the day's api_calls_prev
    ),
    "api_calls_2": ("coalesce(sum(u.api_calls::float8) FILTER (WHERE u.day <= p.d - 2 * p.w), 0)::bigint", False),
}
_REST = """
ticket AS (
    SELECT t.customer_id,
           {ticket_counts}
      FROM params p
      JOIN tickets t ON t.opened_at >= ((p.d - {ticket_blocks} * p.w + 1)::timestamp AT TIME ZONE 'UTC')
                    AND t.opened_at < ((p.d + 1)::timestamp AT TIME ZONE 'UTC') {ticket_filter}
     GROUP BY t.customer_id
),
invoice AS (
    SELECT i.customer_id,
           {invoice_counts}
      FROM params p
      JOIN invoices i ON i.due_at > {invoice_start} AND i.due_at <= p.d {invoice_filter}
     GROUP BY i.customer_id
)
SELECT c.id, c.name, c.segment, c.plan, c.status, c.seats, (c.arr * 100)::bigint AS arr_cents,
       coalesce(c.renewal_date - DATE '1970-01-01', -1) AS renewal_day,
       (p.d - (c.created_at AT TIME ZONE 'UTC')::date) AS age_days,
       (SELECT count(*) FROM features)::integer AS catalogue_size,
       {usage_columns}
       {ticket_columns},
       {invoice_columns}
  FROM params p
  JOIN customers c ON (c.created_at AT TIME ZONE 'UTC')::date <= p.d {customer_filter}
  {usage_join}
  LEFT JOIN ticket t ON t.customer_id = c.id
  LEFT JOIN invoice i ON i.customer_id = c.id
 ORDER BY c.id
"""
INVOICE_COUNTS = ("invoices_on_time", "invoices_late_grace", "invoices_late")
USAGE_COLUMNS = (
    "login_days_0",
    "login_days_1",
    "feature_mask_0",
    "feature_mask_1",
    "api_calls_0",
    "api_calls_1",
    "api_calls_2",
)
PROFILE_COLUMNS = ("name", "segment", "plan", "status")
NUMBER_PROFILE_COLUMNS = ("arr_cents", "renewal_day")  # ARR in cents; the renewal day in days since 1970 (-1: none)


def _ticket_counts() -> str:
    start_0 = "((p.d - p.w + 1)::timestamp AT TIME ZONE 'UTC')"
    parts = []
    for block, when in ((0, f"t.opened_at >= {start_0}"), (1, f"t.opened_at < {start_0}")):
        parts += [f"count(*) FILTER (WHERE t.priority = '{p}' AND {when}) AS tickets_{p}_{block}" for p in PRIORITIES]
    return ",\n           ".join(parts)


def _invoice_counts() -> str:
    parts = []
    for block, e in ((0, "p.d"), (1, "(p.d - p.w)")):
        due = f"i.due_at > {e} - p.iw AND i.due_at <= {e}"
        parts += [
            f"count(*) FILTER (WHERE {due} AND i.paid_at <= {e} AND i.paid_at <= i.due_at) AS invoices_on_time_{block}",
            f"count(*) FILTER (WHERE {due} AND i.paid_at <= {e} AND i.paid_at > i.due_at "
            f"AND i.paid_at <= i.due_at + p.g) AS invoices_late_grace_{block}",
            f"count(*) FILTER (WHERE {due} AND ((i.paid_at <= {e} AND i.paid_at > i.due_at + p.g) "
            f"OR ((i.paid_at IS NULL OR i.paid_at > {e}) AND i.due_at < {e}))) AS invoices_late_{block}",
        ]
    return ",\n           ".join(parts)


def _sql(filtered: bool, trend: bool = True) -> str:
    def only(column: str) -> str:
        return f"AND {column} = ANY(CAST(%(ids)s AS bigint[]))" if filtered else ""

    ticket_names = [f"tickets_{p}_{b}" for b in (0, 1) for p in PRIORITIES]
    invoice_names = [f"{name}_{b}" for b in (0, 1) for name in INVOICE_COUNTS]
    body = _REST.format(
        ticket_counts=_ticket_counts(),
        invoice_counts=_invoice_counts(),
        usage_columns="".join(f"coalesce(u.{n}, 0) AS {n}, " for n in USAGE_COLUMNS),
        ticket_columns=", ".join(f"coalesce(t.{n}, 0) AS {n}" for n in ticket_names),
        invoice_columns=", ".join(f"coalesce(i.{n}, 0) AS {n}" for n in invoice_names),
        usage_join="LEFT JOIN usage u ON u.customer_id = c.id",
        customer_filter=only("c.id"),
        ticket_filter=only("t.customer_id"),
        invoice_filter=only("i.customer_id"),
        ticket_blocks=2 if trend else 1,
        invoice_start="p.d - p.w - p.iw" if trend else "p.d - p.iw",
    )
    aggregates = ",\n           ".join(
        f"{sql if trend or needed else '0'} AS {name}" for name, (sql, needed) in _USAGE_AGGREGATES.items()
    )
    usage = _USAGE.format(usage_aggregates=aggregates, usage_filter=only("u.customer_id"), blocks=3 if trend else 2)
    return "WITH" + _PARAMS + "," + usage + body


# Without the trend, the signals a window earlier are not needed: the scans stop a window sooner (a third less of the
# rollup), the aggregates only they read are left out, and the earlier window's columns come out incomplete.
_QUERIES = {(filtered, trend): _sql(filtered, trend) for filtered in (False, True) for trend in (False, True)}


@dataclass(frozen=True)
class WindowSignals:
    """Customers' signals as of a day and one window earlier, as columns (one element per customer).

    `ids` are the customers that existed on the day, ascending; `previous_ids` those that existed a window earlier.
    Each mapping holds the columns a scoring factor reads, plus the profile (name, segment, plan, seats).
    """

    day: dt.date
    ids: np.ndarray
    current: dict[str, np.ndarray]
    previous_ids: np.ndarray
    previous: dict[str, np.ndarray]


def window_signals(
    conn: Connection,
    day: dt.date,
    config: ScoringConfig,
    customer_ids: Sequence[int] | None = None,
    trend: bool = True,
) -> WindowSignals:
    """Return the signals of all customers (or the given ones) as of `day` and a window earlier, in one query;
    without `trend`, only as of `day` (the earlier window's signals are left incomplete: no score of it may be used)."""
    params: dict[str, Any] = {
        "day": day,
        "window": config.window_days,
        "invoice_window": config.invoice_window_days,
        "grace": config.invoice_grace_days,
    }
    if customer_ids is not None:
        params["ids"] = sorted({int(i) for i in customer_ids})
    return split_windows(day, _fetch_columns(conn, customer_ids is not None, params, trend), config.window_days)


def split_windows(day: dt.date, raw: dict[str, np.ndarray], window: int) -> WindowSignals:
    """Turn the query's columns (blocks 0, 1, 2) into the signals as of `day` and as of a window earlier."""
    ids = raw["id"].astype(np.int64)
    # the columns are arrays of their own, made for this reading: as of `day` they are taken as they are, not copied
    # (at 100,000 customers, 14 MB less while both are held); no score table writes into the columns it takes over
    age = raw["age_days"].astype(np.int64, copy=False)
    existed = age >= window
    catalogue = raw["catalogue_size"].astype(np.int64, copy=False)
    profile = {c: raw[c].astype(object, copy=False) for c in PROFILE_COLUMNS}
    for name in ("seats", *NUMBER_PROFILE_COLUMNS):
        profile[name] = raw[name].astype(np.int64, copy=False)

    def as_of(block: int, rows: np.ndarray | slice) -> dict[str, np.ndarray]:
        columns = {name: values[rows] for name, values in profile.items()}
        columns["age_days"] = (age - block * window)[rows]
        columns["catalogue_size"] = catalogue[rows]
        columns["login_days"] = raw[f"login_days_{block}"].astype(np.int64, copy=False)[rows]
        columns["features_used"] = features_used(raw[f"feature_mask_{block}"])[rows]
        for p in PRIORITIES:
            columns[f"tickets_{p}"] = raw[f"tickets_{p}_{block}"].astype(np.int64, copy=False)[rows]
        for name in INVOICE_COUNTS:
            columns[name] = raw[f"{name}_{block}"].astype(np.int64, copy=False)[rows]
        columns["api_calls"] = raw[f"api_calls_{block}"].astype(np.int64, copy=False)[rows]
        columns["api_calls_prev"] = raw[f"api_calls_{block + 1}"].astype(np.int64, copy=False)[rows]
        return columns

    return WindowSignals(day, ids, as_of(0, slice(None)), ids[existed], as_of(1, existed))


def features_used(masks: np.ndarray) -> np.ndarray:
    """Count the features set in each rollup feature mask."""
    return np.bitwise_count(np.asarray(masks, dtype=np.int64).view(np.uint64)).astype(np.int64)


def _fetch_columns(conn: Connection, filtered: bool, params: dict[str, Any], trend: bool) -> dict[str, np.ndarray]:
    """Run the query; return its result as columns.

    All customers' signals travel as CSV through COPY, parsed in C. Those of a few customers come from a statement
    prepared once per connection: they are asked for with every recorded event and every health page.
    """
    sql = _QUERIES[filtered, trend]
    if not filtered:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            query = cursor.mogrify(sql, params).decode("utf-8")
            buffer = io.BytesIO()
            cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)", buffer)
        finally:
            cursor.close()
        buffer.seek(0)
        frame = pd.read_csv(buffer, keep_default_na=False, na_values=[], dtype={c: str for c in PROFILE_COLUMNS})
        return {str(name): frame[name].to_numpy() for name in frame.columns}
    prepared = "hd_window_signals" if trend else "hd_window_signals_now"
    names, rows = prepared_rows(conn, prepared, sql, _TYPES, params)
    values = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return {
        name: np.array(column, dtype=object if name in PROFILE_COLUMNS else np.int64)
        for name, column in zip(names, values, strict=True)
    }


_TYPES = {"day": "date", "window": "integer", "invoice_window": "integer", "grace": "integer", "ids": "bigint[]"}
