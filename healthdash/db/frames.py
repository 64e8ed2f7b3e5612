"""Set-based reads of whole tables for analysis: customers, events, daily activity, tickets, invoices and the score
history.

Each function is one statement over any set of customers (None: all of them) and a time range, and returns the rows
as columns (a dict of lists or arrays, in the order of `*_COLUMNS`); giving them their dtypes is the caller's job. A
bound left as None leaves that side open. Customer ids are passed as one array parameter, never spliced into the SQL.

Every statement answers one JSON document, an array of rows, each row an array of the columns: one parse for all
rows, rather than a row object per row (and a JSON parse per event's `data`), which would take most of the time for
100,000 rows. Moments travel as microseconds since the epoch and days as days since it; they come back as UTC
datetime64 arrays (NaT where missing).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, TextClause, text

from healthdash.scoring import FACTOR_KEYS

Columns = dict[str, Any]  # column name -> a list of values, or a datetime64 array

CUSTOMER_COLUMNS = (
    "id", "name", "segment", "plan", "seats", "industry", "region", "owner", "created_at", "external_id", "arr",
    "renewal_date", "status",
)  # fmt: skip
EVENT_COLUMNS = ("id", "customer_id", "type", "occurred_at", "recorded_at", "data")
ACTIVITY_COLUMNS = ("customer_id", "day", "logins", "feature_uses", "features_used", "api_calls")
TICKET_COLUMNS = ("id", "customer_id", "subject", "priority", "status", "opened_at", "closed_at")
INVOICE_COLUMNS = ("id", "customer_id", "amount", "issued_at", "due_at", "paid_at", "status")
HISTORY_COLUMNS = ("customer_id", "day", "score", "tier", "coverage", *FACTOR_KEYS, "config_id")
MOMENTS = frozenset({"created_at", "occurred_at", "recorded_at", "opened_at", "closed_at"})  # timestamptz
DAYS = frozenset({"day", "issued_at", "due_at", "paid_at", "renewal_date"})  # date
_MISSING = np.iinfo(np.int64).min  # NaT as an integer


def _document(columns: str, rest: str, order: str) -> TextClause:
    """Return a statement that answers its rows as one JSON array of arrays (from this module's constant SQL)."""
    return text(f"SELECT coalesce(json_agg(json_build_array({columns}) ORDER BY {order}), '[]')::text {rest}")


def _us(column: str) -> str:
    return f"(extract(epoch FROM {column}) * 1000000)::bigint"


def _days(column: str) -> str:
    return f"({column} - DATE '1970-01-01')"


# `CAST(:ids AS bigint[]) IS NULL` is decided once per statement: with no ids the condition drops out.
_CUSTOMERS = _document(
    f"id, name, segment, plan, seats, industry, region, owner, {_us('created_at')}, external_id, arr, "
    f"{_days('renewal_date')}, status",
    "FROM customers WHERE CAST(:ids AS bigint[]) IS NULL OR id = ANY (CAST(:ids AS bigint[]))",
    "id",
)
_KNOWN = text("SELECT id FROM customers WHERE id = ANY (CAST(:ids AS bigint[]))")
_EVENTS = _document(
    f"id, customer_id, type, {_us('occurred_at')}, {_us('recorded_at')}, data",
    """
      FROM events
     WHERE (CAST(:ids AS bigint[]) IS NULL OR customer_id = ANY (CAST(:ids AS bigint[])))
       AND (CAST(:start AS timestamptz) IS NULL OR occurred_at >= :start)
       AND (CAST(:end AS timestamptz) IS NULL OR occurred_at <= :end)
       AND (CAST(:types AS text[]) IS NULL OR type = ANY (CAST(:types AS text[])))
    """,
    "customer_id, occurred_at, id",
)
# features_used: how many features of the catalogue were used that day (the set bits of the day's feature mask)
_ACTIVITY = _document(
    f"customer_id, {_days('day')}, logins, feature_uses, bit_count(feature_mask::bit(64)), api_calls",
    """
      FROM customer_daily
     WHERE (CAST(:ids AS bigint[]) IS NULL OR customer_id = ANY (CAST(:ids AS bigint[])))
       AND (CAST(:start AS date) IS NULL OR day >= :start)
       AND (CAST(:end AS date) IS NULL OR day <= :end)
    """,
    "customer_id, day",
)
_TICKETS = _document(
    f"id, customer_id, subject, priority, status, {_us('opened_at')}, {_us('closed_at')}",
    """
      FROM tickets
     WHERE (CAST(:ids AS bigint[]) IS NULL OR customer_id = ANY (CAST(:ids AS bigint[])))
       AND (CAST(:start AS timestamptz) IS NULL OR opened_at >= :start)
       AND (CAST(:end AS timestamptz) IS NULL OR opened_at <= :end)
    """,
    "customer_id, opened_at, id",
)
# the status as of :day, by the same rule as the invoice timeliness factor (docs/scoring.md)
_INVOICES = _document(
    f"""id, customer_id, amount, {_days("issued_at")}, {_days("due_at")}, {_days("paid_at")},
        CASE WHEN paid_at IS NOT NULL AND paid_at <= :day AND paid_at <= due_at THEN 'on_time'
             WHEN paid_at IS NOT NULL AND paid_at <= :day AND paid_at <= due_at + :grace THEN 'late_within_grace'
             WHEN paid_at IS NOT NULL AND paid_at <= :day THEN 'late'
             WHEN due_at < :day THEN 'overdue'
             ELSE 'open' END""",
    """
      FROM invoices
     WHERE (CAST(:ids AS bigint[]) IS NULL OR customer_id = ANY (CAST(:ids AS bigint[])))
       AND (CAST(:start AS date) IS NULL OR issued_at >= :start)
       AND issued_at <= least(:day, coalesce(CAST(:end AS date), :day))
    """,
    "customer_id, issued_at, id",
)
# Read with COPY as CSV rather than one JSON document: all customers' 90 days at 100,000 customers are 9 million rows.
# The only text spliced in is the scoring model's own factor keys.
_HISTORY = f"""
    SELECT customer_id, day, score, tier, coverage, {", ".join(FACTOR_KEYS)}, config_id
      FROM score_history
     WHERE (CAST(%(ids)s AS bigint[]) IS NULL OR customer_id = ANY (CAST(%(ids)s AS bigint[])))
       AND day BETWEEN %(start)s AND %(end)s
     ORDER BY customer_id, day
"""  # noqa: S608


def customers(conn: Connection, customer_ids: Sequence[int] | None = None) -> Columns:
    """Return the profiles of all customers (or the given ones), by id."""
    return _columns(conn, _CUSTOMERS, CUSTOMER_COLUMNS, {"ids": _ids(customer_ids)})


def unknown_customers(conn: Connection, customer_ids: Sequence[int]) -> list[int]:
    """Return the ids among `customer_ids` that no customer has, in ascending order."""
    known = {row[0] for row in conn.execute(_KNOWN, {"ids": list(customer_ids)})}
    return sorted(set(customer_ids) - known)


def events(
    conn: Connection,
    customer_ids: Sequence[int] | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    types: Sequence[str] | None,
) -> Columns:
    """Return the raw events that occurred from `start` to `end` (both included), by customer and time."""
    params = {"ids": _ids(customer_ids), "start": start, "end": end, "types": list(types) if types else None}
    return _columns(conn, _EVENTS, EVENT_COLUMNS, params)


def activity(
    conn: Connection, customer_ids: Sequence[int] | None, start: dt.date | None, end: dt.date | None
) -> Columns:
    """Return the daily rollup (logins, feature uses, features used, API calls) of the UTC days from start to end."""
    return _columns(conn, _ACTIVITY, ACTIVITY_COLUMNS, {"ids": _ids(customer_ids), "start": start, "end": end})


def tickets(
    conn: Connection, customer_ids: Sequence[int] | None, start: dt.datetime | None, end: dt.datetime | None
) -> Columns:
    """Return the support tickets opened from `start` to `end`, with their priority and status now."""
    return _columns(conn, _TICKETS, TICKET_COLUMNS, {"ids": _ids(customer_ids), "start": start, "end": end})


def invoices(
    conn: Connection,
    customer_ids: Sequence[int] | None,
    start: dt.date | None,
    end: dt.date | None,
    day: dt.date,
    grace_days: int,
) -> Columns:
    """Return the invoices issued from `start` to `end` (and by `day`), each with its status as of `day`."""
    params = {"ids": _ids(customer_ids), "start": start, "end": end, "day": day, "grace": grace_days}
    return _columns(conn, _INVOICES, INVOICE_COLUMNS, params)


def history(conn: Connection, customer_ids: Sequence[int] | None, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Return the written score history of the UTC days from `start` to `end`, by customer and day: a frame with
    HISTORY_COLUMNS (days as text, tiers as text, empty factor scores as NaN)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    buffer = io.BytesIO()
    try:
        query = cursor.mogrify(_HISTORY, {"ids": _ids(customer_ids), "start": start, "end": end}).decode()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", buffer)
    finally:
        cursor.close()
    buffer.seek(0)
    dtypes = {"customer_id": "int64", "day": object, "tier": object, "config_id": "int64"}
    return pd.read_csv(
        buffer, names=list(HISTORY_COLUMNS), header=None, dtype=dtypes, keep_default_na=False, na_values=[""]
    )


def _ids(customer_ids: Sequence[int] | None) -> list[int] | None:
    return None if customer_ids is None else list(customer_ids)


def _columns(conn: Connection, statement: TextClause, names: Sequence[str], params: dict[str, Any]) -> Columns:
    rows = json.loads(conn.execute(statement, params).scalar_one())
    values: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    columns: Columns = {}
    for name, column in zip(names, values, strict=True):
        if name in MOMENTS or name in DAYS:
            numbers = np.array([_MISSING if v is None else v for v in column], dtype=np.int64)
            columns[name] = numbers.astype("datetime64[us]" if name in MOMENTS else "datetime64[D]")
        else:
            columns[name] = list(column)
    return columns
