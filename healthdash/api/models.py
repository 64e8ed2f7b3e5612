"""Request and response models of the REST API: they validate requests and generate the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

EventType = Literal[
    "login", "feature_use", "api_call", "ticket_opened", "ticket_closed", "invoice_issued", "invoice_paid"
]
Tier = Literal["healthy", "at_risk", "critical", "insufficient_data"]
Segment = Literal["enterprise", "mid_market", "smb"]
Plan = Literal["starter", "growth", "business", "enterprise"]
FactorKey = Literal["login_frequency", "feature_adoption", "ticket_volume", "invoice_timeliness", "api_usage"]
AsOf = Annotated[
    str | None,
    Field(
        description="ISO date (2026-11-01, meaning the end of that day) or timestamp; default now (UTC)",
        examples=["2026-11-01", "2026-11-01T12:00:00Z"],
        max_length=40,
    ),
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

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class LoginData(Strict):
    user: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None


class FeatureUseData(Strict):
    feature: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,62}$")] = Field(
        description="a key of the feature catalogue"
    )


class ApiCallData(Strict):
    count: Annotated[int, Field(strict=True, ge=1, le=1_000_000_000)]


class TicketOpenedData(Strict):
    priority: Literal["low", "medium", "high", "urgent"]
    subject: Text


class TicketClosedData(Strict):
    ticket_id: Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]


class InvoiceIssuedData(Strict):
    amount: Annotated[Decimal, Field(gt=0, le=Decimal("9999999999.99"), max_digits=12, decimal_places=2)]
    due_at: dt.date


class InvoicePaidData(Strict):
    invoice_id: Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]


EVENT_DATA: dict[str, type[Strict]] = {
    "login": LoginData,
    "feature_use": FeatureUseData,
    "api_call": ApiCallData,
    "ticket_opened": TicketOpenedData,
    "ticket_closed": TicketClosedData,
    "invoice_issued": InvoiceIssuedData,
    "invoice_paid": InvoicePaidData,
}


class EventBody(Strict):
    """One activity of a customer."""

    type: Literal[
        "login", "feature_use", "api_call", "ticket_opened", "ticket_closed", "invoice_issued", "invoice_paid"
    ]
    occurred_at: dt.datetime | None = Field(
        default=None, description="ISO 8601; default now; at most 5 minutes in the future; naive means UTC"
    )
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="per type: login {user?}, feature_use {feature}, api_call {count}, ticket_opened {priority, "
        "subject}, ticket_closed {ticket_id}, invoice_issued {amount, due_at}, invoice_paid {invoice_id}",
    )


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
    type: str
    occurred_at: dt.datetime
    data: dict[str, Any]
    recorded_at: dt.datetime


class Ticket(BaseModel):
    id: int
    subject: str
    priority: Literal["low", "medium", "high", "urgent"]
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
