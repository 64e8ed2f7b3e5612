"""The board's records of profiles, tickets and invoices: one customer's columns are that customer's share of every
customer's, whatever order the rows were read in."""

from __future__ import annotations

import datetime as dt

import numpy as np

from healthdash.board.records import CustomerRecords, epoch_day

DAY = dt.date(2026, 6, 30)


def records(rng: np.random.Generator) -> CustomerRecords:
    """Twelve customers with tickets and invoices in a shuffled order, as PostgreSQL may return them."""
    ids = np.arange(1, 13, dtype=np.int64)
    d = epoch_day(DAY)
    profiles = {
        "id": ids,
        "name": np.array([f"c{i}" for i in ids], dtype=object),
        "segment": np.array(["smb"] * 12, dtype=object),
        "plan": np.array(["pro"] * 12, dtype=object),
        "status": np.array(["active"] * 12, dtype=object),
        "seats": np.full(12, 10, dtype=np.int64),
        "arr_cents": np.full(12, 100_000, dtype=np.int64),
        "renewal_day": np.full(12, -1, dtype=np.int64),
        "created_day": np.full(12, d - 400, dtype=np.int64),
    }
    n = 300
    tickets = {
        "customer_id": rng.integers(1, 13, n),
        "priority": rng.integers(0, 4, n),
        "opened_day": d - rng.integers(0, 60, n),
    }
    due = d - rng.integers(0, 120, n)
    invoices = {
        "customer_id": rng.integers(1, 13, n),
        "due_day": due,
        "paid_day": np.where(rng.random(n) < 0.2, -1, due + rng.integers(-5, 30, n)),
    }
    return CustomerRecords(profiles, tickets, invoices, 20, DAY - dt.timedelta(days=90), DAY - dt.timedelta(days=150))


def test_one_customers_columns_are_its_row_of_everyones() -> None:
    held = records(np.random.default_rng(7))
    everyone = held.columns(DAY, 30, 30, 7)
    for customer in (1, 5, 12):
        alone = held.columns(DAY, 30, 30, 7, np.array([customer]))
        row = int(np.flatnonzero(everyone["id"] == customer)[0])
        assert {name: values.tolist() for name, values in alone.items()} == {
            name: values[row : row + 1].tolist() for name, values in everyone.items()
        }
    some = held.columns(DAY, 30, 30, 7, np.array([9, 2, 4]))
    rows = [int(np.flatnonzero(everyone["id"] == c)[0]) for c in (2, 4, 9)]
    assert {name: values.tolist() for name, values in some.items()} == {
        name: values[rows].tolist() for name, values in everyone.items()
    }
    assert sum(everyone["tickets_high_0"]) > 0 and sum(everyone["invoices_late_0"]) > 0  # the counts are not all zero
