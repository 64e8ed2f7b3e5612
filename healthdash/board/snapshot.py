"""One table of all customers' scores as of a moment, with the views derived from it memoised."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from healthdash.clock import as_of_day
from healthdash.score_table import ScoreTable

T = TypeVar("T")
VIEWS_KEPT = 512


@dataclass
class Snapshot:
    """All customers' scores as of one moment, with views derived from it memoised."""

    scores: ScoreTable
    as_of: dt.datetime
    built_at: float
    views: dict[Any, Any] = field(default_factory=dict)
    _table: pd.DataFrame | None = None

    @property
    def day(self) -> dt.date:
        return as_of_day(self.as_of)

    @property
    def table(self) -> pd.DataFrame:
        """The scores as a frame indexed by customer id (as `HealthService.score_frame` returns it)."""
        if self._table is None:
            self._table = self.scores.frame()
        return self._table

    def view(self, key: Any, build: Callable[[], T]) -> T:
        """Return a derived view (a summary, a page of the list, a response body), building it once."""
        if key not in self.views:
            if len(self.views) > VIEWS_KEPT:
                self.views.clear()
            self.views[key] = build()
        result: T = self.views[key]
        return result

    def updated(self, rows: ScoreTable, gone: Iterable[int] = ()) -> Snapshot:
        """Return the snapshot with rows written in (and customers gone); this one stays as it was."""
        scores = self.scores.update(rows, gone)
        return self if scores is self.scores else Snapshot(scores, self.as_of, self.built_at)
