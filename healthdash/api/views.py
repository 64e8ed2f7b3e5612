"""Response bodies derived from a score snapshot (built once per snapshot and query, then served from memory)."""

from __future__ import annotations

import datetime as dt

from healthdash.api import jsonio
from healthdash.api.models.query import CustomerListQuery
from healthdash.customer_list import ListQuery, page_records, select_rows
from healthdash.scoreboard import Snapshot
from healthdash.summary import dashboard_summary


def dashboard_body(snapshot: Snapshot, as_of: dt.datetime | None) -> bytes:
    """Return the encoded dashboard for a snapshot."""
    return jsonio.dumps(dashboard_summary(snapshot.scores, as_of or snapshot.as_of))


def list_body(snapshot: Snapshot, params: CustomerListQuery, as_of: dt.datetime | None) -> bytes:
    """Return the encoded page of the customer list for a snapshot."""
    query = ListQuery(**params.model_dump(exclude={"as_of"}))
    rows, total = select_rows(snapshot.scores, query)
    return jsonio.dumps(
        {
            "customers": page_records(snapshot.scores, rows),
            "total": total,
            "limit": query.limit,
            "offset": query.offset,
            "as_of": as_of or snapshot.as_of,
        }
    )
