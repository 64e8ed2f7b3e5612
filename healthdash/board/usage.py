"""Every customer's daily usage over the last days, held in memory: the rollup as arrays, one column per customer.

It answers the usage signals of any set of customers without reading the rollup again. The score board loads it
once, re-reads the rows of customers whose events it hears about, and moves it along by whole days; a full score
table then costs arithmetic on arrays instead of an aggregate over millions of rollup rows.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import Connection

from healthdash.db.rollup import RollupRows, customer_ids, highest_feature_bit, read_rollup
from healthdash.db.signals import USAGE_COLUMNS

LOAD_CHUNK = 5_000  # customers per COPY when loading everything (bounds the memory the load needs)


def mask_type(highest_bit: int) -> type[np.integer]:
    """Return the narrowest integer type that holds feature masks up to the given bit."""
    for kind in (np.uint16, np.uint32):
        if highest_bit < np.iinfo(kind).bits:
            return kind
    return np.int64


class UsageArrays:
    """Whether anyone logged in, API calls and the features used, per day and customer, for `days` days.

    Each array holds one row per day and one column per customer, so that a window's total of every customer is a
    sum over a few long rows.
    """

    def __init__(self, ids: np.ndarray, last_day: dt.date, days: int, mask: type[np.integer] = np.int64) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self.last_day = last_day
        self.days = days
        self.logged_in = np.zeros((days, len(self.ids)), dtype=bool)
        self.api_calls = np.zeros((days, len(self.ids)), dtype=np.uint32)  # widened if a day ever holds more
        self.feature_mask = np.zeros((days, len(self.ids)), dtype=mask)

    @property
    def first_day(self) -> dt.date:
        return self.last_day - dt.timedelta(days=self.days - 1)

    @property
    def nbytes(self) -> int:
        return self.logged_in.nbytes + self.api_calls.nbytes + self.feature_mask.nbytes

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Return the row of each customer, -1 for a customer not held."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(self.ids):
            return np.full(len(ids), -1, dtype=np.int64)
        slot = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return np.where(self.ids[slot] == ids, slot, -1)

    def fill(self, rows: RollupRows, first: dt.date) -> int:
        """Write rollup rows (offsets counted from `first`) in; return how many belong to customers not held."""
        where = self.positions(rows.customer_id)
        day = rows.offset + (first - self.first_day).days
        keep = (where >= 0) & (day >= 0) & (day < self.days)
        self.logged_in[day[keep], where[keep]] = rows.logged_in[keep]
        calls = rows.api_calls[keep]
        if len(calls) and calls.max() > np.iinfo(self.api_calls.dtype).max:
            self.api_calls = self.api_calls.astype(np.int64)
        self.api_calls[day[keep], where[keep]] = calls
        self.feature_mask[day[keep], where[keep]] = rows.feature_mask[keep].astype(self.feature_mask.dtype)
        return int((where < 0).sum())

    def clear(self, ids: np.ndarray, since: dt.date | None = None) -> None:
        """Forget the given customers' usage (from a day on), before their rows are read again."""
        rows = self.positions(ids)
        rows = rows[rows >= 0]
        start = 0 if since is None else max(0, (since - self.first_day).days)
        self.logged_in[start:, rows] = False
        self.api_calls[start:, rows] = 0
        self.feature_mask[start:, rows] = 0

    def moved_to(self, last_day: dt.date, ids: np.ndarray | None = None) -> UsageArrays:
        """Return the usage held for days ending on another day (and other customers): what overlaps is kept."""
        moved = UsageArrays(self.ids if ids is None else ids, last_day, self.days, self.feature_mask.dtype.type)
        moved.api_calls = moved.api_calls.astype(self.api_calls.dtype, copy=False)
        shift = (last_day - self.last_day).days
        if abs(shift) >= self.days:
            return moved
        rows = self.positions(moved.ids)
        known = rows >= 0
        old = slice(max(shift, 0), self.days + min(shift, 0))
        new = slice(max(-shift, 0), self.days - max(shift, 0))
        for name in ("logged_in", "api_calls", "feature_mask"):
            getattr(moved, name)[new, known] = getattr(self, name)[old][:, rows[known]]
        return moved

    def columns(self, ids: np.ndarray, day: dt.date, window: int) -> dict[str, np.ndarray]:
        """Return the usage columns (USAGE_COLUMNS) of the given customers as of a day: three windows back."""
        rows = self.positions(ids)
        known = rows >= 0
        every = len(rows) == len(self.ids) and bool(known.all()) and np.array_equal(rows, np.arange(len(rows)))
        end = (day - self.first_day).days + 1  # one past the day's column
        result: dict[str, np.ndarray] = {}
        for block in range(3):
            start, stop = max(end - (block + 1) * window, 0), max(min(end - block * window, self.days), 0)
            logged_in, calls, masks = (
                (a[start:stop] if every else a[start:stop][:, rows[known]])
                for a in (self.logged_in, self.api_calls, self.feature_mask)
            )
            self._put(result, f"login_days_{block}", known, logged_in.sum(axis=0, dtype=np.int64))
            self._put(result, f"api_calls_{block}", known, calls.sum(axis=0, dtype=np.int64))
            if block < 2:
                combined = np.bitwise_or.reduce(masks, axis=0) if stop > start else np.zeros(masks.shape[1], np.int64)
                self._put(result, f"feature_mask_{block}", known, combined.astype(np.int64))
        return {name: result[name] for name in USAGE_COLUMNS}

    @staticmethod
    def _put(result: dict[str, np.ndarray], name: str, known: np.ndarray, values: np.ndarray) -> None:
        column = np.zeros(len(known), dtype=np.int64)
        column[known] = values
        result[name] = column


def load_usage(conn: Connection, last_day: dt.date, days: int) -> UsageArrays:
    """Read every customer's rollup rows of the `days` days ending on `last_day` into memory."""
    ids = customer_ids(conn)
    usage = UsageArrays(ids, last_day, days, mask_type(highest_feature_bit(conn)))
    for start in range(0, len(ids), LOAD_CHUNK):
        low, high = int(ids[start]), int(ids[min(start + LOAD_CHUNK, len(ids)) - 1]) + 1
        usage.fill(read_rollup(conn, usage.first_day, last_day, id_range=(low, high)), usage.first_day)
    return usage


def refresh_usage(
    conn: Connection, usage: UsageArrays, ids: np.ndarray | None = None, since: dt.date | None = None
) -> int:
    """Read again the rows of the given customers (all when None), from a day on; return rows of unknown customers.

    Many customers are read a chunk at a time, so that the memory this needs stays small.
    """
    first = usage.first_day if since is None else max(since, usage.first_day)
    if ids is None and since is not None:
        rows = read_rollup(conn, first, usage.last_day)
        usage.clear(usage.ids, first)
        return usage.fill(rows, first)
    wanted = usage.ids if ids is None else np.asarray(ids, dtype=np.int64)
    unknown = 0
    for start in range(0, len(wanted), LOAD_CHUNK):
        chunk = wanted[start : start + LOAD_CHUNK]
        rows = read_rollup(conn, first, usage.last_day, [int(i) for i in chunk])
        usage.clear(chunk, first)
        unknown += usage.fill(rows, first)
    return unknown
