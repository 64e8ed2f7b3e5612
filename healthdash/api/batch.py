"""POST /api/events/batch: up to 10,000 events for any customers, stored all or nothing, safe to retry."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import ValidationError

from healthdash.api import jsonio
from healthdash.api.handlers import ERRORS_LISTED, CustomerEventsHandler
from healthdash.api.models.events import BATCH
from healthdash.api.models.plain import without_none
from healthdash.api.models.values import TEXT_PATTERN
from healthdash.api.problem import Problem, refused
from healthdash.clock import as_of_day, utc_now
from healthdash.recording import Answer, EventRejected, KeyReused, NewEvent
from healthdash.vocabulary import ACTIVITY_TYPES, EVENT_TYPES, MAX_BATCH, MAX_IDEMPOTENCY_KEY_LENGTH


class EventBatchHandler(CustomerEventsHandler):
    def body_limit(self) -> int:
        return self.api.limits.max_batch_body_size

    async def post(self, *args: str, **kwargs: str) -> None:
        """Record a batch of events for any customers, all or nothing."""
        body = self.json_body()
        key = idempotency_key(self.request.headers.get("Idempotency-Key"))
        # 10,000 events take tens of milliseconds to validate: not on the event loop, which carries every other
        # request and every page's websocket
        events, request_hash = await self.api.build(validated, body, key is not None)
        try:
            answer, customers = await self.api.write(
                self.api.service.record_batch,
                events,
                lambda ids: answer_for(ids, events),
                key,
                request_hash,
                share=1 + len(events) // 1000,  # the deadline once more for every thousand events
                author=self.author,
            )
        except (EventRejected, KeyReused) as exc:
            raise refused(exc) from None
        if customers:
            since = min(as_of_day(e.occurred_at) for e in events)
            self.api.board.mark_changed(customers, since, usage_only=all(e.type in ACTIVITY_TYPES for e in events))
        else:
            self.set_header("Idempotent-Replayed", "true")
        self.send(answer.body, status=answer.status)


def validated(body: Any, hashed: bool) -> tuple[list[NewEvent], str]:
    """Return the batch's events (422 naming each bad field) and, if asked, the hash that recognises it retried."""
    events = events_from(body)
    return events, hashlib.sha256(canonical(body)).hexdigest() if hashed else ""


def idempotency_key(header: str | None) -> str | None:
    """Return the Idempotency-Key header's value (None when absent); 422 unless it is 1-255 visible ASCII characters."""
    if header is None:
        return None
    if not 1 <= len(header) <= MAX_IDEMPOTENCY_KEY_LENGTH or not all(33 <= ord(c) <= 126 for c in header):
        detail = f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters, such as a UUID"
        raise Problem(422, detail, errors=[{"field": "Idempotency-Key", "message": detail}])
    return header


def events_from(body: Any) -> list[NewEvent]:
    """Validate a batch like single events, each plus its customer_id; 422 naming each field as events[i]...."""
    if not isinstance(body, dict):
        raise Problem(422, "the body must be a JSON object", errors=[{"field": "body", "message": "not an object"}])
    try:
        batch = BATCH.validate_python(body)
    except ValidationError as exc:
        errors = [{"field": batch_field(e), "message": _message(e)} for e in exc.errors(include_url=False)]
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10]) + more
        raise Problem(422, f"invalid body: {detail}", errors=errors[:ERRORS_LISTED]) from None
    now = utc_now()
    return [
        NewEvent(e["customer_id"], e["type"], e.get("occurred_at") or now, without_none(e.get("data", {})))
        for e in batch["events"]
    ]


def batch_field(error: Any) -> str:
    """Name the field of a validation error as the client wrote it: events[3].data.count."""
    loc = list(error["loc"])
    if len(loc) < 2 or loc[0] != "events" or not isinstance(loc[1], int):
        return ".".join(str(p) for p in loc) or "body"
    head, rest = f"events[{loc[1]}]", loc[2:]
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return f"{head}.type"
    if rest and rest[0] in EVENT_TYPES:  # the step that names the event type
        rest = rest[1:]
    return ".".join([head, *(str(p) for p in rest)])


def answer_for(ids: list[int], events: list[NewEvent]) -> Answer:
    """Return the answer to a stored batch: how many events, for how many customers, and their ids."""
    customers = len({e.customer_id for e in events})
    body = {"count": len(ids), "customer_count": customers, "first_id": ids[0], "last_id": ids[-1], "ids": ids}
    return Answer(201, jsonio.dumps(body))


def canonical(body: Any) -> bytes:
    """Encode a parsed body the same way whatever its key order and spacing, to recognise a retried batch."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _message(error: Any) -> str:
    if error["type"] == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == TEXT_PATTERN:
        return "must hold a visible character and no NUL (\\u0000)"
    if error["type"] == "too_long" and error["loc"] == ("events",):
        return f"at most {MAX_BATCH:,} events in one batch"
    return str(error["msg"])
