"""Recording a batch of events: all or nothing in one transaction, the events inserted with one statement.

The statement-level triggers on `events` then update the daily rollup and notify listeners once for the batch.
Ticket and invoice events update their records first, in batch order, exactly as single events do. A batch sent
with an idempotency key is remembered with its answer: the same key with the same batch gets that answer again
and stores nothing, the same key with another batch is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from psycopg2.errors import ForeignKeyViolation
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from healthdash.db.people import audit_many
from healthdash.db.writes import (
    EVENT_ROWS,
    count_known_customers,
    event_rows,
    feature_keys,
    known_customers,
    stored_data,
)
from healthdash.recording import Answer, Author, EventRejected, KeyReused, NewEvent
from healthdash.vocabulary import ACTIVITY_TYPES, OUTCOME_TYPES

KEY_DAYS = 1  # how long an idempotency key is remembered
_INSERT = text(
    f"""
    INSERT INTO events (customer_id, type, occurred_at, data, recorded_by)
    SELECT e.customer_id, e.type, e.occurred_at, e.data, e.recorded_by
      FROM {EVENT_ROWS}
     ORDER BY e.n
    RETURNING id
    """  # noqa: S608 (a constant fragment)
)
# A batch of activity alone (the usual one) travels as four JSON arrays, a column each, read side by side in order:
# no object per event to build on the way in or to take apart in PostgreSQL.
_INSERT_ACTIVITY = text(
    """
    INSERT INTO events (customer_id, type, occurred_at, data, recorded_by)
    SELECT CAST(e.customer_id AS bigint), e.type, CAST(e.occurred_at AS timestamptz), e.data,
           CAST(:recorded_by AS text)
      FROM ROWS FROM (jsonb_array_elements_text(CAST(:customer_ids AS jsonb)),
                      jsonb_array_elements_text(CAST(:types AS jsonb)),
                      jsonb_array_elements_text(CAST(:times AS jsonb)),
                      jsonb_array_elements(CAST(:data AS jsonb)))
           WITH ORDINALITY AS e (customer_id, type, occurred_at, data, n)
     ORDER BY e.n
    RETURNING id
    """
)
_CLAIM = text(
    """
    INSERT INTO idempotency_keys (key, request_hash, status, response) VALUES (:key, :hash, 0, '')
    ON CONFLICT (key) DO NOTHING
    RETURNING key
    """
)
_STORED = text("SELECT request_hash, status, response FROM idempotency_keys WHERE key = :key")
_ANSWER = text("UPDATE idempotency_keys SET status = :status, response = :response WHERE key = :key")
_FORGET = text("DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(days => :days)")


def claim_key(conn: Connection, key: str, request_hash: str) -> Answer | None:
    """Take an idempotency key for this batch, or return the answer given to it before.

    A concurrent request with the same key waits here until the first one commits or rolls back.
    """
    conn.execute(_FORGET, {"days": KEY_DAYS})
    if conn.execute(_CLAIM, {"key": key, "hash": request_hash}).first() is not None:
        return None
    stored = conn.execute(_STORED, {"key": key}).one()
    if stored.request_hash != request_hash:
        raise KeyReused(key)
    return Answer(int(stored.status), bytes(stored.response))


def remember_answer(conn: Connection, key: str, answer: Answer) -> None:
    """Keep the answer given to a batch under its idempotency key (in the batch's transaction)."""
    conn.execute(_ANSWER, {"key": key, "status": answer.status, "response": answer.body})


def record_batch(conn: Connection, events: Sequence[NewEvent], author: Author | None = None) -> list[int]:
    """Store the events (in the caller's transaction), audited as one batch when someone records them; return their
    ids in batch order.

    Raise EventRejected naming the first event at fault as `events[i]....`: an unknown customer or feature, or a
    ticket or invoice event that contradicts the stored data.
    """
    if not events:
        return []
    customer_ids, types, times, datas = (list(column) for column in zip(*events, strict=True))
    wanted = sorted(set(customer_ids))
    if not set(types) <= ACTIVITY_TYPES:
        # counted before the tickets and invoices are checked against their records, which an unknown customer lacks
        if count_known_customers(conn, wanted) < len(wanted):
            raise _unknown_customer(conn, customer_ids)
        rows = event_rows(_checked(conn, events), [author] * len(events))
        ids = [row[0] for row in conn.execute(_INSERT, {"events": rows})]
    else:
        if "feature_use" in types:
            catalogue = feature_keys(conn)
            for i, (kind, data) in enumerate(zip(types, datas, strict=True)):
                if kind == "feature_use" and data["feature"] not in catalogue:
                    raise _unknown_feature(i, data["feature"])
        columns = {"customer_ids": customer_ids, "types": types, "times": times, "data": datas}
        params: dict[str, str | None] = {name: orjson.dumps(values).decode() for name, values in columns.items()}
        params["recorded_by"] = None if author is None else author.actor[:200]
        # the events' trigger checks and locks their customers with one query; which one is missing is asked only
        # when one is (after the savepoint, the transaction goes on)
        try:
            with conn.begin_nested():
                ids = [row[0] for row in conn.execute(_INSERT_ACTIVITY, params)]
        except IntegrityError as exc:
            if not isinstance(exc.orig, ForeignKeyViolation):
                raise
            raise _unknown_customer(conn, customer_ids) from None
    if author is not None:
        detail = {"events": len(ids), "customers": wanted[:100], "customer_count": len(wanted)}
        audit_many(conn, [("events.batch", None, detail, author)])
    return sorted(ids)  # identities are drawn in insertion order, which is batch order


def _checked(conn: Connection, events: Sequence[NewEvent]) -> list[NewEvent]:
    """Check a batch's events in order, applying each ticket and invoice event to its record; return them as stored."""
    catalogue = feature_keys(conn) if any(e.type == "feature_use" for e in events) else set()
    rows = []
    for i, event in enumerate(events):
        if event.type == "feature_use" and event.data["feature"] not in catalogue:
            raise _unknown_feature(i, event.data["feature"])
        data = event.data
        if event.type.startswith(("ticket_", "invoice_")) or event.type in OUTCOME_TYPES:
            try:
                data = stored_data(conn, event.customer_id, event.type, event.occurred_at, event.data)
            except EventRejected as exc:
                raise EventRejected(f"events[{i}].{exc.field}", f"events[{i}]: {exc}", exc.kind) from None
        rows.append(NewEvent(event.customer_id, event.type, event.occurred_at, data))
    return rows


def _unknown_customer(conn: Connection, customer_ids: Sequence[int]) -> EventRejected:
    """Return the refusal naming the first event whose customer does not exist (one does not)."""
    known = known_customers(conn, set(customer_ids))
    i = next(i for i, customer in enumerate(customer_ids) if customer not in known)
    return EventRejected(f"events[{i}].customer_id", f"events[{i}]: there is no customer with id {customer_ids[i]}")


def _unknown_feature(i: int, feature: str) -> EventRejected:
    message = f"events[{i}]: unknown feature {feature!r}; see the feature catalogue"
    return EventRejected(f"events[{i}].data.feature", message)
