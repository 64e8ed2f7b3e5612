"""Recording a batch of events: all or nothing in one transaction, the events inserted with one statement.

The statement-level triggers on `events` then update the daily rollup and notify listeners once for the batch.
Ticket and invoice events update their records first, in batch order, exactly as single events do. A batch sent
with an idempotency key is remembered with its answer: the same key with the same batch gets that answer again
and stores nothing, the same key with another batch is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from healthdash.db.people import audit_many
from healthdash.db.writes import EVENT_ROWS, event_rows, feature_keys, stored_data
from healthdash.recording import Answer, Author, EventRejected, KeyReused, NewEvent
from healthdash.vocabulary import OUTCOME_TYPES

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
_KNOWN = text("SELECT id FROM customers WHERE id = ANY(CAST(:ids AS bigint[]))")
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
    wanted = sorted({e.customer_id for e in events})
    known = {row[0] for row in conn.execute(_KNOWN, {"ids": wanted})}
    for i, event in enumerate(events):
        if event.customer_id not in known:
            raise EventRejected(
                f"events[{i}].customer_id", f"events[{i}]: there is no customer with id {event.customer_id}"
            )
    catalogue = feature_keys(conn) if any(e.type == "feature_use" for e in events) else set()
    rows = []
    for i, event in enumerate(events):
        if event.type == "feature_use" and event.data["feature"] not in catalogue:
            message = f"events[{i}]: unknown feature {event.data['feature']!r}; see the feature catalogue"
            raise EventRejected(f"events[{i}].data.feature", message)
        data = event.data
        if event.type.startswith(("ticket_", "invoice_")) or event.type in OUTCOME_TYPES:
            try:
                data = stored_data(conn, event.customer_id, event.type, event.occurred_at, event.data)
            except EventRejected as exc:
                raise EventRejected(f"events[{i}].{exc.field}", f"events[{i}]: {exc}", exc.kind) from None
        rows.append((event.customer_id, event.type, event.occurred_at, data))
    ids = [row[0] for row in conn.execute(_INSERT, {"events": event_rows(rows, [author] * len(rows))})]
    if author is not None:
        customers = sorted({e.customer_id for e in events})
        detail = {"events": len(ids), "customers": customers[:100], "customer_count": len(customers)}
        audit_many(conn, [("events.batch", None, detail, author)])
    return sorted(ids)  # identities are drawn in insertion order, which is batch order
