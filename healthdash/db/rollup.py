"""Reading the daily rollup in bulk: rows copied out in PostgreSQL's binary format and decoded with numpy."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection

from healthdash.db.prepared import prepared_rows

# One row of the COPY below, in binary form: the field count, then each field's length and big-endian value. No field
# is ever NULL, so every row has this size.
ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("id_length", ">i4"),
        ("customer_id", ">i8"),
        ("offset_length", ">i4"),
        ("offset", ">i4"),
        ("logins_length", ">i4"),
        ("logged_in", "?"),
        ("api_length", ">i4"),
        ("api_calls", ">i8"),
        ("mask_length", ">i4"),
        ("feature_mask", ">i8"),
    ]
)
SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
TRAILER = b"\xff\xff"
_SELECT = """
SELECT customer_id, (day - CAST(%(first)s AS date))::integer, logins > 0, api_calls, feature_mask
  FROM customer_daily
 WHERE day >= CAST(%(first)s AS date) AND day <= CAST(%(last)s AS date) {only}
"""
_THESE = "AND customer_id = ANY(CAST(%(ids)s AS bigint[]))"
_DAYS_TYPES = {"first": "date", "last": "date", "ids": "bigint[]"}


class RollupFormatError(ValueError):
    """The COPY stream is not what this reader expects."""


@dataclass(frozen=True)
class RollupRows:
    """Rows of the daily rollup as arrays: the day is an offset from the first day read."""

    customer_id: np.ndarray
    offset: np.ndarray
    logged_in: np.ndarray
    api_calls: np.ndarray
    feature_mask: np.ndarray


def read_rollup(
    conn: Connection,
    first: dt.date,
    last: dt.date,
    customer_ids: Sequence[int] | None = None,
    id_range: tuple[int, int] | None = None,
) -> RollupRows:
    """Return the rollup rows of the days first..last, of the given customers or of ids in [low, high)."""
    params: dict[str, Any] = {"first": first, "last": last}
    only = ""
    if customer_ids is not None:
        params["ids"] = sorted({int(i) for i in customer_ids})
        only = _THESE
    elif id_range is not None:
        params["low"], params["high"] = id_range
        only = "AND customer_id >= %(low)s AND customer_id < %(high)s"
    buffer = io.BytesIO()
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        query = cursor.mogrify(_SELECT.format(only=only), params).decode("utf-8")
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
    finally:
        cursor.close()
    return decode(buffer.getbuffer())


def read_customer_days(conn: Connection, first: dt.date, last: dt.date, customer_ids: Sequence[int]) -> RollupRows:
    """Return the rollup rows of a few customers over the days first..last, by a statement prepared once per
    connection: asked for with every group of activity stored, where planning it and a COPY cost more than the
    reading."""
    params = {"first": first, "last": last, "ids": sorted({int(i) for i in customer_ids})}
    _, rows = prepared_rows(conn, "hd_rollup_days", _SELECT.format(only=_THESE), _DAYS_TYPES, params)
    columns = list(zip(*rows, strict=True)) if rows else [()] * 5
    return RollupRows(
        np.array(columns[0], dtype=np.int64),
        np.array(columns[1], dtype=np.int64),
        np.array(columns[2], dtype=bool),
        np.array(columns[3], dtype=np.int64),
        np.array(columns[4], dtype=np.int64),
    )


def decode(data: memoryview | bytes) -> RollupRows:
    """Decode a whole COPY stream in binary form (header, rows, trailer)."""
    view = memoryview(data)
    if bytes(view[: len(SIGNATURE)]) != SIGNATURE or bytes(view[-len(TRAILER) :]) != TRAILER:
        raise RollupFormatError("not a complete COPY stream in binary form")
    extension = int.from_bytes(view[len(SIGNATURE) + 4 : len(SIGNATURE) + 8], "big")
    body = view[len(SIGNATURE) + 8 + extension : len(view) - len(TRAILER)]
    if len(body) % ROW.itemsize:
        raise RollupFormatError("the COPY stream does not hold whole rows of the expected form")
    rows = np.frombuffer(body, dtype=ROW)
    if len(rows) and (rows["fields"] != 5).any():
        raise RollupFormatError("unexpected number of fields in a COPY row")
    return RollupRows(
        rows["customer_id"].astype(np.int64),
        rows["offset"].astype(np.int64),
        rows["logged_in"].astype(bool),
        rows["api_calls"].astype(np.int64),
        rows["feature_mask"].astype(np.int64),
    )


def customer_ids(conn: Connection) -> np.ndarray:
    """Return the ids of all customers, ascending."""
    rows = conn.exec_driver_sql("SELECT id FROM customers ORDER BY id").fetchall()
    return np.array([row[0] for row in rows], dtype=np.int64)


def highest_feature_bit(conn: Connection) -> int:
    """Return the highest bit the feature catalogue uses in the rollup's feature masks (-1 when it is empty)."""
    value = conn.exec_driver_sql("SELECT max(bit) FROM features").scalar()
    return -1 if value is None else int(value)
