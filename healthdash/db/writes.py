"""Recording activity: one event row, and for ticket and invoice events the matching row, in one transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from pydantic_core import to_json
from sqlalchemy import Connection, text

from healthdash.db.people import audit_many
from healthdash.db.prepared import prepared_rows
from healthdash.recording import Activity, Author, EventRejected
from healthdash.vocabulary import OUTCOME_TYPES

_INSERT_EVENT = text(
    """
    INSERT INTO events (customer_id, type, occurred_at, data, recorded_by)
    VALUES (:customer_id, :type, :occurred_at, CAST(:data AS jsonb), :recorded_by)
    RETURNING id, customer_id, type, occurred_at, data, recorded_at, recorded_by
    """
)


# Several events sent to one statement as a JSON array (see `event_rows`), read as rows `e` in the array's order `n`.
EVENT_ROWS = """ROWS FROM (jsonb_to_recordset(CAST(:events AS jsonb))
                      AS (customer_id bigint, type text, occurred_at timestamptz, data jsonb, recorded_by text))
           WITH ORDINALITY AS e (customer_id, type, occurred_at, data, recorded_by, n)"""

# Activity (a login, API calls, a feature used: ACTIVITY_TYPES) touches no other record: one statement checks and
# stores it, and audits the events that someone recorded (the k-th event accepted is the k-th stored: identities are
# drawn in the order rows are inserted).
_INSERT_ACTIVITIES = """
    WITH accepted AS MATERIALIZED (
        SELECT e.customer_id, e.type, e.occurred_at, e.data, e.recorded_by, e.address, e.n
          FROM ROWS FROM (jsonb_to_recordset(CAST(%(events)s AS jsonb))
                          AS (customer_id bigint, type text, occurred_at timestamptz, data jsonb, recorded_by text,
                              address text))
               WITH ORDINALITY AS e (customer_id, type, occurred_at, data, recorded_by, address, n)
         WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = e.customer_id)
           AND (e.type <> 'feature_use' OR EXISTS (SELECT 1 FROM features f WHERE f.key = e.data ->> 'feature'))
    ), stored AS (
        INSERT INTO events (customer_id, type, occurred_at, data, recorded_by)
        SELECT customer_id, type, occurred_at, data, recorded_by FROM accepted ORDER BY n
        RETURNING id, customer_id, type, occurred_at, data, recorded_at, recorded_by
    ), audited AS (
        INSERT INTO audit_log (actor, action, target, detail, address)
        SELECT a.recorded_by, 'event.record', 'customer ' || s.customer_id,
               jsonb_build_object('event_id', s.id, 'type', s.type), a.address
          FROM (SELECT id, customer_id, type, row_number() OVER (ORDER BY id) AS k FROM stored) AS s
          JOIN (SELECT recorded_by, address, row_number() OVER (ORDER BY n) AS k FROM accepted) AS a USING (k)
         WHERE a.recorded_by IS NOT NULL
         ORDER BY s.id
    )
    SELECT * FROM stored ORDER BY id
    """


def event_rows(events: Iterable[Activity], authors: Sequence[Author | None] = (), addresses: bool = False) -> str:
    """Encode events (customer, type, when, data) and who records each (and from where, with `addresses`) as the
    JSON array that EVENT_ROWS reads."""
    who = list(authors)
    rows = []
    for i, (c, t, w, d) in enumerate(events):
        author = who[i] if i < len(who) else None
        row = {"customer_id": c, "type": t, "occurred_at": w, "data": d, "recorded_by": _actor(author)}
        if addresses:
            row["address"] = None if author is None else author.address
        rows.append(row)
    return to_json(rows).decode()


def _actor(author: Author | None) -> str | None:
    return None if author is None else author.actor[:200]


def record_activities(
    conn: Connection, events: Sequence[Activity], authors: Sequence[Author | None] = ()
) -> list[dict[str, Any] | EventRejected | None]:
    """Store activity events (logins, API calls, feature uses) of several requests with one statement; audit those
    recorded by someone (`authors`, one per event, or none) with one more.

    Return, event by event, the stored event, None for an unknown customer, or EventRejected for an unknown feature.
    """
    rows = event_rows(events, authors, addresses=True)
    names, found = prepared_rows(conn, "hd_insert_activities", _INSERT_ACTIVITIES, {"events": "text"}, {"events": rows})
    stored = [dict(zip(names, row, strict=True)) for row in found]  # in the events' order, without those refused
    results: list[dict[str, Any] | EventRejected | None] = []
    missing: list[int] = []
    for i, (customer_id, event_type, occurred_at, data) in enumerate(events):
        row = stored[0] if stored else None
        if row is not None and (row["customer_id"], row["type"], row["occurred_at"], row["data"]) == (
            customer_id, event_type, occurred_at, data
        ) and row["recorded_by"] == _actor(authors[i] if i < len(authors) else None):  # fmt: skip
            results.append(stored.pop(0))
        else:
            results.append(None)
            missing.append(i)
    if missing:
        known = known_customers(conn, [events[i][0] for i in missing])
        for i in missing:
            if events[i][0] in known:
                feature = events[i][3].get("feature")
                results[i] = EventRejected("data.feature", f"unknown feature {feature!r}; see the feature catalogue")
    return results


_KNOWN = text("SELECT id FROM customers WHERE id = ANY(CAST(:ids AS bigint[]))")
_COUNT_KNOWN = text("SELECT count(*) FROM customers WHERE id = ANY(CAST(:ids AS bigint[]))")


def id_array(ids: Iterable[int]) -> str:
    """Write ids as one PostgreSQL array literal: a single parameter, where a list is adapted id by id (at 10,000
    ids, most of the time a statement that reads their rows takes)."""
    return "{" + ",".join(map(str, ids)) + "}"


def known_customers(conn: Connection, ids: Iterable[int]) -> set[int]:
    """Return which of these customer ids exist."""
    return {row[0] for row in conn.execute(_KNOWN, {"ids": id_array(ids)})}


def count_known_customers(conn: Connection, ids: Iterable[int]) -> int:
    """Return how many of these (distinct) customer ids exist: one number back, whatever their number."""
    return int(conn.execute(_COUNT_KNOWN, {"ids": id_array(ids)}).scalar_one())


def customer_exists(conn: Connection, customer_id: int) -> bool:
    """Tell whether a customer with this id exists."""
    return conn.execute(text("SELECT 1 FROM customers WHERE id = :id"), {"id": customer_id}).first() is not None


def feature_keys(conn: Connection) -> set[str]:
    """Return the keys of the feature catalogue."""
    return {row[0] for row in conn.execute(text("SELECT key FROM features"))}


def record_event(
    conn: Connection,
    customer_id: int,
    event_type: str,
    occurred_at: dt.datetime,
    data: dict[str, Any],
    author: Author | None = None,
) -> dict[str, Any]:
    """Store one event (and its ticket or invoice change) in the caller's transaction, audited when someone records
    it; return the stored event."""
    if event_type == "feature_use" and data["feature"] not in feature_keys(conn):
        raise EventRejected("data.feature", f"unknown feature {data['feature']!r}; see the feature catalogue")
    stored = stored_data(conn, customer_id, event_type, occurred_at, data)
    params = {
        "customer_id": customer_id,
        "type": event_type,
        "occurred_at": occurred_at,
        "data": json.dumps(stored),
        "recorded_by": _actor(author),
    }
    event = dict(conn.execute(_INSERT_EVENT, params).mappings().one())
    audit_recorded(conn, [(event, author)])
    return event


def audit_recorded(conn: Connection, recorded: Sequence[tuple[dict[str, Any], Author | None]]) -> None:
    """Audit the stored events (in the caller's transaction) that someone recorded, with one statement."""
    entries = [
        ("event.record", f"customer {event['customer_id']}", {"event_id": event["id"], "type": event["type"]}, author)
        for event, author in recorded
        if author is not None
    ]
    audit_many(conn, entries)


def stored_data(
    conn: Connection, customer_id: int, event_type: str, occurred_at: dt.datetime, data: dict[str, Any]
) -> dict[str, Any]:
    """Apply a ticket or invoice event to its record (in the caller's transaction); return the data to store."""
    stored = dict(data)
    if event_type == "ticket_opened":
        stored["ticket_id"] = _open_ticket(conn, customer_id, occurred_at, data)
    elif event_type == "ticket_closed":
        _close_ticket(conn, customer_id, occurred_at, int(data["ticket_id"]))
    elif event_type == "invoice_issued":
        stored["invoice_id"] = _issue_invoice(conn, customer_id, occurred_at, data)
        stored["amount"] = str(data["amount"])
        stored["due_at"] = data["due_at"].isoformat()
    elif event_type == "invoice_paid":
        _pay_invoice(conn, customer_id, occurred_at, int(data["invoice_id"]))
    elif event_type in OUTCOME_TYPES:
        stored.update(_record_outcome(conn, customer_id, event_type, data))
    return stored


def _record_outcome(conn: Connection, customer_id: int, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """Apply an outcome to the customer's record; return what the stored event's data holds besides the body's.

    A churned customer's status becomes `churned` (twice is a conflict); a renewal makes it active again with its
    new renewal date (and ARR when given); an ARR change keeps the ARR before it, so that the event tells an
    expansion from a contraction.
    """
    before = (
        conn.execute(text("SELECT status, arr FROM customers WHERE id = :c FOR UPDATE"), {"c": customer_id})
        .mappings()
        .one()
    )
    if event_type == "churned":
        if before["status"] == "churned":
            raise EventRejected("type", f"customer {customer_id} has already churned", kind="conflict")
        conn.execute(text("UPDATE customers SET status = 'churned' WHERE id = :c"), {"c": customer_id})
        return {}
    arr: Decimal = data["arr"] if data.get("arr") is not None else before["arr"]
    if event_type == "renewed":
        conn.execute(
            text("UPDATE customers SET status = 'active', renewal_date = :r, arr = :a WHERE id = :c"),
            {"r": data["renewal_date"], "a": arr, "c": customer_id},
        )
        return {"renewal_date": data["renewal_date"].isoformat(), "arr": str(arr)}
    conn.execute(text("UPDATE customers SET arr = :a WHERE id = :c"), {"a": arr, "c": customer_id})
    return {"arr": str(arr), "previous_arr": str(before["arr"])}


def _open_ticket(conn: Connection, customer_id: int, occurred_at: dt.datetime, data: dict[str, Any]) -> int:
    row = conn.execute(
        text(
            "INSERT INTO tickets (customer_id, subject, priority, status, opened_at) "
            "VALUES (:c, :s, :p, 'open', :t) RETURNING id"
        ),
        {"c": customer_id, "s": data["subject"], "p": data["priority"], "t": occurred_at},
    )
    return int(row.scalar_one())


def _close_ticket(conn: Connection, customer_id: int, occurred_at: dt.datetime, ticket_id: int) -> None:
    ticket = (
        conn.execute(
            text("SELECT status, opened_at FROM tickets WHERE id = :id AND customer_id = :c FOR UPDATE"),
            {"id": ticket_id, "c": customer_id},
        )
        .mappings()
        .first()
    )
    if ticket is None:
        raise EventRejected("data.ticket_id", f"customer {customer_id} has no ticket {ticket_id}")
    if ticket["status"] == "closed":
        raise EventRejected("data.ticket_id", f"ticket {ticket_id} is already closed", kind="conflict")
    if occurred_at < ticket["opened_at"]:
        raise EventRejected("occurred_at", f"ticket {ticket_id} was opened after {occurred_at.isoformat()}")
    conn.execute(
        text("UPDATE tickets SET status = 'closed', closed_at = :t WHERE id = :id"), {"t": occurred_at, "id": ticket_id}
    )


def _issue_invoice(conn: Connection, customer_id: int, occurred_at: dt.datetime, data: dict[str, Any]) -> int:
    issued = occurred_at.astimezone(dt.UTC).date()
    due: dt.date = data["due_at"]
    if due < issued:
        raise EventRejected("data.due_at", f"due date {due} is before the issue date {issued}")
    amount: Decimal = data["amount"]
    row = conn.execute(
        text("INSERT INTO invoices (customer_id, amount, issued_at, due_at) VALUES (:c, :a, :i, :d) RETURNING id"),
        {"c": customer_id, "a": amount, "i": issued, "d": due},
    )
    return int(row.scalar_one())


def _pay_invoice(conn: Connection, customer_id: int, occurred_at: dt.datetime, invoice_id: int) -> None:
    invoice = (
        conn.execute(
            text("SELECT paid_at, issued_at FROM invoices WHERE id = :id AND customer_id = :c FOR UPDATE"),
            {"id": invoice_id, "c": customer_id},
        )
        .mappings()
        .first()
    )
    if invoice is None:
        raise EventRejected("data.invoice_id", f"customer {customer_id} has no invoice {invoice_id}")
    if invoice["paid_at"] is not None:
        raise EventRejected("data.invoice_id", f"invoice {invoice_id} is already paid", kind="conflict")
    paid = occurred_at.astimezone(dt.UTC).date()
    if paid < invoice["issued_at"]:
        raise EventRejected("occurred_at", f"invoice {invoice_id} was issued after {paid}")
    conn.execute(text("UPDATE invoices SET paid_at = :p WHERE id = :id"), {"p": paid, "id": invoice_id})
