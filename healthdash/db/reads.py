"""Reads of one customer's record and evidence: profile, recent events, tickets, invoices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypedDict, cast

import orjson
from sqlalchemy import Connection, text

from healthdash.clock import as_of_day
from healthdash.db import json_text as J
from healthdash.db.prepared import Statement, prepared_rows


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


# A customer's evidence as the health answer writes it, built by PostgreSQL in one statement (`json_text`): each part
# is read with its own index, and every row is written straight into the answer's text.
_EVENT_JSON = J.json_object(
    id=J.number("e.id"),
    customer_id=J.number("e.customer_id"),
    type=J.string("e.type"),
    occurred_at=J.moment("e.occurred_at"),
    data=J.json_value("e.data"),
    recorded_at=J.moment("e.recorded_at"),
    recorded_by=J.string("e.recorded_by"),
)
_TICKET_JSON = J.json_object(
    id=J.number("t.id"),
    subject=J.string("t.subject"),
    priority=J.string("t.priority"),
    status=J.string("t.status"),
    opened_at=J.moment("t.opened_at"),
    closed_at=J.moment("t.closed_at"),
)
_INVOICE_JSON = J.json_object(
    id=J.number("i.id"),
    amount=J.number("i.amount"),
    issued_at=J.string("i.issued_at"),
    due_at=J.string("i.due_at"),
    paid_at=J.string("i.paid_at"),
    status=J.string("i.status"),
)
_DAILY_JSON = J.json_object(
    day=J.string("u.day"),
    logins=J.number("u.logins"),
    feature_uses=J.number("u.feature_uses"),
    api_calls=J.number("u.api_calls"),
)
_PROFILE_JSON = J.json_object(
    id=J.number("c.id"),
    name=J.string("c.name"),
    segment=J.string("c.segment"),
    plan=J.string("c.plan"),
    seats=J.number("c.seats"),
    industry=J.string("c.industry"),
    region=J.string("c.region"),
    owner=J.string("c.owner"),
    created_at=J.moment("c.created_at"),
    external_id=J.string("c.external_id"),
    arr=J.number("c.arr"),
    renewal_date=J.string("c.renewal_date"),
    status=J.string("c.status"),
)
_ITEMS = f"""(SELECT {J.json_array(_EVENT_JSON, "e.occurred_at DESC, e.id DESC")} FROM (
    SELECT id, customer_id, type, occurred_at, data, recorded_at, recorded_by
      FROM events
     WHERE customer_id = %(id)s AND occurred_at <= %(as_of)s
     ORDER BY occurred_at DESC, id DESC
     LIMIT %(limit)s OFFSET %(offset)s) e)"""  # noqa: S608 (constant fragments)
_TICKETS = f"""(SELECT {J.json_array(_TICKET_JSON, "t.opened_at DESC, t.id DESC")} FROM (
    SELECT id, subject, priority, status, opened_at, closed_at
      FROM tickets
     WHERE customer_id = %(id)s AND opened_at <= %(as_of)s
     ORDER BY opened_at DESC, id DESC
     LIMIT %(records)s) t)"""  # noqa: S608 (constant fragments)
_INVOICES = f"""(SELECT {J.json_array(_INVOICE_JSON, "i.due_at DESC, i.id DESC")} FROM (
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
     LIMIT %(records)s) i)"""  # noqa: S608 (constant fragments)
_ACTIVITY = f"""(SELECT {J.json_array(_DAILY_JSON, "u.day")} FROM (
    SELECT day, logins, feature_uses, api_calls
      FROM customer_daily
     WHERE customer_id = %(id)s AND day > %(day)s - %(days)s AND day <= %(day)s) u)"""  # noqa: S608 (constant fragments)
_TOTAL = "(SELECT count(*) FROM events WHERE customer_id = %(id)s AND occurred_at <= %(as_of)s)"
_PAGE = J.json_object(items=_ITEMS, total=J.number(_TOTAL), limit=J.number("%(limit)s"), offset=J.number("%(offset)s"))
_DOCUMENT = J.json_object(
    customer=_PROFILE_JSON,
    as_of=J.moment("%(as_of)s"),
    events=_PAGE,
    tickets=_TICKETS,
    invoices=_INVOICES,
    activity=_ACTIVITY,
)
# A customer's profile and evidence as one JSON text (`customer_evidence_json`), run by name once prepared.
EVIDENCE = Statement(
    "hd_customer_evidence",
    f"SELECT {_DOCUMENT} FROM customers c WHERE c.id = %(id)s",  # noqa: S608 (constant fragments)
    {
        "id": "bigint",
        "as_of": "timestamptz",
        "day": "date",
        "grace": "integer",
        "limit": "integer",
        "offset": "integer",
        "records": "integer",
        "days": "integer",
    },
)


class RecentEvents(TypedDict):
    """A page of a customer's events up to a moment, newest first, and how many there are in all."""

    items: list[EventRow]
    total: int
    limit: int
    offset: int


class Evidence(TypedDict):
    """What is known of one customer as of a moment: its profile, recent events, tickets, invoices and usage (the
    document `customer_evidence_json` reads, as `evidence_values` gives its values)."""

    customer: ProfileRow
    as_of: dt.datetime
    events: RecentEvents
    tickets: list[TicketRow]
    invoices: list[InvoiceRow]
    activity: list[DailyRow]


def customer_evidence_json(
    conn: Connection,
    customer_id: int,
    as_of: dt.datetime,
    grace_days: int,
    events: tuple[int, int],
    days: int,
    records: int = 100,
) -> bytes | None:
    """Return the customer's profile, a page of its events (limit, offset) with their total, its tickets, invoices
    and daily usage as of a moment as one JSON object, as the API answers it; None when there is no such customer.

    PostgreSQL builds the whole document: one round trip, and no Python object per value on the way through (a page of
    500 events parsed and encoded again took longer than the statement). The statement is prepared once per
    connection (`prepared_rows`). Events come newest first; tickets newest first and invoices by due day, latest first
    (at most `records` each); the usage of the `days` days ending with the as-of day, oldest first. An invoice's
    status is as of that day. The text is compact and its moments in UTC, as the API's encoder writes them; numbers of
    the `numeric` columns keep their scale (12000.00).
    """
    params = evidence_parameters(customer_id, as_of, grace_days, events, days, records)
    _, rows = prepared_rows(conn, EVIDENCE.name, EVIDENCE.sql, EVIDENCE.types, params)
    return evidence_document(rows)


def evidence_parameters(
    customer_id: int, as_of: dt.datetime, grace_days: int, events: tuple[int, int], days: int, records: int = 100
) -> dict[str, Any]:
    """Return the parameters of `EVIDENCE` (see `customer_evidence_json`)."""
    limit, offset = events
    return {
        "id": customer_id,
        "as_of": as_of,
        "day": as_of_day(as_of),
        "grace": grace_days,
        "limit": limit,
        "offset": offset,
        "records": records,
        "days": days,
    }


def evidence_document(rows: Sequence[Sequence[Any]]) -> bytes | None:
    """Return the evidence's JSON from the rows of `EVIDENCE` (None: no such customer)."""
    return str(rows[0][0]).encode() if rows else None


def evidence_values(document: bytes, as_of: dt.datetime) -> Evidence:
    """Return what `customer_evidence_json` read, as of `as_of`, as plain values: moments and days as datetimes and
    dates."""
    found = orjson.loads(document)
    found["as_of"] = as_of
    _moments(found["customer"], ("created_at",))
    for event in found["events"]["items"]:
        _moments(event, ("occurred_at", "recorded_at"))
    for ticket in found["tickets"]:
        _moments(ticket, ("opened_at", "closed_at"))
    for invoice in found["invoices"]:
        _days(invoice, ("issued_at", "due_at", "paid_at"))
    for usage in found["activity"]:
        _days(usage, ("day",))
    return cast(Evidence, found)


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
