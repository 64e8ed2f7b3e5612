"""Reports kept until what they were computed from changes: the validation page's backtest reads the whole score
history and fits a model (seconds at 100,000 customers), but its answer changes only when a day of history is
written or restated, a churn is recorded or a customer changes.

Each report is kept with the fingerprint of its inputs (`healthdash.db.backtest.inputs`: a few milliseconds); a
request whose fingerprint matches gets the kept report, any other computes it afresh. The fingerprint is read from
the database at each request, so that a change made by another instance, the command line or the history keeper is
seen as soon as it is committed. The most recently used reports are kept, `size` at most.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

Report = TypeVar("Report")


class KeptReports(Generic[Report]):
    """The last `size` reports asked for, each with the fingerprint of the inputs it was computed from."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, tuple[Hashable, Report]] = OrderedDict()
        self._lock = threading.Lock()  # the thread pool's requests share it

    def get(self, key: Hashable, inputs: Hashable) -> Report | None:
        """Return the report kept for `key` if it was computed from these inputs, else None."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is None or kept[0] != inputs:
                return None
            self._kept.move_to_end(key)
            return kept[1]

    def keep(self, key: Hashable, inputs: Hashable, report: Report) -> None:
        """Keep a report computed from `inputs`, forgetting the least recently used past `size`."""
        with self._lock:
            self._kept[key] = (inputs, report)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
