"""Customers' recent health answers, encoded, kept until the customer changes.

A customer's health as of now is asked again and again (a page opened twice, a client polling) while nothing of it
changes. The answer is kept per customer, day and page of events, and dropped by the same change tracking that
patches the score board: a write through this process or another instance's notification (`forget`), the listener
losing its connection or a new configuration (`clear`); the day is part of the key, so a new day asks afresh; and an
answer is kept at most `max_age` seconds, as long as a snapshot, for what changes without an event.

An answer computed while its customer changed is not kept: `ticket` is taken before the computation begins and
`put` refuses the answer when the customer was marked (or everything cleared) after it. Used on the event loop only.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

Key = tuple[int, dt.date, int, int]  # customer, day, events limit, events offset
MAX_BYTES = 16 * 1024 * 1024  # about 1,500 answers of 50 events: a page opened again, a client polling


class Answers:
    """Encoded answers per key, least recently used dropped first beyond `max_bytes`."""

    def __init__(
        self, max_bytes: int = MAX_BYTES, max_age: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.clock = clock
        self._kept: OrderedDict[Key, tuple[bytes, float]] = OrderedDict()
        self._keys: dict[int, set[Key]] = {}  # each customer's keys
        self._marked: dict[int, int] = {}  # each customer's last mark
        self._cleared = 0  # the mark that cleared everything last
        self._marks = 0
        self.nbytes = 0

    def ticket(self) -> int:
        """Return the mark so far: hand it to `put` with the answer computed from now on."""
        return self._marks

    def get(self, key: Key) -> bytes | None:
        """Return the answer kept for a key, or None."""
        found = self._kept.get(key)
        if found is None:
            return None
        body, kept_at = found
        if self.clock() - kept_at > self.max_age:
            self._drop(key)
            return None
        self._kept.move_to_end(key)
        return body

    def put(self, key: Key, body: bytes, ticket: int) -> None:
        """Keep an answer computed after `ticket` was taken, unless its customer changed since."""
        customer = key[0]
        if self._cleared > ticket or self._marked.get(customer, -1) > ticket or len(body) > self.max_bytes:
            return
        self._drop(key)
        self._kept[key] = (body, self.clock())
        self._keys.setdefault(customer, set()).add(key)
        self.nbytes += len(body)
        while self.nbytes > self.max_bytes:
            self._drop(next(iter(self._kept)))

    def forget(self, customer_ids: Iterable[int]) -> None:
        """Drop the answers of these customers, and refuse answers to them computed before now."""
        self._marks += 1
        ids = customer_ids if isinstance(customer_ids, set | frozenset) else set(customer_ids)
        self._marked.update(dict.fromkeys(ids, self._marks))
        for customer in ids & self._keys.keys():
            for key in list(self._keys.get(customer, ())):
                self._drop(key)

    def clear(self) -> None:
        """Drop every answer, and refuse answers computed before now."""
        self._marks += 1
        self._cleared = self._marks
        self._kept.clear()
        self._keys.clear()
        self._marked.clear()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._kept)

    def _drop(self, key: Key) -> None:
        found = self._kept.pop(key, None)
        if found is None:
            return
        self.nbytes -= len(found[0])
        keys = self._keys[key[0]]
        keys.discard(key)
        if not keys:
            del self._keys[key[0]]
