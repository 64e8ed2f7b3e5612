"""Reads of one customer's record and evidence: profile, recent events, tickets, invoices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, TypedDict, cast

from sqlalchemy import Connection, CursorResult, text


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


class EventRow(TypedDict):
    id: int
    customer_id: int
    type: str
    occurred_at: dt.datetime
    data: dict[str, Any]
    recorded_at: dt.datetime


class TicketRow(TypedDict):
    id: int
    subject: str
    priority: str
    status: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None


class InvoiceRow(TypedDict):
    id: int
    amount: Decimal
    issued_at: dt.date
    due_at: dt.date
    paid_at: dt.date | None
    status: str  # as of the day asked for: on_time, late_within_grace, late, overdue or open


class DailyRow(TypedDict):
    day: dt.date
    logins: int
    feature_uses: int
    api_calls: int


_PROFILE = text(
    """
    SELECT id, name, segment, plan, seats, industry, region, owner, created_at
      FROM customers WHERE id = :id
    """
)
_EVENTS = text(
    """
    SELECT id, customer_id, type, occurred_at, data, recorded_at
      FROM events
     WHERE customer_id = :id AND occurred_at <= :as_of
     ORDER BY occurred_at DESC, id DESC
     LIMIT :limit OFFSET :offset
    """
)
_EVENT = text(
    "SELECT id, customer_id, type, occurred_at, data, recorded_at FROM events WHERE id = :e AND customer_id = :id"
)
_FEATURES = text("SELECT key FROM features ORDER BY bit, key")
_EVENT_COUNT = text("SELECT count(*) FROM events WHERE customer_id = :id AND occurred_at <= :as_of")
_TICKETS = text(
    """
    SELECT id, subject, priority, status, opened_at, closed_at
      FROM tickets
     WHERE customer_id = :id AND opened_at <= :as_of
     ORDER BY opened_at DESC, id DESC
     LIMIT :limit
    """
)
_INVOICES = text(
    """
    SELECT id, amount, issued_at, due_at, paid_at,
           CASE WHEN paid_at IS NOT NULL AND paid_at <= :day AND paid_at <= due_at THEN 'on_time'
                WHEN paid_at IS NOT NULL AND paid_at <= :day AND paid_at <= due_at + :grace THEN 'late_within_grace'
                WHEN paid_at IS NOT NULL AND paid_at <= :day THEN 'late'
                WHEN due_at < :day THEN 'overdue'
                ELSE 'open' END AS status
      FROM invoices
     WHERE customer_id = :id AND issued_at <= :day
     ORDER BY due_at DESC, id DESC
     LIMIT :limit
    """
)
_DAILY = text(
    """
    SELECT day, logins, feature_uses, api_calls
      FROM customer_daily
     WHERE customer_id = :id AND day > :day - :days AND day <= :day
     ORDER BY day
    """
)


def customer_profile(conn: Connection, customer_id: int) -> ProfileRow | None:
    """Return the customer's profile, or None when there is no such customer."""
    row = conn.execute(_PROFILE, {"id": customer_id}).mappings().first()
    return cast(ProfileRow, dict(row)) if row else None


def feature_keys(conn: Connection) -> list[str]:
    """Return the keys of the feature catalogue, in catalogue order."""
    return [row[0] for row in conn.execute(_FEATURES)]


def recent_events(
    conn: Connection, customer_id: int, as_of: dt.datetime, limit: int, offset: int
) -> tuple[list[EventRow], int]:
    """Return a page of the customer's events up to as_of, newest first, and how many there are in all."""
    params = {"id": customer_id, "as_of": as_of, "limit": limit, "offset": offset}
    rows = cast(list[EventRow], _records(conn.execute(_EVENTS, params)))
    total = int(conn.execute(_EVENT_COUNT, params).scalar_one())
    return rows, total


def customer_event(conn: Connection, customer_id: int, event_id: int) -> EventRow | None:
    """Return one event of the customer, or None."""
    row = conn.execute(_EVENT, {"id": customer_id, "e": event_id}).mappings().first()
    return cast(EventRow, dict(row)) if row else None


def customer_tickets(conn: Connection, customer_id: int, as_of: dt.datetime, limit: int = 100) -> list[TicketRow]:
    """Return the customer's support tickets opened up to as_of, newest first."""
    params = {"id": customer_id, "as_of": as_of, "limit": limit}
    return cast(list[TicketRow], _records(conn.execute(_TICKETS, params)))


def customer_invoices(
    conn: Connection, customer_id: int, day: dt.date, grace_days: int, limit: int = 100
) -> list[InvoiceRow]:
    """Return the customer's invoices issued up to the day, each with its on-time status as of that day."""
    params = {"id": customer_id, "day": day, "grace": grace_days, "limit": limit}
    return cast(list[InvoiceRow], _records(conn.execute(_INVOICES, params)))


def daily_activity(conn: Connection, customer_id: int, day: dt.date, days: int) -> list[DailyRow]:
    """Return the customer's logins, feature uses and API calls per day for the days ending with `day`."""
    params = {"id": customer_id, "day": day, "days": days}
    return cast(list[DailyRow], _records(conn.execute(_DAILY, params)))


def _records(result: CursorResult[Any]) -> list[dict[str, Any]]:
    """Return the rows of a result as dicts (cheaper than one mapping per row)."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result.all()]
