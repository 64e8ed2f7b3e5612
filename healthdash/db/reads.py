"""Reads of one customer's record and evidence: profile, recent events, tickets, invoices."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict, cast

import orjson
from sqlalchemy import Connection, text

from healthdash.clock import as_of_day
from healthdash.db.prepared import prepared_rows


class ProfileRow(TypedDict):
    id: int
    name: str
    segment: str
    plan: str
    seats: int
    industry: str
    region: str
    owner: str | None
    created_at: dt.datetime
    external_id: str | None
    arr: float
    renewal_date: dt.date | None
    status: str


class EventRow(TypedDict):
    id: int
    customer_id: int
    type: str
    occurred_at: dt.datetime
    data: dict[str, Any]
    recorded_at: dt.datetime
    recorded_by: str | None


class TicketRow(TypedDict):
    id: int
    subject: str
    priority: str
    status: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None


class InvoiceRow(TypedDict):
    id: int
    amount: float
    issued_at: dt.date
    due_at: dt.date
    paid_at: dt.date | None
    status: str  # as of the day asked for: on_time, late_within_grace, late, overdue or open


class DailyRow(TypedDict):
    day: dt.date
    logins: int
    feature_uses: int
    api_calls: int


_EVENT = text(
    "SELECT id, customer_id, type, occurred_at, data, recorded_at, recorded_by "
    "FROM events WHERE id = :e AND customer_id = :id"
)
_FEATURES = text("SELECT key FROM features ORDER BY bit, key")
_EVIDENCE = """
    SELECT json_build_object(
        'customer', (SELECT to_json(c) FROM (
            SELECT id, name, segment, plan, seats, industry, region, owner, created_at, external_id, arr,
                   renewal_date, status
              FROM customers WHERE id = %(id)s) c),
        'total', (SELECT count(*) FROM events WHERE customer_id = %(id)s AND occurred_at <= %(as_of)s),
        'events', (SELECT coalesce(json_agg(e ORDER BY e.occurred_at DESC, e.id DESC), '[]') FROM (
            SELECT id, customer_id, type, occurred_at, data, recorded_at, recorded_by
              FROM events
             WHERE customer_id = %(id)s AND occurred_at <= %(as_of)s
             ORDER BY occurred_at DESC, id DESC
             LIMIT %(limit)s OFFSET %(offset)s) e),
        'tickets', (SELECT coalesce(json_agg(t ORDER BY t.opened_at DESC, t.id DESC), '[]') FROM (
            SELECT id, subject, priority, status, opened_at, closed_at
              FROM tickets
             WHERE customer_id = %(id)s AND opened_at <= %(as_of)s
             ORDER BY opened_at DESC, id DESC
             LIMIT %(records)s) t),
        'invoices', (SELECT coalesce(json_agg(i ORDER BY i.due_at DESC, i.id DESC), '[]') FROM (
            SELECT id, amount, issued_at, due_at, paid_at,
                   CASE WHEN paid_at IS NOT NULL AND paid_at <= %(day)s AND paid_at <= due_at THEN 'on_time'
                        WHEN paid_at IS NOT NULL AND paid_at <= %(day)s AND paid_at <= due_at + %(grace)s
                             THEN 'late_within_grace'
                        WHEN paid_at IS NOT NULL AND paid_at <= %(day)s THEN 'late'
                        WHEN due_at < %(day)s THEN 'overdue'
                        ELSE 'open' END AS status
              FROM invoices
             WHERE customer_id = %(id)s AND issued_at <= %(day)s
             ORDER BY due_at DESC, id DESC
             LIMIT %(records)s) i),
        'activity', (SELECT coalesce(json_agg(u ORDER BY u.day), '[]') FROM (
            SELECT day, logins, feature_uses, api_calls
              FROM customer_daily
             WHERE customer_id = %(id)s AND day > %(day)s - %(days)s AND day <= %(day)s) u)
    )::text
    """
_EVIDENCE_TYPES = {
    "id": "bigint",
    "as_of": "timestamptz",
    "day": "date",
    "grace": "integer",
    "limit": "integer",
    "offset": "integer",
    "records": "integer",
    "days": "integer",
}


class CustomerEvidence(TypedDict):
    """One customer's profile and evidence as of a moment, as `customer_evidence` reads them in one statement."""

    customer: ProfileRow
    events: list[EventRow]
    total: int
    tickets: list[TicketRow]
    invoices: list[InvoiceRow]
    activity: list[DailyRow]


def customer_evidence(
    conn: Connection,
    customer_id: int,
    as_of: dt.datetime,
    grace_days: int,
    events: tuple[int, int],
    days: int,
    records: int = 100,
) -> CustomerEvidence | None:
    """Return the customer's profile, a page of its events (limit, offset) with their total, its tickets, invoices
    and daily usage as of a moment, with one statement; None when there is no such customer.

    PostgreSQL builds the whole as one JSON document: one round trip, and no Python object per column of a row;
    the statement is prepared once per connection (`prepared_rows`).
    Events come newest first; tickets newest first and invoices by due day, latest first (at most `records` each);
    the usage of the `days` days ending with the as-of day, oldest first. An invoice's status is as of that day.
    """
    limit, offset = events
    day = as_of_day(as_of)
    params = {
        "id": customer_id,
        "as_of": as_of,
        "day": day,
        "grace": grace_days,
        "limit": limit,
        "offset": offset,
        "records": records,
        "days": days,
    }
    _, rows = prepared_rows(conn, "hd_customer_evidence", _EVIDENCE, _EVIDENCE_TYPES, params)
    found = orjson.loads(rows[0][0])
    if found["customer"] is None:
        return None
    _moments(found["customer"], ("created_at",))
    for event in found["events"]:
        _moments(event, ("occurred_at", "recorded_at"))
    for ticket in found["tickets"]:
        _moments(ticket, ("opened_at", "closed_at"))
    for invoice in found["invoices"]:
        _days(invoice, ("issued_at", "due_at", "paid_at"))
    for usage in found["activity"]:
        _days(usage, ("day",))
    return cast(CustomerEvidence, found)


def _moments(row: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if row[name] is not None:
            row[name] = dt.datetime.fromisoformat(row[name])


def _days(row: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if row[name] is not None:
            row[name] = dt.date.fromisoformat(row[name])


def feature_keys(conn: Connection) -> list[str]:
    """Return the keys of the feature catalogue, in catalogue order."""
    return [row[0] for row in conn.execute(_FEATURES)]


def customer_event(conn: Connection, customer_id: int, event_id: int) -> EventRow | None:
    """Return one event of the customer, or None."""
    row = conn.execute(_EVENT, {"id": customer_id, "e": event_id}).mappings().first()
    return cast(EventRow, dict(row)) if row else None
