"""The bodies of recorded events: one model per event type, and a batch's events derived from them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import BeforeValidator, Field, TypeAdapter, WithJsonSchema, create_model

from healthdash.api.models.customers import Arr, RenewalDate
from healthdash.api.models.plain import plain
from healthdash.api.models.values import (
    DATE_PATTERN,
    TEXT_PATTERN,
    Id,
    OccurredAt,
    Strict,
    parse_amount,
    parse_date,
    parse_whole_number,
)
from healthdash.vocabulary import (
    FEATURE_KEY_PATTERN,
    MAX_AMOUNT,
    MAX_API_CALLS,
    MAX_BATCH,
    MAX_ID,
    MAX_NOTE_LENGTH,
    MAX_SUBJECT_LENGTH,
    MAX_USER_LENGTH,
    ChurnReason,
    Priority,
)

UserName = Annotated[
    str, Field(min_length=1, max_length=MAX_USER_LENGTH, pattern=TEXT_PATTERN, description="who logged in")
]
Subject = Annotated[
    str,
    Field(min_length=1, max_length=MAX_SUBJECT_LENGTH, pattern=TEXT_PATTERN, description="what the ticket is about"),
]


class LoginData(Strict):
    user: UserName | None = None


class FeatureUseData(Strict):
    feature: Annotated[str, Field(pattern=FEATURE_KEY_PATTERN, description="a key of the feature catalogue")]


class ApiCallData(Strict):
    count: Annotated[int, Field(ge=1, le=MAX_API_CALLS, description="calls made"), BeforeValidator(parse_whole_number)]


class TicketOpenedData(Strict):
    priority: Priority
    subject: Subject


class TicketClosedData(Strict):
    ticket_id: Annotated[Id, Field(description="a ticket of this customer that is open")]


class InvoiceIssuedData(Strict):
    amount: Annotated[
        Decimal,
        BeforeValidator(parse_amount),
        Field(gt=0, le=MAX_AMOUNT, max_digits=12, decimal_places=2),
        WithJsonSchema(
            {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": float(MAX_AMOUNT),
                "multipleOf": 0.01,
                "description": "the amount, with at most two decimals",
            }
        ),
    ]
    due_at: Annotated[
        dt.date,
        BeforeValidator(parse_date),
        WithJsonSchema(
            {
                "type": "string",
                "format": "date",
                "pattern": f"^{DATE_PATTERN}$",
                "description": "the due date: not before the day the invoice is issued",
            }
        ),
    ]


class InvoicePaidData(Strict):
    invoice_id: Annotated[Id, Field(description="an unpaid invoice of this customer")]


class ChurnedData(Strict):
    reason: Annotated[ChurnReason, Field(description="why the customer left (docs/outcomes.md explains each reason)")]
    note: Annotated[
        str | None, Field(min_length=1, max_length=MAX_NOTE_LENGTH, pattern=TEXT_PATTERN, description="free text")
    ] = None


class RenewedData(Strict):
    renewal_date: Annotated[RenewalDate, Field(description="the day the renewed contract renews next")]
    arr: Annotated[
        Arr | None, Field(description="the renewed contract's annual recurring revenue; default unchanged")
    ] = None


class ArrChangedData(Strict):
    arr: Annotated[Arr, Field(description="the new annual recurring revenue (an expansion or a contraction)")]


class Event(Strict):
    occurred_at: OccurredAt = None


class LoginEvent(Event):
    type: Literal["login"]
    data: LoginData = Field(default_factory=LoginData)


class FeatureUseEvent(Event):
    type: Literal["feature_use"]
    data: FeatureUseData


class ApiCallEvent(Event):
    type: Literal["api_call"]
    data: ApiCallData


class TicketOpenedEvent(Event):
    type: Literal["ticket_opened"]
    data: TicketOpenedData


class TicketClosedEvent(Event):
    type: Literal["ticket_closed"]
    data: TicketClosedData


class InvoiceIssuedEvent(Event):
    type: Literal["invoice_issued"]
    data: InvoiceIssuedData


class InvoicePaidEvent(Event):
    type: Literal["invoice_paid"]
    data: InvoicePaidData


class ChurnedEvent(Event):
    type: Literal["churned"]
    data: ChurnedData


class RenewedEvent(Event):
    type: Literal["renewed"]
    data: RenewedData


class ArrChangedEvent(Event):
    type: Literal["arr_changed"]
    data: ArrChangedData


EVENT_MODELS: tuple[type[Event], ...] = (
    LoginEvent,
    FeatureUseEvent,
    ApiCallEvent,
    TicketOpenedEvent,
    TicketClosedEvent,
    InvoiceIssuedEvent,
    InvoicePaidEvent,
    ChurnedEvent,
    RenewedEvent,
    ArrChangedEvent,
)


def event_type(model: type[Event]) -> str:
    """Return the event type a model's body is for."""
    (tag,) = get_args(model.model_fields["type"].annotation)
    return str(tag)


def one_of(models: Sequence[type[Event]]) -> Any:
    """Return the type of a body that is one of the models, chosen by its `type`."""
    return Annotated[Union[tuple(models)], Field(discriminator="type")]  # noqa: UP007 (a union built at run time)


EVENT = TypeAdapter[Any](one_of(EVENT_MODELS))
"""One activity of a customer: `type` selects the shape of `data`."""

# --- event batches ---------------------------------------------------------------------------------------------

CustomerId = Annotated[
    int,
    Field(ge=1, le=MAX_ID, description="the customer the event is about"),
    BeforeValidator(parse_whole_number),
]


def for_any_customer(model: type[Event]) -> type[Event]:
    """Return the batch variant of an event body: the same fields, plus the `customer_id` it is about."""
    name = model.__name__.removesuffix("Event") + "BatchEvent"
    return create_model(name, __base__=model, __module__=__name__, customer_id=(CustomerId, ...))


BATCH_EVENT_MODELS: tuple[type[Event], ...] = tuple(for_any_customer(model) for model in EVENT_MODELS)
_BATCH_EVENTS: Any = Annotated[list[one_of(BATCH_EVENT_MODELS)], Field(min_length=1, max_length=MAX_BATCH)]  # type: ignore[misc]
EventBatch = create_model(
    "EventBatch",
    __base__=Strict,
    __doc__=f"Up to {MAX_BATCH:,} events for any customers: each one an event body as for one customer, plus its "
    "`customer_id`.",
    __module__=__name__,
    events=(_BATCH_EVENTS, ...),
)
BATCH = TypeAdapter[Any](plain(EventBatch))
"""A batch validated into plain dicts (`healthdash.api.models.plain`): eight times faster than into models."""
