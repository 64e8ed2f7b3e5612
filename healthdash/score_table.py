"""Customers' scores as columns: the form in which the server keeps, patches and pages through them.

A ScoreTable holds one array per column of `HealthService.score_frame` (one element per customer, customers in
ascending id order), and, when scored from signals, the signals its factors explain each score from (`EXPLAINED`):
a customer's score and its explanation then come from one row, without scoring it again. Updating a few rows makes
a new table that writes them into copies of the columns they change and shares the others: no array is written into
once a table holds it. The orders the customer list sorts by and the casefolded names it searches are derived on
first use and kept until the rows they depend on change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from healthdash.scoring import DEFAULT_FACTORS, TIERS

PROFILE = ("name", "segment", "plan", "status", "seats", "arr_cents", "renewal_day")
TEXT = frozenset({"name", "segment", "plan", "status", "tier"})
SortKey = Literal["score", "name", "trend"]
SEARCHES_KEPT = 32
_MISSING = 10_000_000  # sorts a customer without a value after every value


def result_columns() -> tuple[str, ...]:
    """Return the columns of a score table, in order."""
    factors = [f.key for f in DEFAULT_FACTORS]
    parts = [f"{key}_{part}" for key in factors for part in ("points", "lost")]
    return (*PROFILE, *factors, *parts, "score", "coverage", "tier", "main_reason", "previous_score", "trend")


COLUMNS = result_columns()
# the signals (as of the table's day) that the factors' raw values and sentences are made from
EXPLAINED = tuple(dict.fromkeys(("age_days", *(name for f in DEFAULT_FACTORS for name in f.signals))))
# kept as 32-bit integers (counts of days, tickets, invoices, features: 6 MB at 100,000 customers instead of 10),
# except the API calls, which a busy customer may count in billions
_NARROW = {name: np.int64 if name.startswith("api_calls") else np.int32 for name in EXPLAINED}


class ScoreTable:
    """Scores of a set of customers, column by column, with derived orders kept until the rows change."""

    def __init__(self, ids: np.ndarray, columns: Mapping[str, np.ndarray], stamp: float | np.ndarray = 0.0) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        names = COLUMNS + EXPLAINED if all(name in columns for name in EXPLAINED) else COLUMNS
        self.columns = {name: np.asarray(columns[name], dtype=_NARROW.get(name)) for name in names}
        # when the computation of each row began (time.monotonic()): a row never replaces a newer one
        self.stamp = np.broadcast_to(np.asarray(stamp, dtype=float), self.ids.shape).copy()
        self._derived: dict[Any, Any] = {}

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ScoreTable:
        """Return the score table of a frame as `HealthService.score_frame` returns it."""
        frame = frame.sort_index()
        columns = {name: _array(frame[name]) for name in COLUMNS}
        return cls(frame.index.to_numpy(dtype=np.int64), columns)

    def __len__(self) -> int:
        return len(self.ids)

    def frame(self) -> pd.DataFrame:
        """Return the table as a frame indexed by customer id (as `HealthService.score_frame` returns it)."""
        index = pd.Index(self.ids, name="id")
        data = {name: self.columns[name] for name in COLUMNS if name != "main_reason"}
        frame = pd.DataFrame(data, index=index, columns=[c for c in COLUMNS if c != "main_reason"])
        frame.insert(COLUMNS.index("main_reason"), "main_reason", pd.Series(self.columns["main_reason"], index=index))
        frame["main_reason"] = frame["main_reason"].astype(object)
        return frame

    def positions(self, ids: Iterable[int]) -> np.ndarray:
        """Return the rows of the given customers (-1 for a customer not in the table)."""
        wanted = np.asarray(list(ids), dtype=np.int64)
        slot = np.minimum(np.searchsorted(self.ids, wanted), max(len(self.ids) - 1, 0))
        if not len(self.ids):
            return np.full(len(wanted), -1, dtype=np.int64)
        return np.where(self.ids[slot] == wanted, slot, -1)

    @property
    def explains(self) -> bool:
        """Whether the rows hold the signals their scores are explained from (`EXPLAINED`)."""
        return len(self.columns) > len(COLUMNS)

    def record(self, position: int) -> dict[str, Any]:
        """Return one row as plain values (with its signals, where the table `explains`)."""
        row = {name: values.item(position) for name, values in self.columns.items()}  # plain Python values
        row["id"] = int(self.ids[position])
        return row

    def update(self, rows: ScoreTable, gone: Iterable[int] = ()) -> ScoreTable:
        """Return a table with the given rows written in and the `gone` customers dropped; this one stays as it is.

        A row replaces a customer's row only if its computation began later; customers not in the table are added.
        What was derived from names and profiles is carried over when those did not change.
        """
        gone_ids = np.setdiff1d(np.asarray(list(gone), dtype=np.int64), rows.ids)
        found = self.positions(rows.ids)
        newer = (found < 0) | (rows.stamp >= self.stamp[np.maximum(found, 0)]) if len(self.ids) else found < 0
        rows = rows.take(np.flatnonzero(newer))
        found = found[newer]
        drop = self.positions(gone_ids)
        if not len(found) and not (drop >= 0).any():
            return self
        names = _shared(self, rows)
        if (found >= 0).all() and not (drop >= 0).any():
            columns = {name: _written(self.columns[name], found, rows.columns[name]) for name in names}
            stamp = self.stamp.copy()
            stamp[found] = rows.stamp
            table = ScoreTable(self.ids, columns, stamp)
            changed = {n for n in ("name", "segment", "plan", "status") if columns[n] is not self.columns[n]}
            derived = list(self._derived.items())  # at once: a view built in another thread may add one meanwhile
            table._derived = {k: v for k, v in derived if _survives(k, changed)}
            # codes of the other text columns (the tiers): kept with a column kept as it was, else recoded just at
            # the rows written
            for key, codes in derived:
                if key[0] != "codes" or key in table._derived:
                    continue
                if columns[key[1]] is self.columns[key[1]]:
                    table._derived[key] = codes
                    continue
                lookup = {value: code for code, value in enumerate(key[2])}
                patched = codes.copy()
                patched[found] = [lookup.get(v, -1) for v in rows.columns[key[1]]]
                table._derived[key] = patched
            return table
        keep = np.ones(len(self.ids), dtype=bool)
        keep[found[found >= 0]] = False
        keep[drop[drop >= 0]] = False
        ids = np.concatenate([self.ids[keep], rows.ids])
        order = np.argsort(ids, kind="stable")
        columns = {n: np.concatenate([self.columns[n][keep], rows.columns[n]])[order] for n in names}
        return ScoreTable(ids[order], columns, np.concatenate([self.stamp[keep], rows.stamp])[order])

    def take(self, rows: np.ndarray, explained: bool = True) -> ScoreTable:
        """Return the given rows (positions, ascending) as a table of their own (without the signals the rows are
        explained from unless `explained`).

        What was derived from the names and profiles comes along for those rows: the names' order is this table's
        restricted to them, not sorted again.
        """
        names = COLUMNS if not explained else tuple(self.columns)
        table = ScoreTable(self.ids[rows], {n: self.columns[n][rows] for n in names}, self.stamp[rows])
        for key, value in list(self._derived.items()):  # at once: a view built in another thread may add one
            if key == ("names",) or key[0] == "codes":
                table._derived[key] = value[rows]
            elif key == ("name_rank",):
                rank = np.empty(len(table.ids), dtype=np.int64)
                rank[np.argsort(value[rows], kind="stable")] = np.arange(len(table.ids))
                table._derived[key] = rank
        return table

    @classmethod
    def latest(cls, tables: Iterable[ScoreTable]) -> ScoreTable:
        """Return the rows of several tables together, each customer's most recently computed row only."""
        parts = list(tables)
        ids = np.concatenate([t.ids for t in parts])
        stamp = np.concatenate([t.stamp for t in parts])
        order = np.lexsort((stamp, ids))
        last = order[np.r_[ids[order][1:] != ids[order][:-1], True]] if len(ids) else order
        columns = {n: np.concatenate([t.columns[n] for t in parts])[last] for n in _shared(*parts)}
        return cls(ids[last], columns, stamp[last])

    def inherit(self, before: ScoreTable) -> None:
        """Take over what was derived from the names and profiles of a table of the same customers, where those did not
        change (a rebuild): at 100,000 customers the names' order takes a sort of their casefolded text, and tens of
        MB while it is made, at the first list or dashboard of every new table otherwise."""
        if self._derived or len(self.ids) != len(before.ids) or not np.array_equal(self.ids, before.ids):
            return
        changed = {n for n in ("name", "segment", "plan", "status") if not _same(self.columns[n], before.columns[n])}
        derived = list(before._derived.items())  # at once: a view built in another thread may add one meanwhile
        self._derived = {k: v for k, v in derived if _survives(k, changed)}

    def derived(self, key: Any, build: Callable[[], Any]) -> Any:
        """Return a value derived from the rows, building it on first use after they last changed."""
        if key not in self._derived:
            self._derived[key] = build()
        return self._derived[key]

    def name_keys(self) -> np.ndarray:
        """Return every customer's casefolded name (as fixed-width text, for fast search)."""
        result: np.ndarray = self.derived(
            ("names",), lambda: np.array([str(n).casefold() for n in self.columns["name"]], dtype=str)
        )
        return result

    def search(self, text: str) -> np.ndarray:
        """Return which customers' names contain the text, case-insensitively (recent searches are remembered)."""
        needle = text.casefold()
        found: dict[str, np.ndarray] = self.derived(("names", "searches"), dict)
        if needle not in found:
            if len(found) >= SEARCHES_KEPT:
                del found[next(iter(found))]
            found[needle] = np.strings.find(self.name_keys(), needle) >= 0
        return found[needle]

    def name_rank(self) -> np.ndarray:
        """Return each customer's place in name order (casefolded name, then id)."""

        def build() -> np.ndarray:
            rank = np.empty(len(self.ids), dtype=np.int64)
            rank[np.lexsort((self.ids, self.name_keys()))] = np.arange(len(self.ids))
            return rank

        result: np.ndarray = self.derived(("name_rank",), build)
        return result

    def order(self, sort: SortKey, ascending: bool) -> np.ndarray:
        """Return the rows in list order: by the sort key, ties by name (casefolded) then id; no value last."""

        def build() -> np.ndarray:
            rank = self.name_rank()
            if sort == "name":
                by_name = np.argsort(rank, kind="stable")
                return by_name if ascending else by_name[::-1].copy()
            values = self.columns[sort].astype(float)
            known = np.isfinite(values)
            tenths = np.round(np.where(known, values, 0.0) * 10).astype(np.int64) + 1000  # trend may be negative
            key = np.where(known, tenths if ascending else 3000 - tenths, _MISSING)
            return np.argsort(key * len(rank) + rank, kind="stable")

        result: np.ndarray = self.derived(("order", sort, ascending), build)
        return result

    def codes(self, column: str, vocabulary: tuple[str, ...]) -> np.ndarray:
        """Return a text column as codes: the position of each value in the vocabulary (-1 for another value)."""

        def build() -> np.ndarray:
            lookup = {value: code for code, value in enumerate(vocabulary)}
            return np.fromiter((lookup.get(v, -1) for v in self.columns[column]), dtype=np.int64, count=len(self.ids))

        result: np.ndarray = self.derived(("codes", column, vocabulary), build)
        return result

    def tier_codes(self) -> np.ndarray:
        """Return each customer's tier as its position in TIERS."""
        return self.codes("tier", TIERS)


def _shared(*tables: ScoreTable) -> tuple[str, ...]:
    """Return the columns every one of the tables holds: a table that does not explain its rows makes one that does
    not either."""
    return COLUMNS + EXPLAINED if all(t.explains for t in tables) else COLUMNS


def _written(values: np.ndarray, rows: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Return a column with new values at the given rows: the column itself when they hold those values already.

    Tables share such columns (none is written into once made): a write changes a customer's scores and some of its
    signals, not its profile or its score of a week ago, and at 100,000 customers each column kept is 0.4-0.8 MB
    not copied for every patch and every write's fresh rows.
    """
    before = values[rows]
    same = np.array_equal(before, new, equal_nan=True) if before.dtype.kind == "f" else _same(before, new)
    if same:
        return values
    written = values.copy()
    written[rows] = new
    return written


def _same(values: np.ndarray, others: np.ndarray) -> bool:
    """Whether two text columns hold the same values (None included)."""
    return bool((values == others).all())


def _survives(key: Any, changed: set[str]) -> bool:
    """Tell whether something derived stays true when the rows change but these profile columns do not."""
    if key[0] in ("names", "name_rank") or (key[0] == "order" and key[1] == "name"):
        return "name" not in changed
    return key[0] == "codes" and key[1] in ("segment", "plan", "status") and key[1] not in changed


def _array(series: pd.Series) -> np.ndarray:
    if series.name in TEXT or series.name == "main_reason":
        return np.array([None if v is None or v is pd.NA else v for v in series.tolist()], dtype=object)
    whole = series.name in ("seats", "arr_cents", "renewal_day")
    values: np.ndarray = series.to_numpy(dtype=np.int64 if whole else float)
    return values
