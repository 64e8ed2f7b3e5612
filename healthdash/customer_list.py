"""Filtering, sorting and paging the customer list over a score table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

SortKey = Literal["score", "name", "trend"]
Order = Literal["asc", "desc"]


@dataclass(frozen=True)
class ListQuery:
    """What the caller asked of the list."""

    tier: str | None = None
    segment: str | None = None
    plan: str | None = None
    q: str | None = None
    sort: SortKey = "score"
    order: Order = "asc"
    limit: int = 50
    offset: int = 0


def select_customers(table: pd.DataFrame, query: ListQuery) -> tuple[pd.DataFrame, int]:
    """Return one page of the filtered, sorted customers and how many matched in all.

    Sorting is stable and total: ties are broken by name (case-insensitive), then id; customers without a value for
    the sort key (no trend yet) come last in either order.
    """
    mask = np.ones(len(table), dtype=bool)
    for column in ("tier", "segment", "plan"):
        wanted = getattr(query, column)
        if wanted is not None:
            mask &= (table[column] == wanted).to_numpy()
    if query.q:
        mask &= table["name"].str.casefold().str.contains(query.q.casefold(), regex=False).to_numpy()
    matched = table[mask]
    key = {"score": "score", "name": "_name", "trend": "trend"}[query.sort]
    frame = matched.assign(_name=matched["name"].str.casefold(), _id=matched.index)
    ascending = query.order == "asc"
    if key == "_name":
        ordered = frame.sort_values(["_name", "_id"], ascending=[ascending, ascending], kind="stable")
    else:
        ordered = frame.sort_values(
            [key, "_name", "_id"], ascending=[ascending, True, True], kind="stable", na_position="last"
        )
    page = ordered.iloc[query.offset : query.offset + query.limit]
    return page.drop(columns=["_name", "_id"]), int(mask.sum())


def list_records(page: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the list rows as JSON-ready records."""
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
