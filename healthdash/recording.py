"""What recording events speaks in, between the database layer that stores them and the API that takes them in:
an event to store, a batch's stored answer, and the ways a store refuses an event.

It knows nothing of HTTP: the API decides which status answers each refusal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

Activity = tuple[int, str, dt.datetime, dict[str, Any]]  # customer, type, when, data of an activity event
Refusal = Literal["invalid", "conflict"]


class EventRejected(ValueError):
    """The event contradicts the stored data, naming the field at fault.

    `invalid`: it refers to what does not exist or is out of order (an unknown feature, ticket or invoice; a date
    before the record's). `conflict`: the record it changes is no longer in the state it needs (a ticket already
    closed, an invoice already paid).
    """

    def __init__(self, field: str, message: str, kind: Refusal = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.kind = kind


class KeyReused(ValueError):
    """An idempotency key came back with a different batch."""


@dataclass(frozen=True)
class Author:
    """Who records events, and from where: kept with each event (`recorded_by`) and in the audit log."""

    actor: str
    address: str | None = None


class NewEvent(NamedTuple):
    """One event of a batch, validated (a tuple: a batch makes ten thousand of them at once)."""

    customer_id: int
    type: str
    occurred_at: dt.datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """The answer given to a batch, kept to give again to a retry: its status and body."""

    status: int
    body: bytes
