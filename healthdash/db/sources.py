"""Bulk reads of what the signals are made of, besides usage: profiles, recent tickets and invoices."""

from __future__ import annotations

import datetime as dt
import io
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from healthdash.vocabulary import PRIORITIES

_PROFILES = """
SELECT id, name, segment, plan, status, seats, (arr * 100)::bigint AS arr_cents,
       coalesce(renewal_date - DATE '1970-01-01', -1) AS renewal_day,
       (created_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01' AS created_day
  FROM customers WHERE true {only} ORDER BY id
"""
_TICKETS = """
SELECT customer_id, array_position(CAST(%(priorities)s AS text[]), priority) - 1 AS priority,
       (opened_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01' AS opened_day
  FROM tickets WHERE opened_at >= (CAST(%(first)s AS date)::timestamp AT TIME ZONE 'UTC') {only}
"""
_INVOICES = """
SELECT customer_id, due_at - DATE '1970-01-01' AS due_day, coalesce(paid_at - DATE '1970-01-01', -1) AS paid_day
  FROM invoices WHERE due_at >= CAST(%(first)s AS date) {only}
"""
TEXT = {"name": str, "segment": str, "plan": str, "status": str}
# Texts of a few distinct values, each held as one string object, the same in every read (`_shared`): read as they
# come, 100,000 customers' segments, plans and statuses were 300,000 strings, 17 MB, and twice that while the
# profiles were read again beside the ones in use.
SHARED = frozenset({"segment", "plan", "status"})


def read_profiles(conn: Connection, customer_ids: Sequence[int] | None = None) -> dict[str, np.ndarray]:
    """Return customers' profiles in id order: id, name, segment, plan, status, seats, arr_cents, renewal_day (days
    since 1970; -1: none), created_day (days since 1970)."""
    return _columns(conn, _PROFILES, {}, customer_ids, "id")


def read_tickets(conn: Connection, first: dt.date, customer_ids: Sequence[int] | None = None) -> dict[str, np.ndarray]:
    """Return the tickets opened from a day on: customer_id, priority (its place in PRIORITIES), opened_day."""
    return _columns(conn, _TICKETS, {"first": first, "priorities": list(PRIORITIES)}, customer_ids, "customer_id")


def read_invoices(
    conn: Connection, first_due: dt.date, customer_ids: Sequence[int] | None = None
) -> dict[str, np.ndarray]:
    """Return the invoices due from a day on: customer_id, due_day, paid_day (-1 while unpaid)."""
    return _columns(conn, _INVOICES, {"first": first_due}, customer_ids, "customer_id")


def catalogue_size(conn: Connection) -> int:
    """Return how many features the catalogue holds."""
    return int(conn.exec_driver_sql("SELECT count(*) FROM features").scalar_one())


def _columns(
    conn: Connection, sql: str, params: dict[str, Any], customer_ids: Sequence[int] | None, key: str
) -> dict[str, np.ndarray]:
    only = ""
    if customer_ids is not None:
        params = {**params, "ids": sorted({int(i) for i in customer_ids})}
        only = f"AND {key} = ANY(CAST(%(ids)s AS bigint[]))"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        query = cursor.mogrify(sql.format(only=only), params).decode("utf-8")
        buffer = io.BytesIO()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)", buffer)
    finally:
        cursor.close()
    buffer.seek(0)
    frame = pd.read_csv(buffer, keep_default_na=False, na_values=[], dtype={k: v for k, v in TEXT.items()})
    return {str(name): _column(frame[name], str(name)) for name in frame.columns}


def _column(values: pd.Series, name: str) -> np.ndarray:
    if name not in TEXT:
        return np.asarray(values, dtype=np.int64)
    read = np.asarray(values, dtype=object)
    return _shared(read) if name in SHARED else read


def _shared(values: np.ndarray) -> np.ndarray:
    """Return the texts with each distinct one held once, as the interpreter's interned string."""
    codes, distinct = pd.factorize(values)
    held: np.ndarray = np.array([sys.intern(str(text)) for text in distinct], dtype=object)[codes]
    return held
