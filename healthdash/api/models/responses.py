"""The answers of the REST API."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, Field, create_model

from healthdash.scoring import ScoringConfig
from healthdash.vocabulary import (
    FACTOR_KEYS,
    EventType,
    FactorKey,
    InvoiceStatus,
    Plan,
    Priority,
    Segment,
    Status,
    TicketStatus,
    Tier,
)


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


class Mover(BaseModel):
    id: int
    name: str
    score: float
    tier: Tier
    change: float = Field(description="score now minus the score at the end of the day that many days ago")
    factor: FactorKey = Field(description="the factor whose points moved most")
    factor_points: float = Field(description="the points that factor moved")


class Movers(BaseModel):
    falls: list[Mover] = Field(description="the largest falls, largest first")
    rises: list[Mover] = Field(description="the largest rises, largest first")


class TierCount(BaseModel):
    day: dt.date
    healthy: int
    at_risk: int
    critical: int
    insufficient_data: int


class ArrSummary(BaseModel):
    total: float = Field(description="the customers' annual recurring revenue together")
    by_tier: dict[Tier, float] = Field(description="ARR per tier")
    at_risk: float = Field(description="ARR of the customers at_risk or critical")
    renewals_due: dict[Tier, int] = Field(description="customers per tier whose contract renews in the next 90 days")
    renewals_due_arr: dict[Tier, float] = Field(description="their ARR per tier")


class Dashboard(BaseModel):
    as_of: dt.datetime
    customer_count: int
    average_score: float | None
    tiers: dict[Tier, int]
    arr: ArrSummary | None = Field(default=None, description="the customers' ARR per tier, at risk and due to renew")
    top_at_risk: list[AtRiskCustomer]
    factor_averages: dict[FactorKey, float | None]
    distribution: list[Bucket]
    movers: dict[Literal["7", "30"], Movers] | None = Field(
        default=None,
        description="by days back: the customers whose score fell and rose most; "
        "null for another day than today or without history",
    )
    tier_history: list[TierCount] | None = Field(
        default=None,
        description="customers per tier on each of the last 90 closed days; "
        "null for another day than today or without history",
    )


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
    external_id: str | None = Field(description="the customer's id in the CRM")
    arr: float = Field(description="annual recurring revenue")
    renewal_date: dt.date | None = Field(description="the day the contract renews")
    status: Status = Field(description="active, or churned")


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
    recorded_by: str | None = Field(None, description="who recorded it: a person's email or a token's name")


class Ticket(BaseModel):
    id: int
    subject: str
    priority: Priority
    status: TicketStatus
    opened_at: dt.datetime
    closed_at: dt.datetime | None


class Invoice(BaseModel):
    id: int
    amount: float
    issued_at: dt.date
    due_at: dt.date
    paid_at: dt.date | None
    status: InvoiceStatus


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
    as_of: dt.datetime = Field(
        description="the moment asked for; without as_of, when the answer was computed (it is kept until the "
        "customer changes)"
    )
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


class Me(BaseModel):
    name: str
    email: str | None = Field(description="the person's email; none for a service's token")
    role: Literal["viewer", "csm", "admin"]
    via: Literal["session", "page", "token", "proxy", "bootstrap", "open"] = Field(
        description="how the request was recognised"
    )


class AuditEntry(BaseModel):
    id: int
    at: dt.datetime
    actor: str = Field(description="who: a person's email, a token's name, or the command line")
    action: str = Field(description="what: sign_in, sign_in.failed, sign_out, user.add, token.create, event.record")
    target: str | None
    detail: dict[str, Any]
    address: str | None = Field(description="from where: the client's address")


class AuditLog(BaseModel):
    total: int
    limit: int
    offset: int
    entries: list[AuditEntry]


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


class BatchRecorded(BaseModel):
    """What a batch stored."""

    count: int = Field(description="events stored")
    customer_count: int = Field(description="distinct customers among them")
    first_id: int = Field(description="the id of the batch's first event")
    last_id: int = Field(description="the id of the batch's last event")
    ids: list[int] = Field(description="the ids of the stored events, in batch order")


# GET /api/scores as CSV: these columns, a factor's as the scoring model names them: its score by its key, then the
# points it gives and the points it loses.
SCORES_CSV_COLUMNS = (
    *("id", "name", "segment", "plan", "seats", "tier", "main_reason"),
    *("score", "coverage", "previous_score", "trend"),
    *(f"{key}{part}" for key in FACTOR_KEYS for part in ("", "_points", "_lost")),
)


class FactorPoints(BaseModel):
    score: float | None = Field(description="the factor's score, 0 to 100; null when the factor does not apply")
    points: float = Field(description="the points it gives the health score")
    points_lost: float = Field(description="the points it takes from 100")


class CustomerScores(BaseModel):
    id: int
    name: str
    segment: Segment
    plan: Plan
    seats: int
    tier: Tier
    main_reason: FactorKey | None = Field(description="the factor that lost the most points")
    score: float | None
    coverage: float = Field(description="the share of the weight that applied, 0 to 1")
    previous_score: float | None = Field(description="the score one window (30 days) earlier")
    trend: float | None = Field(description="score now minus score one window (30 days) earlier")
    factors: dict[FactorKey, FactorPoints]


class Scores(BaseModel):
    """Every customer's scores, in id order: the score, previous score and trend to 0.1, the rest unrounded."""

    as_of: dt.datetime
    count: int
    customers: list[CustomerScores]


_SETTINGS: dict[str, Any] = {
    f.name: (get_type_hints(ScoringConfig)[f.name], ...) for f in dataclasses.fields(ScoringConfig)
}
ScoringSettings = create_model(
    "ScoringSettings",
    __doc__="The scoring configuration in use: every number the health score depends on (docs/scoring.md).",
    __module__=__name__,
    **_SETTINGS,
)


class HistoryDay(BaseModel):
    day: dt.date
    score: float | None = Field(description="the score as of the end of the day; null with no factor applying")
    tier: Tier
    coverage: float
    factors: dict[FactorKey, float | None] = Field(description="each factor's score; null when it did not apply")


class SettingChange(BaseModel):
    setting: str = Field(description="the setting's name; `weights.<factor>` for a weight")
    from_: Any = Field(alias="from", serialization_alias="from")
    to: Any


class ConfigurationChange(BaseModel):
    day: dt.date = Field(description="the first day scored under the new configuration")
    changes: list[SettingChange]


class ScoreHistory(BaseModel):
    customer_id: int
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    days: list[HistoryDay] = Field(description="the closed days in the range that are written, oldest first")
    configuration_changes: list[ConfigurationChange]


class ChangeLine(BaseModel):
    kind: Literal["factor", "configuration", "coverage"]
    key: FactorKey | None = Field(description="the factor, for a factor's line")
    label: str
    points: float | None = Field(description="the points this moved the score; the lines add up to `movement`")
    sentence: str
    score_then: float | None
    score_now: float | None
    raw_then: dict[str, Any] | None
    raw_now: dict[str, Any] | None


class ScoreChanges(BaseModel):
    customer_id: int
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    score_then: float | None
    score_now: float | None
    tier_then: Tier
    tier_now: Tier
    movement: float | None = Field(description="score now minus score then; null when either is unknown")
    lines: list[ChangeLine] = Field(description="the reasons, largest movement first")


class Confusion(BaseModel):
    true_positives: int = Field(description="customer-days flagged (at_risk or critical) that churned in the horizon")
    false_positives: int = Field(description="customer-days flagged that did not churn")
    false_negatives: int = Field(description="customer-days not flagged that churned")
    true_negatives: int = Field(description="customer-days not flagged that did not churn")


class CalibrationBand(BaseModel):
    low: int
    high: int
    customers_days: int
    churned: int
    churn_rate: float | None


class RocPoint(BaseModel):
    threshold: float = Field(description="customers scoring this or less are called churners")
    false_positive_rate: float
    true_positive_rate: float


class BacktestFigures(BaseModel):
    observations: int = Field(description="customer-days judged: scored and active at the day")
    confusion: Confusion
    precision: float | None
    recall: float | None
    base_rate: float | None = Field(description="the share of customer-days that churned in the horizon")
    lift: float | None = Field(description="precision over the base rate")
    auc: float | None = Field(description="ROC AUC of the score: the chance a churner scored lower than a stayer")
    arr_precision: float | None = Field(description="precision with each customer-day weighed by its ARR")
    arr_recall: float | None = Field(description="recall with each customer-day weighed by its ARR")
    calibration: list[CalibrationBand]
    roc: list[RocPoint]
    churners: int = Field(description="customers that churned within the horizon after a day of the range")
    churners_flagged_ahead: int = Field(description="of them, flagged at least `lead` days before the churn")
    share_flagged_ahead: float | None
    churned_arr: float
    churned_arr_flagged_ahead: float
    arr_share_flagged_ahead: float | None = Field(description="share of churned ARR flagged `lead`+ days ahead")
    median_lead_days: float | None = Field(description="median days between the first flag and the churn")
    factor_auc: dict[FactorKey, float | None] = Field(description="the ROC AUC of each factor's score alone")
    factor_auc_every_days: int = Field(
        description="the factors' AUCs read every k-th day of the range: 1 (every day) up to 3 million customer-days, "
        "more in larger ranges, whose neighbouring days are nearly the same observations"
    )


class HeldOut(BaseModel):
    observations: int
    precision: float | None
    recall: float | None
    lift: float | None
    auc: float | None
    arr_recall: float | None


class SuggestedWeights(BaseModel):
    weights: dict[FactorKey, int] = Field(description="whole weights summing to 100; never applied by themselves")
    trained_on: int = Field(description="customer-days of the first two thirds of the range the model was fitted on")
    held_out: int = Field(description="customer-days of the last third, on which both sets of weights are judged")
    current: HeldOut = Field(description="the held-out days judged under the current weights")
    suggested: HeldOut = Field(description="the held-out days judged under the suggested weights")


class Backtest(BaseModel):
    from_: dt.date = Field(alias="from")
    to: dt.date
    horizon: int
    lead: int
    figures: BacktestFigures
    current_weights: dict[FactorKey, float]
    suggested: SuggestedWeights | None = Field(description="null with fewer than 5 churned customer-days to learn from")
