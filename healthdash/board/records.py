"""Customers' profiles, recent tickets and invoices, held in memory: with the usage (healthdash.board.usage), all the
signals of every customer, computed without a query.

The columns it gives are those of the signal query in healthdash.db.signals (blocks 0 and 1 of each window), so the
same code turns either into signals; tests hold the two to the same answers.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import Connection

from healthdash.db.signals import INVOICE_COUNTS
from healthdash.db.sources import catalogue_size, read_invoices, read_profiles, read_tickets
from healthdash.vocabulary import PRIORITIES

EPOCH = dt.date(1970, 1, 1)


def epoch_day(day: dt.date) -> int:
    """Return a date as days since 1970-01-01."""
    return (day - EPOCH).days


class CustomerRecords:
    """Profiles of every customer, and the tickets and invoices that the windows ending on some days can see."""

    def __init__(
        self,
        profiles: dict[str, np.ndarray],
        tickets: dict[str, np.ndarray],
        invoices: dict[str, np.ndarray],
        catalogue: int,
        first_ticket: dt.date,
        first_due: dt.date,
    ) -> None:
        self.profiles = profiles
        # tickets and invoices are kept in customer order: one customer's are found by bisection, not by a scan
        self.tickets = _by_key(tickets, "customer_id")
        self.invoices = _by_key(invoices, "customer_id")
        self.catalogue = catalogue
        self.first_ticket = first_ticket  # tickets opened from this day on are held
        self.first_due = first_due  # invoices due from this day on are held

    @classmethod
    def load(cls, conn: Connection, first_ticket: dt.date, first_due: dt.date) -> CustomerRecords:
        """Read every customer's profile, and the tickets and invoices from the given days on."""
        return cls(
            read_profiles(conn),
            read_tickets(conn, first_ticket),
            read_invoices(conn, first_due),
            catalogue_size(conn),
            first_ticket,
            first_due,
        )

    def covers(self, day: dt.date, window: int, invoice_window: int) -> bool:
        """Tell whether the records hold what the signals as of a day (and a window earlier) need."""
        needed_ticket = day - dt.timedelta(days=2 * window - 1)
        needed_due = day - dt.timedelta(days=window + invoice_window - 1)
        return self.first_ticket <= needed_ticket and self.first_due <= needed_due

    def positions(self, customer_ids: np.ndarray) -> np.ndarray:
        """Return where each customer's profile is, -1 for a customer whose profile is not held."""
        return _positions(self.profiles["id"], np.asarray(customer_ids, dtype=np.int64))

    def refresh(self, conn: Connection, customer_ids: np.ndarray) -> None:
        """Read the given customers' records again (customers now gone are dropped)."""
        ids = [int(i) for i in customer_ids]
        profiles = read_profiles(conn, ids)
        tickets = read_tickets(conn, self.first_ticket, ids)
        invoices = read_invoices(conn, self.first_due, ids)
        self.profiles = _replace(self.profiles, "id", customer_ids, profiles, sort=True)
        self.tickets = _replace(self.tickets, "customer_id", customer_ids, tickets, sort=True)
        self.invoices = _replace(self.invoices, "customer_id", customer_ids, invoices, sort=True)

    def columns(
        self, day: dt.date, window: int, invoice_window: int, grace: int, customer_ids: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Return the signal query's columns but usage, for the customers (all or the given ones) existing on `day`."""
        d = epoch_day(day)
        p, t, v = self.profiles, self.tickets, self.invoices
        if customer_ids is None:
            rows = np.flatnonzero(p["created_day"] <= d)
        else:  # a few customers (one customer's health): look them up, and keep only their tickets and invoices
            rows = _positions(p["id"], np.unique(np.asarray(customer_ids, dtype=np.int64)))
            rows = rows[rows >= 0]
            rows = rows[p["created_day"][rows] <= d]
            t, v = _rows_of(t, "customer_id", p["id"][rows]), _rows_of(v, "customer_id", p["id"][rows])
        ids = p["id"][rows]
        raw: dict[str, np.ndarray] = {"id": ids}
        for name in ("name", "segment", "plan", "status", "seats", "arr_cents", "renewal_day"):
            raw[name] = p[name][rows]
        raw["age_days"] = d - p["created_day"][rows]
        raw["catalogue_size"] = np.full(len(ids), self.catalogue, dtype=np.int64)

        where = _positions(ids, t["customer_id"])
        for block in (0, 1):
            inside = (
                (where >= 0) & (t["opened_day"] > d - (block + 1) * window) & (t["opened_day"] <= d - block * window)
            )
            for code, priority in enumerate(PRIORITIES):
                hit = inside & (t["priority"] == code)
                raw[f"tickets_{priority}_{block}"] = np.bincount(where[hit], minlength=len(ids)).astype(np.int64)

        where = _positions(ids, v["customer_id"])
        for block in (0, 1):
            e = d - block * window
            due, paid = v["due_day"], v["paid_day"]
            inside = (where >= 0) & (due > e - invoice_window) & (due <= e)
            settled = (paid >= 0) & (paid <= e)
            kinds = {
                "invoices_on_time": settled & (paid <= due),
                "invoices_late_grace": settled & (paid > due) & (paid <= due + grace),
                "invoices_late": (settled & (paid > due + grace)) | (~settled & (due < e)),
            }
            for name in INVOICE_COUNTS:
                hit = inside & kinds[name]
                raw[f"{name}_{block}"] = np.bincount(where[hit], minlength=len(ids)).astype(np.int64)
        return raw


def _positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Return where each wanted id is among the (ascending) ids, -1 where it is not."""
    if not len(ids):
        return np.full(len(wanted), -1, dtype=np.int64)
    slot = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
    return np.where(ids[slot] == wanted, slot, -1)


def _rows_of(held: dict[str, np.ndarray], key: str, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Return the rows whose `key` is one of the (distinct) ids, from rows ordered by `key`: a slice per id."""
    keys = held[key]
    starts, ends = np.searchsorted(keys, ids, "left"), np.searchsorted(keys, ids, "right")
    if len(ids) == 1:
        return {name: values[starts[0] : ends[0]] for name, values in held.items()}
    # the slices side by side, without an array per id: each output position less its slice's offset in the output,
    # plus where the slice starts among the rows
    lengths = ends - starts
    rows = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths - starts, lengths)
    return {name: values[rows] for name, values in held.items()}


def _by_key(held: dict[str, np.ndarray], key: str) -> dict[str, np.ndarray]:
    """Return the rows ordered by `key` (a stable sort; as they are when they already are)."""
    keys = held[key]
    if len(keys) < 2 or bool(np.all(keys[:-1] <= keys[1:])):
        return held
    order = np.argsort(keys, kind="stable")
    return {name: values[order] for name, values in held.items()}


def _replace(
    held: dict[str, np.ndarray], key: str, ids: np.ndarray, fresh: dict[str, np.ndarray], sort: bool = False
) -> dict[str, np.ndarray]:
    keep = ~np.isin(held[key], ids)
    merged = {name: np.concatenate([values[keep], fresh[name]]) for name, values in held.items()}
    return _by_key(merged, key) if sort else merged
