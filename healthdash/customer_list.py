"""Filtering, sorting and paging the customer list over a score table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from healthdash.score_table import ScoreTable
from healthdash.vocabulary import PLANS, SEGMENTS, STATUSES, TIERS

SortKey = Literal["score", "name", "trend", "change_7"]
Order = Literal["asc", "desc"]
VOCABULARY = {"tier": TIERS, "segment": SEGMENTS, "plan": PLANS}


@dataclass(frozen=True)
class ListQuery:
    """What the caller asked of the list."""

    tier: str | None = None
    segment: str | None = None
    plan: str | None = None
    status: str = "active"  # or churned, or all
    q: str | None = None
    sort: SortKey = "score"
    order: Order = "asc"
    limit: int = 50
    offset: int = 0
    tier_fell_within: int | None = None
    owner: str | None = None


@dataclass(frozen=True)
class HistoryColumns:
    """What the list knows of the history, one element per customer of the table (None: not asked for)."""

    change_7: np.ndarray | None = None  # score now minus 7 days ago; NaN when unknown
    tier_fell: np.ndarray | None = None  # a lower tier now than on some day of the asked period


def select_customers(table: pd.DataFrame | ScoreTable, query: ListQuery) -> tuple[pd.DataFrame, int]:
    """Return one page of the filtered, sorted customers and how many matched in all.

    Sorting is stable and total: ties are broken by name (case-insensitive), then id; customers without a value for
    the sort key (no trend yet) come last in either order.
    """
    scores = table if isinstance(table, ScoreTable) else ScoreTable.from_frame(table)
    rows, total = select_rows(scores, query)
    return scores.frame().iloc[rows], total


def select_rows(
    scores: ScoreTable, query: ListQuery, history: HistoryColumns | None = None, within: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """Return the rows (positions in the table) of one page of the list, and how many customers matched in all;
    only rows where `within` holds, when given (one flag per customer: those the caller owns, say)."""
    history = history or HistoryColumns()
    if query.sort == "change_7":
        order = ordered(scores, _given(history.change_7, len(scores)), query.order == "asc")
    else:
        order = scores.order(query.sort, query.order == "asc")
    mask = matching(scores, query)
    if query.tier_fell_within is not None:
        fell = history.tier_fell if history.tier_fell is not None else np.zeros(len(scores), dtype=bool)
        mask = fell if mask is None else mask & fell
    if within is not None:
        mask = within if mask is None else mask & within
    if mask is not None:
        order = order[mask[order]]
    return order[query.offset : query.offset + query.limit], len(order)


def ordered(scores: ScoreTable, values: np.ndarray, ascending: bool) -> np.ndarray:
    """Return the rows in the order of values given per customer: ties by name then id, no value last."""
    known = np.isfinite(values)
    key = np.where(known, values if ascending else -values, np.inf)
    return np.lexsort((scores.name_rank(), key))


def _given(values: np.ndarray | None, size: int) -> np.ndarray:
    return values if values is not None else np.full(size, np.nan)


def matching(scores: ScoreTable, query: ListQuery) -> np.ndarray | None:
    """Return which customers the filters let through (None when there is no filter)."""
    mask: np.ndarray | None = None
    for column, vocabulary in VOCABULARY.items():
        wanted = getattr(query, column)
        if wanted is not None:
            code = vocabulary.index(wanted) if wanted in vocabulary else -2
            hit = scores.codes(column, vocabulary) == code
            mask = hit if mask is None else mask & hit
    if query.status != "all":
        hit = status_mask(scores, query.status)
        mask = hit if mask is None else mask & hit
    if query.q:
        hit = scores.search(query.q)
        mask = hit if mask is None else mask & hit
    return mask


def status_mask(scores: ScoreTable, status: str) -> np.ndarray:
    """Return which customers have this status (active or churned)."""
    code = STATUSES.index(status) if status in STATUSES else -2
    mask: np.ndarray = scores.codes("status", STATUSES) == code
    return mask


def page_records(scores: ScoreTable, rows: np.ndarray) -> list[dict[str, Any]]:
    """Return the list rows as JSON-ready records."""
    columns = scores.columns
    return [
        {
            "id": int(scores.ids[row]),
            "name": columns["name"][row],
            "segment": columns["segment"][row],
            "plan": columns["plan"][row],
            "score": _number(columns["score"][row]),
            "tier": columns["tier"][row],
            "trend": _number(columns["trend"][row]),
        }
        for row in rows.tolist()
    ]


def list_records(page: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the list rows of a frame as JSON-ready records, in the frame's order."""
    return [
        {
            "id": int(customer_id),
            "name": row["name"],
            "segment": row["segment"],
            "plan": row["plan"],
            "score": _number(row["score"]),
            "tier": row["tier"],
            "trend": _number(row["trend"]),
        }
        for customer_id, row in zip(page.index, page.to_dict("records"), strict=True)
    ]


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
