"""Set-based reads of whole tables for analysis: customers, events, daily activity, tickets and invoices.

Each function is one statement over any set of customers (None: all of them) and a time range, and returns the rows
as columns (a dict of lists, in the order of `*_COLUMNS`); giving them their dtypes is the caller's job. A bound
left as None leaves that side open. Customer ids are passed as one array parameter, never spliced into the SQL.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

Columns = dict[str, Any]  # column name -> a list of values or an array

CUSTOMER_COLUMNS = ("id", "name", "segment", "plan", "seats", "industry", "region", "owner", "created_at")
EVENT_COLUMNS = ("id", "customer_id", "type", "occurred_at", "recorded_at", "data")
ACTIVITY_COLUMNS = ("customer_id", "day", "logins", "feature_uses", "features_used", "api_calls")
TICKET_COLUMNS = ("id", "customer_id", "subject", "priority", "status", "opened_at", "closed_at")
INVOICE_COLUMNS = ("id", "customer_id", "amount", "issued_at", "due_at", "paid_at", "status")

# `CAST(:ids AS bigint[]) IS NULL` is decided once per statement: with no ids the condition drops out.
_CUSTOMERS = text(
    """
    SELECT id, name, segment, plan, seats, industry, region, owner, created_at
      FROM customers
     WHERE CAST(:ids AS bigint[]) IS NULL OR id = ANY (CAST(:ids AS bigint[]))
     ORDER BY id
    """
)
_KNOWN = text("SELECT id FROM customers WHERE id = ANY (CAST(:ids AS bigint[]))")
# Events come as one JSON document (one parse for all rows, rather than a row object and a JSON parse per event),
# each event an array of the EVENT_COLUMNS with its moments in microseconds since the epoch.
_EVENTS = text(
    """
    SELECT coalesce(json_agg(json_build_array(id, customer_id, type,
                                              (extract(epoch FROM occurred_at) * 1000000)::bigint,
                                              (extract(epoch FROM recorded_at) * 1000000)::bigint,
                                              data)
                             ORDER BY customer_id, occurred_at, id), '[]')::text
      FROM events
     WHERE (CAST(:ids AS bigint[]) IS NULL OR customer_id = ANY (CAST(:ids AS bigint[])))
       AND (CAST(:start AS timestamptz) IS NULL OR occurred_at >= :start)
       AND (CAST(:end AS timestamptz) IS NULL OR occurred_at <= :end)
       AND (CAST(:types AS text[]) IS NULL OR type = ANY (CAST(:types AS text[])))
    """
)
# features_used: how many features of the catalogue were used that day (the set bits of the day's feature mask)
_ACTIVITY = text(
    """
    SELECT customer_id, day, logins, feature_uses,
           bit_count(feature_mask::bit(64))::integer AS features_used, api_calls
      FROM customer_daily
     WHERE (CAST(:ids AS bigint[]) IS NULL OR customer_id = ANY (CAST(:ids AS bigint[])))
       AND (CAST(:start AS date) IS NULL OR day >= :start)
       AND (CAST(:end AS date) IS NULL OR day <= :end)
     ORDER BY customer_id, day
    """
)
_TICKETS = text(
    """
    SELECT id, customer_id, subject, priority, status, opened_at, closed_at
      FROM tickets
     WHERE (CAST(:ids AS bigint[]) IS NULL OR customer_id = ANY (CAST(:ids AS bigint[])))
       AND (CAST(:start AS timestamptz) IS NULL OR opened_at >= :start)
       AND (CAST(:end AS timestamptz) IS NULL OR opened_at <= :end)
     ORDER BY customer_id, opened_at, id
    """
)
# the status as of :day, by the same rule as the invoice timeliness factor (docs/scoring.md)
_INVOICES = text(
    """
    SELECT id, customer_id, amount, issued_at, due_at, paid_at,
           CASE WHEN paid_at IS NOT NULL AND paid_at <= :day AND paid_at <= due_at THEN 'on_time'
                WHEN paid_at IS NOT NULL AND paid_at <= :day AND paid_at <= due_at + :grace THEN 'late_within_grace'
                WHEN paid_at IS NOT NULL AND paid_at <= :day THEN 'late'
                WHEN due_at < :day THEN 'overdue'
                ELSE 'open' END AS status
      FROM invoices
     WHERE (CAST(:ids AS bigint[]) IS NULL OR customer_id = ANY (CAST(:ids AS bigint[])))
       AND (CAST(:start AS date) IS NULL OR issued_at >= :start)
       AND issued_at <= least(:day, coalesce(CAST(:end AS date), :day))
     ORDER BY customer_id, issued_at, id
    """
)


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
    """Return the raw events that occurred from `start` to `end` (both included), by customer and time; their
    moments as UTC datetime64[us] arrays."""
    params = {"ids": _ids(customer_ids), "start": start, "end": end, "types": list(types) if types else None}
    rows = json.loads(conn.execute(_EVENTS, params).scalar_one())
    columns: Columns = {name: [] for name in EVENT_COLUMNS}
    if rows:
        columns = {name: list(values) for name, values in zip(EVENT_COLUMNS, zip(*rows, strict=True), strict=True)}
    for name in ("occurred_at", "recorded_at"):
        columns[name] = np.array(columns[name], dtype=np.int64).astype("datetime64[us]")
    return columns


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


def _ids(customer_ids: Sequence[int] | None) -> list[int] | None:
    return None if customer_ids is None else list(customer_ids)


def _columns(conn: Connection, statement: Any, names: Sequence[str], params: dict[str, Any]) -> Columns:
    rows = conn.execute(statement, params).all()
    if not rows:
        return {name: [] for name in names}
    return {name: list(values) for name, values in zip(names, zip(*rows, strict=True), strict=True)}
