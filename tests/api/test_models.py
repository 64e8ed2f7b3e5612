"""The request models read dates, timestamps, amounts and ids exactly as the OpenAPI document describes them."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from healthdash.api.models.events import BATCH, BATCH_EVENT_MODELS, EVENT, EVENT_MODELS, EventBatch, event_type
from healthdash.api.models.plain import without_none
from healthdash.api.models.query import CustomerListQuery
from healthdash.api.models.values import DATE_PATTERN, TIMESTAMP_PATTERN
from healthdash.vocabulary import EARLIEST_DAY, EVENT_TYPES, LATEST_DAY

UTC = dt.UTC


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("2026-11-01", dt.datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC)),
        ("2026-11-01T12:00:00Z", dt.datetime(2026, 11, 1, 12, tzinfo=UTC)),
        ("2026-11-01t12:00:00.250z", dt.datetime(2026, 11, 1, 12, 0, 0, 250_000, tzinfo=UTC)),
        ("2026-11-01T12:00:00-05:30", dt.datetime(2026, 11, 1, 17, 30, tzinfo=UTC)),
        (dt.date(2026, 11, 1), dt.datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC)),
        (dt.datetime(2026, 11, 1, 8, tzinfo=UTC), dt.datetime(2026, 11, 1, 8, tzinfo=UTC)),
    ],
)
def test_as_of_is_a_date_or_a_timestamp_with_its_offset(given: object, meant: dt.datetime) -> None:
    query = CustomerListQuery.model_validate({"as_of": given})
    assert query.as_of == meant
    assert query.model_dump()["as_of"] == meant.isoformat()  # what a client puts in the query string again


@pytest.mark.parametrize(
    "given",
    ["2026-11-01T12:00:00", "2026-11-01 12:00:00Z", "1999-12-31", "2200-01-01", "2026-02-29", "20261101", 20261101],
)
def test_anything_else_is_not_an_as_of(given: object) -> None:
    with pytest.raises(ValidationError, match="as_of must be a date"):
        CustomerListQuery.model_validate({"as_of": given})


def test_the_date_pattern_spans_the_vocabulary_s_days() -> None:
    for day in (EARLIEST_DAY, LATEST_DAY):
        assert re.fullmatch(DATE_PATTERN, day.isoformat())
    for day in (EARLIEST_DAY - dt.timedelta(days=1), LATEST_DAY + dt.timedelta(days=1)):
        assert not re.fullmatch(DATE_PATTERN, day.isoformat())


def test_there_is_one_body_per_event_type_and_a_batch_event_is_a_body_with_its_customer() -> None:
    assert tuple(event_type(model) for model in EVENT_MODELS) == EVENT_TYPES
    for body, batched in zip(EVENT_MODELS, BATCH_EVENT_MODELS, strict=True):
        assert issubclass(batched, body)
        assert list(batched.model_fields) == [*body.model_fields, "customer_id"]
        assert batched.__name__ == body.__name__.replace("Event", "BatchEvent")


def test_the_timestamp_pattern_and_the_parser_agree() -> None:
    for text in ("2026-11-01T12:00:00Z", "2026-11-01T12:00:00.123456+01:00", "2199-12-31T23:59:59-23:59"):
        assert re.fullmatch(TIMESTAMP_PATTERN, text)
    for text in ("2026-11-01T24:00:00Z", "2026-11-01T12:00:60Z", "2026-11-01T12:00:00.1234567Z", "2026-11-01T12:00Z"):
        assert not re.fullmatch(TIMESTAMP_PATTERN, text)


def test_whole_numbers_may_be_written_with_a_zero_fraction() -> None:
    event = EVENT.validate_python({"type": "api_call", "data": {"count": 12.0}})
    assert event.data.count == 12 and isinstance(event.data.count, int)
    for wrong in (True, "12", 12.5):
        with pytest.raises(ValidationError, match="whole number"):
            EVENT.validate_python({"type": "api_call", "data": {"count": wrong}})


def test_an_amount_has_at_most_two_decimals() -> None:
    issued = {"type": "invoice_issued", "data": {"due_at": "2026-12-01"}}
    assert EVENT.validate_python({**issued, "data": {**issued["data"], "amount": 1250.5}}).data.amount == Decimal(
        "1250.5"
    )
    for wrong in (0, 0.001, 10_000_000_000, float("nan"), "12.50", None):
        with pytest.raises(ValidationError):
            EVENT.validate_python({**issued, "data": {**issued["data"], "amount": wrong}})


def _batch(*events: dict[str, object]) -> dict[str, object]:
    return {"events": [{"customer_id": 7, **event} for event in events]}


VALID_BATCHES = [
    _batch({"type": "login"}, {"type": "login", "data": {"user": None}}, {"type": "login", "data": {"user": "ann"}}),
    _batch({"type": "api_call", "data": {"count": 12.0}, "occurred_at": "2026-11-01T12:00:00+01:00"}),
    _batch({"type": "feature_use", "data": {"feature": "reports"}, "customer_id": 3.0}),
    _batch({"type": "ticket_opened", "data": {"priority": "high", "subject": "Export fails"}}),
    _batch({"type": "ticket_closed", "data": {"ticket_id": 3}}, {"type": "invoice_paid", "data": {"invoice_id": 4.0}}),
    _batch({"type": "invoice_issued", "data": {"amount": 1250.5, "due_at": "2026-12-01"}}),
    _batch({"type": "churned", "data": {"reason": "budget", "note": None}}),
    _batch({"type": "arr_changed", "data": {"arr": 5}}),
    _batch({"type": "renewed", "data": {"renewal_date": "2027-01-01"}}),
]
INVALID_BATCHES = [
    {"events": []},
    {"events": "all of them"},
    {},
    {"events": [{"type": "login", "customer_id": 1}], "more": 1},
    _batch({"type": "nope"}),
    {"events": [{"type": "login"}]},
    _batch({"type": "login", "customer_id": True}),
    _batch({"type": "login", "customer_id": "3"}),
    _batch({"type": "login", "customer_id": 2.5}),
    _batch({"type": "api_call", "data": {"count": 0}}),
    _batch({"type": "api_call"}),
    _batch({"type": "login", "data": {"user": " "}}),
    _batch({"type": "login", "extra": 1}),
    _batch({"type": "login", "data": {"x": 1}}),
    _batch({"type": "login", "occurred_at": None}),
    _batch({"type": "login", "occurred_at": "1999-01-01T00:00:00Z"}),
    _batch({"type": "feature_use", "data": {"feature": "Bad Key"}}),
    _batch({"type": "invoice_issued", "data": {"amount": 1.234, "due_at": "2026-02-30"}}),
    _batch({"type": "ticket_opened", "data": {"priority": "meh", "subject": ""}}),
    _batch({"type": "churned", "data": {"reason": "bored"}}),
    _batch({"type": "renewed", "data": {"renewal_date": "2020-01-01", "arr": -5}}),
    _batch({"type": "ticket_closed", "data": {"ticket_id": "a"}}),
    _batch(*[{"type": "login"}] * 10_001),
]


@pytest.mark.parametrize("body", VALID_BATCHES)
def test_a_batch_validated_into_plain_dicts_holds_what_its_models_hold(body: dict[str, object]) -> None:
    events = BATCH.validate_python(body)["events"]
    dumped = EventBatch.model_validate(body).model_dump(exclude_none=True)["events"]
    plain = [{**without_none(e), "data": without_none(e.get("data", {}))} for e in events]
    assert plain == dumped


@pytest.mark.parametrize("body", INVALID_BATCHES)
def test_a_batch_validated_into_plain_dicts_is_refused_for_what_its_models_refuse(body: dict[str, object]) -> None:
    def refusals(validate: Any) -> list[tuple[object, ...]]:
        with pytest.raises(ValidationError) as refused:
            validate(body)
        return [(e["loc"], e["type"], e["msg"]) for e in refused.value.errors(include_url=False)]

    assert refusals(BATCH.validate_python) == refusals(EventBatch.model_validate)
