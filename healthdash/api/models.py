"""Request and response models of the REST API: they validate requests and generate the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, TypeAdapter, WithJsonSchema
from pydantic_core import PydanticCustomError

from healthdash.clock import UTC, resolve_as_of, utc_now

EventType = Literal[
    "login", "feature_use", "api_call", "ticket_opened", "ticket_closed", "invoice_issued", "invoice_paid"
]
Tier = Literal["healthy", "at_risk", "critical", "insufficient_data"]
Segment = Literal["enterprise", "mid_market", "smb"]
Plan = Literal["starter", "growth", "business", "enterprise"]
Priority = Literal["low", "medium", "high", "urgent"]
FactorKey = Literal["login_frequency", "feature_adoption", "ticket_volume", "invoice_timeliness", "api_usage"]

# Dates and timestamps the API reads: years 2000 to 2199, timestamps in RFC 3339 with their UTC offset. The same
# patterns are in the OpenAPI document, so what the document calls valid is exactly what is accepted.
DATE_PATTERN = r"2[01][0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
_OFFSET = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
TIMESTAMP_PATTERN = f"{DATE_PATTERN}[Tt]{_TIME}{_OFFSET}"
_DATE = re.compile(DATE_PATTERN)
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)
# Text that is stored: no NUL (PostgreSQL text cannot hold it) and not blank. Whitespace is spelled out so that
# every regex engine (the validator's and the one a client generates from) reads the pattern alike.
_SPACE = r" \t\n\v\f\r\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
TEXT_PATTERN = rf"^[^\u0000]*[^\u0000{_SPACE}][^\u0000]*$"
MAX_FUTURE = dt.timedelta(minutes=5)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=UTC)


def _timestamp(text: str) -> dt.datetime | None:
    if not _TIMESTAMP.fullmatch(text):
        return None
    try:
        return dt.datetime.fromisoformat(text.upper()).astimezone(UTC)
    except ValueError:
        return None


def _date(text: str) -> dt.date | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_as_of(value: object) -> dt.datetime:
    """Read an as_of: a date (meaning the end of that day, UTC) or a timestamp with its offset."""
    if isinstance(value, dt.date):  # from Python code, such as the pages' client
        return resolve_as_of(value)
    if isinstance(value, str):
        day = _date(value)
        when = resolve_as_of(day) if day is not None else _timestamp(value)
        if when is not None:
            return when
    raise PydanticCustomError(
        "as_of",
        "as_of must be a date (2026-11-01, the end of that day) or a timestamp with its offset "
        "(2026-11-01T12:00:00Z), in the years 2000 to 2199",
    )


def parse_occurred_at(value: object) -> dt.datetime:
    """Read when an event occurred: a timestamp with its offset, from 2000 up to 5 minutes from now."""
    when = _timestamp(value) if isinstance(value, str) else None
    if when is None:
        raise PydanticCustomError(
            "timestamp", "occurred_at must be a timestamp with its offset (2026-11-01T12:00:00Z); omit it for now"
        )
    if when < EARLIEST:
        raise PydanticCustomError("too_early", "occurred_at is before 2000-01-01")
    if when > utc_now() + MAX_FUTURE:
        raise PydanticCustomError("in_future", "occurred_at is more than 5 minutes in the future")
    return when


def parse_date(value: object) -> dt.date:
    """Read a calendar date (2026-11-01) in the years 2000 to 2199."""
    day = _date(value) if isinstance(value, str) else None
    if day is None:
        raise PydanticCustomError("date", "must be a date such as 2026-11-01, in the years 2000 to 2199")
    return day


def parse_amount(value: object) -> Decimal:
    """Read an amount of money: a JSON number with at most two decimals."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise PydanticCustomError("amount", "amount must be a number such as 1250.5")
    return Decimal(str(value))


AS_OF_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "format": "date", "pattern": f"^{DATE_PATTERN}$"},
        {"type": "string", "format": "date-time", "pattern": f"^{TIMESTAMP_PATTERN}$"},
    ],
    "description": "a date (2026-11-01, meaning the end of that day, UTC) or a timestamp with its offset "
    "(2026-11-01T12:00:00Z), years 2000 to 2199; default now",
    "examples": ["2026-11-01", "2026-11-01T12:00:00Z"],
}
AsOf = Annotated[
    dt.datetime | None,
    BeforeValidator(parse_as_of),
    PlainSerializer(lambda value: value.isoformat() if value else None),  # a query string again, as clients send it
    WithJsonSchema(AS_OF_SCHEMA),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- query strings ---------------------------------------------------------------------------------------------


class AsOfQuery(Strict):
    as_of: AsOf = None


class CustomerListQuery(Strict):
    tier: Tier | None = None
    segment: Segment | None = None
    plan: Plan | None = None
    q: Annotated[str | None, Field(max_length=200, description="case-insensitive part of the name")] = None
    sort: Literal["score", "name", "trend"] = "score"
    order: Literal["asc", "desc"] = "asc"
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    as_of: AsOf = None


class HealthQuery(Strict):
    as_of: AsOf = None
    events_limit: Annotated[int, Field(ge=1, le=500, description="events per page")] = 20
    events_offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0


# --- event bodies ----------------------------------------------------------------------------------------------

OccurredAt = Annotated[
    dt.datetime | None,
    BeforeValidator(parse_occurred_at),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": f"^{TIMESTAMP_PATTERN}$",
            "description": "when it happened, with its offset; default now; from 2000-01-01 up to 5 minutes from now",
        }
    ),
]


def parse_whole_number(value: object) -> int:
    """Read a JSON integer: 12 or 12.0 (the same number in JSON), never a string or a boolean."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise PydanticCustomError("int_type", "must be a whole number")


Id = Annotated[int, Field(ge=1, le=2**63 - 1), BeforeValidator(parse_whole_number)]
UserName = Annotated[str, Field(min_length=1, max_length=200, pattern=TEXT_PATTERN, description="who logged in")]
Subject = Annotated[
    str, Field(min_length=1, max_length=500, pattern=TEXT_PATTERN, description="what the ticket is about")
]


class LoginData(Strict):
    user: UserName | None = None


class FeatureUseData(Strict):
    feature: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,62}$", description="a key of the feature catalogue")]


class ApiCallData(Strict):
    count: Annotated[int, Field(ge=1, le=1_000_000_000, description="calls made"), BeforeValidator(parse_whole_number)]


class TicketOpenedData(Strict):
    priority: Priority
    subject: Subject


class TicketClosedData(Strict):
    ticket_id: Annotated[Id, Field(description="a ticket of this customer that is open")]


class InvoiceIssuedData(Strict):
    amount: Annotated[
        Decimal,
        BeforeValidator(parse_amount),
        Field(gt=0, le=Decimal("9999999999.99"), max_digits=12, decimal_places=2),
        WithJsonSchema(
            {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 9999999999.99,
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


class _Event(Strict):
    occurred_at: OccurredAt = None


class LoginEvent(_Event):
    type: Literal["login"]
    data: LoginData = Field(default_factory=LoginData)


class FeatureUseEvent(_Event):
    type: Literal["feature_use"]
    data: FeatureUseData


class ApiCallEvent(_Event):
    type: Literal["api_call"]
    data: ApiCallData


class TicketOpenedEvent(_Event):
    type: Literal["ticket_opened"]
    data: TicketOpenedData


class TicketClosedEvent(_Event):
    type: Literal["ticket_closed"]
    data: TicketClosedData


class InvoiceIssuedEvent(_Event):
    type: Literal["invoice_issued"]
    data: InvoiceIssuedData


class InvoicePaidEvent(_Event):
    type: Literal["invoice_paid"]
    data: InvoicePaidData


EVENT_MODELS: tuple[type[_Event], ...] = (
    LoginEvent,
    FeatureUseEvent,
    ApiCallEvent,
    TicketOpenedEvent,
    TicketClosedEvent,
    InvoiceIssuedEvent,
    InvoicePaidEvent,
)
AnyEvent = Annotated[
    LoginEvent
    | FeatureUseEvent
    | ApiCallEvent
    | TicketOpenedEvent
    | TicketClosedEvent
    | InvoiceIssuedEvent
    | InvoicePaidEvent,
    Field(discriminator="type"),
]
EVENT = TypeAdapter[Any](AnyEvent)
"""One activity of a customer: `type` selects the shape of `data`."""


# --- responses -------------------------------------------------------------------------------------------------


class AtRiskCustomer(BaseModel):
    id: int
    name: str
    score: float
    tier: Tier
    main_reason: FactorKey | None = Field(description="the factor that lost the most points")


class Bucket(BaseModel):
    from_: int = Field(alias="from")
    to: int
    count: int


class Dashboard(BaseModel):
    as_of: dt.datetime
    customer_count: int
    average_score: float | None
    tiers: dict[Tier, int]
    top_at_risk: list[AtRiskCustomer]
    factor_averages: dict[FactorKey, float | None]
    distribution: list[Bucket]


class CustomerRow(BaseModel):
    id: int
    name: str
    segment: Segment
    plan: Plan
    score: float | None
    tier: Tier
    trend: float | None = Field(description="score now minus score one window (30 days) earlier")


class CustomerList(BaseModel):
    customers: list[CustomerRow]
    total: int
    limit: int
    offset: int
    as_of: dt.datetime


class Profile(BaseModel):
    id: int
    name: str
    segment: Segment
    plan: Plan
    seats: int
    industry: str
    region: str
    owner: str | None
    created_at: dt.datetime


class Trend(BaseModel):
    previous_score: float | None
    delta: float | None


class FactorBreakdown(BaseModel):
    key: FactorKey
    label: str
    weight: float
    score: float | None = Field(description="null when the factor does not apply")
    points: float
    points_lost: float
    raw: dict[str, Any]
    explanation: str


class StoredEvent(BaseModel):
    id: int
    customer_id: int
    type: EventType
    occurred_at: dt.datetime
    data: dict[str, Any]
    recorded_at: dt.datetime


class Ticket(BaseModel):
    id: int
    subject: str
    priority: Priority
    status: Literal["open", "closed"]
    opened_at: dt.datetime
    closed_at: dt.datetime | None


class Invoice(BaseModel):
    id: int
    amount: float
    issued_at: dt.date
    due_at: dt.date
    paid_at: dt.date | None
    status: Literal["on_time", "late_within_grace", "late", "overdue", "open"]


class DailyActivity(BaseModel):
    day: dt.date
    logins: int
    feature_uses: int
    api_calls: int


class EventPage(BaseModel):
    items: list[StoredEvent]
    total: int
    limit: int
    offset: int


class CustomerHealth(BaseModel):
    customer: Profile
    as_of: dt.datetime
    score: float | None
    tier: Tier
    coverage: float
    main_reason: FactorKey | None
    trend: Trend
    factors: list[FactorBreakdown]
    events: EventPage
    tickets: list[Ticket]
    invoices: list[Invoice]
    activity: list[DailyActivity] = Field(description="logins, feature uses and API calls per day, last 90 days")


class HealthSummary(BaseModel):
    score: float | None
    tier: Tier


class EventCreated(BaseModel):
    event: StoredEvent
    health: HealthSummary


class Healthz(BaseModel):
    status: Literal["ok"]


class ProblemDetail(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="for 422: each invalid field (`field`) with its message"
    )


# --- event batches ---------------------------------------------------------------------------------------------

MAX_BATCH = 10_000
CustomerId = Annotated[
    int,
    Field(ge=1, le=999_999_999_999_999_999, description="the customer the event is about"),
    BeforeValidator(parse_whole_number),
]


class LoginBatchEvent(LoginEvent):
    customer_id: CustomerId


class FeatureUseBatchEvent(FeatureUseEvent):
    customer_id: CustomerId


class ApiCallBatchEvent(ApiCallEvent):
    customer_id: CustomerId


class TicketOpenedBatchEvent(TicketOpenedEvent):
    customer_id: CustomerId


class TicketClosedBatchEvent(TicketClosedEvent):
    customer_id: CustomerId


class InvoiceIssuedBatchEvent(InvoiceIssuedEvent):
    customer_id: CustomerId


class InvoicePaidBatchEvent(InvoicePaidEvent):
    customer_id: CustomerId


AnyBatchEvent = Annotated[
    LoginBatchEvent
    | FeatureUseBatchEvent
    | ApiCallBatchEvent
    | TicketOpenedBatchEvent
    | TicketClosedBatchEvent
    | InvoiceIssuedBatchEvent
    | InvoicePaidBatchEvent,
    Field(discriminator="type"),
]


class EventBatch(Strict):
    """Up to 10,000 events for any customers: each one an event body as for one customer, plus its `customer_id`."""

    events: Annotated[list[AnyBatchEvent], Field(min_length=1, max_length=MAX_BATCH)]


class BatchRecorded(BaseModel):
    """What a batch stored."""

    count: int = Field(description="events stored")
    customer_count: int = Field(description="distinct customers among them")
    first_id: int = Field(description="the id of the batch's first event")
    last_id: int = Field(description="the id of the batch's last event")
    ids: list[int] = Field(description="the ids of the stored events, in batch order")
