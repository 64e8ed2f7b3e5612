"""Set-based reads of whole tables for analysis: customers, events, daily activity, tickets, invoices and the score
history.

Each function is one statement over any set of customers (None: all of them) and a time range, and returns the rows
as columns (name -> array, in the order of `*_COLUMNS`); giving them the analysts' dtypes is the caller's job. A bound
left as None leaves that side open. Customer ids are passed as one array parameter, never spliced into the SQL.

Every statement's rows travel through COPY as CSV and are parsed in C by pandas: 100,000 customers or millions of
activity rows arrive as arrays without a Python object per value (a JSON document or a row object per row took most
of the time at that size). Moments travel as microseconds since the epoch and days as days since it; they come back
as datetime64 arrays (NaT where missing). NULL is written as `\\N`; the nullable text columns also carry whether each
value is NULL, so a text that happens to read `\\N` stays itself.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd
from sqlalchemy import Connection, text

from healthdash.scoring import FACTOR_KEYS

Columns = dict[str, Any]  # column name -> an array (or a Series) of values

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
INTEGERS = frozenset({"id", "customer_id", "seats", "logins", "feature_uses", "features_used", "api_calls"})
DECIMALS = frozenset({"arr", "amount"})  # numeric(12,2)
NULLABLE_TEXT = frozenset({"owner", "external_id"})
_NULL = "\\N"
_MISSING = np.iinfo(np.int64).min  # NaT as an integer

# `CAST(%(ids)s AS bigint[]) IS NULL` is decided once per statement: with no ids the condition drops out.
_OF_CUSTOMERS = "(CAST(%(ids)s AS bigint[]) IS NULL OR {column} = ANY (CAST(%(ids)s AS bigint[])))"


def _us(column: str) -> str:
    return f"(extract(epoch FROM {column}) * 1000000)::bigint"


def _days(column: str) -> str:
    return f"({column} - DATE '1970-01-01')"


_CUSTOMERS = f"""
    SELECT id, name, segment, plan, seats, industry, region, owner, owner IS NULL, {_us("created_at")},
           external_id, external_id IS NULL, arr, {_days("renewal_date")}, status
      FROM customers
     WHERE {_OF_CUSTOMERS.format(column="id")}
     ORDER BY id
"""  # noqa: S608
_KNOWN = text("SELECT id FROM customers WHERE id = ANY (CAST(:ids AS bigint[]))")
_EVENTS = f"""
    SELECT id, customer_id, type, {_us("occurred_at")}, {_us("recorded_at")}, data
      FROM events
     WHERE {_OF_CUSTOMERS.format(column="customer_id")}
       AND (CAST(%(start)s AS timestamptz) IS NULL OR occurred_at >= %(start)s)
       AND (CAST(%(end)s AS timestamptz) IS NULL OR occurred_at <= %(end)s)
       AND (CAST(%(types)s AS text[]) IS NULL OR type = ANY (CAST(%(types)s AS text[])))
     ORDER BY customer_id, occurred_at, id
"""  # noqa: S608
# features_used: how many features of the catalogue were used that day (the set bits of the day's feature mask)
_ACTIVITY = f"""
    SELECT customer_id, {_days("day")}, logins, feature_uses, bit_count(feature_mask::bit(64)), api_calls
      FROM customer_daily
     WHERE {_OF_CUSTOMERS.format(column="customer_id")}
       AND (CAST(%(start)s AS date) IS NULL OR day >= %(start)s)
       AND (CAST(%(end)s AS date) IS NULL OR day <= %(end)s)
     ORDER BY customer_id, day
"""  # noqa: S608
_TICKETS = f"""
    SELECT id, customer_id, subject, priority, status, {_us("opened_at")}, {_us("closed_at")}
      FROM tickets
     WHERE {_OF_CUSTOMERS.format(column="customer_id")}
       AND (CAST(%(start)s AS timestamptz) IS NULL OR opened_at >= %(start)s)
       AND (CAST(%(end)s AS timestamptz) IS NULL OR opened_at <= %(end)s)
     ORDER BY customer_id, opened_at, id
"""  # noqa: S608
# the status as of %(day)s, by the same rule as the invoice timeliness factor (docs/scoring.md)
_INVOICES = f"""
    SELECT id, customer_id, amount, {_days("issued_at")}, {_days("due_at")}, {_days("paid_at")},
           CASE WHEN paid_at IS NOT NULL AND paid_at <= %(day)s AND paid_at <= due_at THEN 'on_time'
                WHEN paid_at IS NOT NULL AND paid_at <= %(day)s AND paid_at <= due_at + %(grace)s
                     THEN 'late_within_grace'
                WHEN paid_at IS NOT NULL AND paid_at <= %(day)s THEN 'late'
                WHEN due_at < %(day)s THEN 'overdue'
                ELSE 'open' END
      FROM invoices
     WHERE {_OF_CUSTOMERS.format(column="customer_id")}
       AND (CAST(%(start)s AS date) IS NULL OR issued_at >= %(start)s)
       AND issued_at <= least(CAST(%(day)s AS date), coalesce(CAST(%(end)s AS date), %(day)s))
     ORDER BY customer_id, issued_at, id
"""  # noqa: S608
# The only text spliced in is the scoring model's own factor keys.
_HISTORY = f"""
    SELECT customer_id, day, score, tier, coverage, {", ".join(FACTOR_KEYS)}, config_id
      FROM score_history
     WHERE {_OF_CUSTOMERS.format(column="customer_id")}
       AND day BETWEEN %(start)s AND %(end)s
     ORDER BY customer_id, day
"""  # noqa: S608


def customers(conn: Connection, customer_ids: Sequence[int] | None = None) -> Columns:
    """Return the profiles of all customers (or the given ones), by id."""
    names = [*CUSTOMER_COLUMNS[:8], "owner_null", *CUSTOMER_COLUMNS[8:10], "external_id_null", *CUSTOMER_COLUMNS[10:]]
    return _columns(_copy(conn, _CUSTOMERS, names, {"ids": _ids(customer_ids)}), CUSTOMER_COLUMNS)


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
    """Return the raw events that occurred from `start` to `end` (both included), by customer and time; each event's
    `data` as a dict."""
    params = {"ids": _ids(customer_ids), "start": start, "end": end, "types": list(types) if types else None}
    columns = _columns(_copy(conn, _EVENTS, EVENT_COLUMNS, params), EVENT_COLUMNS)
    data = np.empty(len(columns["data"]), dtype=object)
    data[:] = [orjson.loads(document) for document in columns["data"]]
    columns["data"] = data
    return columns


def activity(
    conn: Connection, customer_ids: Sequence[int] | None, start: dt.date | None, end: dt.date | None
) -> Columns:
    """Return the daily rollup (logins, feature uses, features used, API calls) of the UTC days from start to end."""
    params = {"ids": _ids(customer_ids), "start": start, "end": end}
    return _columns(_copy(conn, _ACTIVITY, ACTIVITY_COLUMNS, params), ACTIVITY_COLUMNS)


def tickets(
    conn: Connection, customer_ids: Sequence[int] | None, start: dt.datetime | None, end: dt.datetime | None
) -> Columns:
    """Return the support tickets opened from `start` to `end`, with their priority and status now."""
    params = {"ids": _ids(customer_ids), "start": start, "end": end}
    return _columns(_copy(conn, _TICKETS, TICKET_COLUMNS, params), TICKET_COLUMNS)


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
    return _columns(_copy(conn, _INVOICES, INVOICE_COLUMNS, params), INVOICE_COLUMNS)


def history(conn: Connection, customer_ids: Sequence[int] | None, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Return the written score history of the UTC days from `start` to `end`, by customer and day: a frame with
    HISTORY_COLUMNS (days as text, tiers as text, empty factor scores as NaN)."""
    dtypes = {"customer_id": "int64", "day": object, "tier": object, "config_id": "int64"}
    params = {"ids": _ids(customer_ids), "start": start, "end": end}
    return _copy(conn, _HISTORY, HISTORY_COLUMNS, params, dtypes)


def _ids(customer_ids: Sequence[int] | None) -> list[int] | None:
    return None if customer_ids is None else list(customer_ids)


def _copy(
    conn: Connection,
    select: str,
    names: Sequence[str],
    params: dict[str, Any],
    dtypes: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Run `select` through COPY and parse its CSV: integers as nullable Int64 (NULL -> <NA>), numbers as floats
    (NULL -> NaN), text as str, untouched (a NULL text reads `\\N`: see `_columns`)."""
    if dtypes is None:
        dtypes = {n: "Int64" for n in names if n in INTEGERS or n in MOMENTS or n in DAYS}
        dtypes |= {n: "float64" for n in names if n in DECIMALS}
        dtypes |= {n: object for n in names if n not in dtypes and not n.endswith("_null")}
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    buffer = io.BytesIO()
    try:
        query = cursor.mogrify(select, params).decode()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, NULL '{_NULL}')", buffer)
    finally:
        cursor.close()
    buffer.seek(0)
    return pd.read_csv(
        buffer,
        names=list(names),
        header=None,
        dtype=dtypes,
        keep_default_na=False,
        na_values={name: [_NULL] for name in names if dtypes.get(name) is not object},
        true_values=["t"],
        false_values=["f"],
    )


def _columns(frame: pd.DataFrame, names: Sequence[str]) -> Columns:
    """Return the frame's columns as arrays: moments and days as datetime64 (NaT where missing), NULL text as None."""
    columns: Columns = {}
    for name in names:
        values = frame[name]
        if name in MOMENTS or name in DAYS:
            numbers = values.to_numpy(dtype=np.int64, na_value=_MISSING)
            columns[name] = numbers.astype("datetime64[us]" if name in MOMENTS else "datetime64[D]")
        elif name in NULLABLE_TEXT:
            text_values = values.to_numpy(dtype=object, copy=True)
            text_values[frame[f"{name}_null"].to_numpy(dtype=bool)] = None
            columns[name] = text_values
        else:
            columns[name] = values
    return columns
