"""Each factor's normalisation and explanation, as docs/scoring.md states them."""

import math

import pytest

from healthdash.scoring import ScoringConfig
from healthdash.scoring.factors import ApiUsage, FeatureAdoption, InvoiceTimeliness, LoginFrequency, TicketVolume
from tests.scoring.signals import signals

CONFIG = ScoringConfig()


@pytest.mark.parametrize(("days", "expected"), [(0, 0.0), (4, 25.0), (8, 50.0), (16, 100.0), (30, 100.0)])
def test_login_frequency_counts_active_days_against_the_target(days: int, expected: float) -> None:
    assert LoginFrequency().scores(signals({"login_days": days}), CONFIG).iloc[0] == expected


def test_login_frequency_explains_days_and_target() -> None:
    row = signals({"login_days": 3}).iloc[0]
    assert LoginFrequency().explain(row, CONFIG) == "3 active days in the last 30 (target 16)."
    assert LoginFrequency().explain(signals({"login_days": 1}).iloc[0], CONFIG).startswith("1 active day in")


def test_new_customers_have_no_login_or_adoption_score_yet() -> None:
    frame = signals({"age_days": 9, "login_days": 2}, {"age_days": 14, "login_days": 2})
    assert math.isnan(LoginFrequency().scores(frame, CONFIG).iloc[0])
    assert LoginFrequency().scores(frame, CONFIG).iloc[1] == 12.5
    assert math.isnan(FeatureAdoption().scores(frame, CONFIG).iloc[0])
    assert "Customer for 9 days" in LoginFrequency().explain(frame.iloc[0], CONFIG)


@pytest.mark.parametrize(("used", "expected"), [(0, 0.0), (3, 41.7), (6, 83.3), (7.2, 100.0), (12, 100.0)])
def test_feature_adoption_is_share_of_catalogue_against_target(used: float, expected: float) -> None:
    score = FeatureAdoption().scores(signals({"features_used": used}), CONFIG).iloc[0]
    assert round(score, 1) == expected


def test_feature_adoption_explains_share() -> None:
    text = FeatureAdoption().explain(signals({"features_used": 5}).iloc[0], CONFIG)
    assert text == "Used 5 of 12 features in the last 30 days (42%, target 60%)."


def test_empty_catalogue_makes_adoption_not_applicable() -> None:
    frame = signals({"catalogue_size": 0, "features_used": 0})
    assert math.isnan(FeatureAdoption().scores(frame, CONFIG).iloc[0])
    assert "empty" in FeatureAdoption().explain(frame.iloc[0], CONFIG)
    assert FeatureAdoption().raw(frame.iloc[0], CONFIG)["share"] is None


@pytest.mark.parametrize(
    ("tickets", "expected"),
    [
        ({}, 100.0),
        ({"tickets_low": 1}, 90.0),
        ({"tickets_urgent": 1, "tickets_high": 1}, 20.0),
        ({"tickets_urgent": 3}, 0.0),
    ],
)
def test_ticket_volume_loses_ten_points_per_weighted_ticket(tickets: dict[str, int], expected: float) -> None:
    assert TicketVolume().scores(signals(tickets), CONFIG).iloc[0] == expected


def test_ticket_volume_explains_the_mix() -> None:
    row = signals({"tickets_high": 1, "tickets_medium": 1}).iloc[0]
    assert TicketVolume().explain(row, CONFIG) == (
        "2 tickets opened in the last 30 days (1 high, 1 medium): weighted load 5, 10 points each."
    )
    assert TicketVolume().raw(row, CONFIG)["weighted_load"] == 5.0
    assert TicketVolume().explain(signals({}).iloc[0], CONFIG) == "No support tickets opened in the last 30 days."


@pytest.mark.parametrize(
    ("counts", "expected"),
    [((3, 0, 0), 100.0), ((1, 1, 0), 75.0), ((0, 0, 2), 0.0), ((1, 2, 1), 50.0)],
)
def test_invoice_timeliness_is_mean_credit(counts: tuple[int, int, int], expected: float) -> None:
    on_time, grace, late = counts
    frame = signals({"invoices_on_time": on_time, "invoices_late_grace": grace, "invoices_late": late})
    assert InvoiceTimeliness().scores(frame, CONFIG).iloc[0] == expected


def test_invoice_timeliness_is_not_applicable_without_due_invoices() -> None:
    frame = signals({"invoices_on_time": 0})
    assert math.isnan(InvoiceTimeliness().scores(frame, CONFIG).iloc[0])
    assert InvoiceTimeliness().explain(frame.iloc[0], CONFIG) == "No invoice fell due in the last 90 days."
    late = signals({"invoices_on_time": 1, "invoices_late_grace": 1, "invoices_late": 1}).iloc[0]
    assert InvoiceTimeliness().explain(late, CONFIG) == (
        "3 invoices due in the last 90 days: 1 paid on time, 1 paid up to 15 days late, 1 paid later or still unpaid."
    )


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        (1000, 1000, 100.0),
        (1500, 1000, 100.0),
        (950, 1000, 100.0),
        (875, 1000, 80.0),
        (800, 1000, 60.0),
        (650, 1000, 30.0),
        (500, 1000, 0.0),
        (0, 1000, 0.0),
        (10, 0, 100.0),
    ],
)
def test_api_usage_follows_the_piecewise_line(now: int, before: int, expected: float) -> None:
    score = ApiUsage().scores(signals({"api_calls": now, "api_calls_prev": before}), CONFIG).iloc[0]
    assert score == pytest.approx(expected)


def test_api_usage_is_not_applicable_without_calls() -> None:
    frame = signals({"api_calls": 0, "api_calls_prev": 0})
    assert math.isnan(ApiUsage().scores(frame, CONFIG).iloc[0])
    assert ApiUsage().explain(frame.iloc[0], CONFIG) == "No API calls in the last 60 days."


@pytest.mark.parametrize(
    ("now", "before", "text"),
    [
        (1200, 1846, "API calls down 35%: 1,200 in the last 30 days against 1,846 before."),
        (1500, 1000, "API calls up 50%: 1,500 in the last 30 days against 1,000 before."),
        (1000, 1000, "API calls unchanged: 1,000 in the last 30 days against 1,000 before."),
        (40, 0, "API use began in the last 30 days (40 calls)."),
    ],
)
def test_api_usage_explains_the_change(now: int, before: int, text: str) -> None:
    row = signals({"api_calls": now, "api_calls_prev": before}).iloc[0]
    assert ApiUsage().explain(row, CONFIG) == text
