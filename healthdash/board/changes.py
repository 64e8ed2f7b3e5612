"""Customers whose scores may have changed, and how much of each one's data to read again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple

from healthdash.clock import earliest


class Stale(NamedTuple):
    """What of one customer's data changed: its usage from `since` on (None: any day), and its records too or not."""

    since: dt.date | None
    records: bool  # profile, tickets or invoices (not usage only): read them again


class ChangeSet:
    """Customers marked as changed, each with what of its data to read again.

    Marks of one customer merge: the earlier day, and its records when either mark said so. A change heard of twice
    (from this process, then back through the database's notification) is read again once if both arrive before it
    is taken. What a patch took and could not apply is put back with `merge`.
    """

    def __init__(self, stale: dict[int, Stale] | None = None) -> None:
        self._stale: dict[int, Stale] = {} if stale is None else stale

    def __len__(self) -> int:
        return len(self._stale)

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self._stale

    def get(self, customer_id: int) -> Stale | None:
        """Return what of one customer's data is marked changed, or None."""
        return self._stale.get(customer_id)

    def mark(self, customer_ids: Iterable[int], since: dt.date | None, records: bool) -> None:
        """Note that these customers' usage changed from `since` on (any day when None), and maybe their records."""
        ids = customer_ids if isinstance(customer_ids, set | frozenset) else set(customer_ids)
        stale, mark = self._stale, Stale(since, records)
        held = ids & stale.keys()  # a batch marks thousands at once: only those marked already need merging
        for customer_id in held:
            if (before := stale[customer_id]) != mark:
                stale[customer_id] = Stale(earliest((before.since, since)), before.records or records)
        stale.update(dict.fromkeys(ids - held if held else ids, mark))

    def merge(self, other: ChangeSet) -> None:
        """Add another set's marks to these (to put back what was taken and could not be applied)."""
        for customer_id, stale in other._stale.items():
            self.mark((customer_id,), stale.since, stale.records)

    def clear(self) -> None:
        """Forget every mark."""
        self._stale = {}

    def customers(self) -> list[int]:
        """Return the marked customers in ascending order."""
        return sorted(self._stale)

    def since(self) -> dt.date | None:
        """Return the earliest day of changed usage of any marked customer (None: any day)."""
        return earliest(stale.since for stale in self._stale.values())

    def records_for(self) -> list[int]:
        """Return the marked customers (ascending) whose records must be read again."""
        return sorted(customer_id for customer_id, stale in self._stale.items() if stale.records)
