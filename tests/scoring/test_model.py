"""The overall score, its tiers and explanation, and the properties every score must keep."""

import math
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthdash.scoring import FACTOR_KEYS, ScoringConfig, explain_customer, score_customers, tier_for_score
from healthdash.scoring.model import score_columns
from tests.scoring.signals import signals

CONFIG = ScoringConfig()

signal_rows = st.fixed_dictionaries(
    {
        "age_days": st.integers(0, 2000),
        "login_days": st.integers(0, 30),
        "features_used": st.integers(0, 12),
        "catalogue_size": st.just(12),
        "tickets_low": st.integers(0, 20),
        "tickets_medium": st.integers(0, 20),
        "tickets_high": st.integers(0, 10),
        "tickets_urgent": st.integers(0, 10),
        "invoices_on_time": st.integers(0, 6),
        "invoices_late_grace": st.integers(0, 6),
        "invoices_late": st.integers(0, 6),
        "api_calls": st.integers(0, 10**7),
        "api_calls_prev": st.integers(0, 10**7),
    }
)
weights = st.fixed_dictionaries({key: st.floats(0.01, 1000) for key in FACTOR_KEYS})


def score_of(row: dict[str, Any], config: ScoringConfig = CONFIG) -> pd.Series:
    return score_customers(signals(row), config).iloc[0]


@given(signal_rows, weights)
def test_every_score_is_finite_and_between_0_and_100(row: dict[str, Any], w: dict[str, float]) -> None:
    result = score_of(row, ScoringConfig(weights=w))
    assert math.isfinite(result["score"]) and 0 <= result["score"] <= 100
    for key in FACTOR_KEYS:
        assert math.isnan(result[key]) or 0 <= result[key] <= 100
    assert 0 < result["coverage"] <= 1


@given(signal_rows.filter(lambda r: r["login_days"] < 30))
def test_one_more_login_day_never_lowers_the_score(row: dict[str, Any]) -> None:
    before, after = score_of(row), score_of({**row, "login_days": row["login_days"] + 1})
    assert after["score"] >= before["score"]
    if not math.isnan(before["login_frequency"]):
        assert after["login_frequency"] >= before["login_frequency"]


@given(signal_rows, st.sampled_from(["tickets_low", "tickets_medium", "tickets_high", "tickets_urgent"]))
def test_one_more_ticket_never_raises_the_score(row: dict[str, Any], priority: str) -> None:
    before, after = score_of(row), score_of({**row, priority: row[priority] + 1})
    assert after["score"] <= before["score"]
    assert after["ticket_volume"] <= before["ticket_volume"]


@given(
    signal_rows.filter(lambda r: r["invoices_late"] > 0), st.sampled_from(["invoices_on_time", "invoices_late_grace"])
)
def test_paying_an_overdue_invoice_never_lowers_the_score(row: dict[str, Any], paid: str) -> None:
    before = score_of(row)
    after = score_of({**row, "invoices_late": row["invoices_late"] - 1, paid: row[paid] + 1})
    assert after["score"] >= before["score"]
    assert after["invoice_timeliness"] >= before["invoice_timeliness"]


@given(signal_rows, weights, st.floats(0.001, 1000))
def test_scaling_all_weights_changes_nothing(row: dict[str, Any], w: dict[str, float], factor: float) -> None:
    plain = score_of(row, ScoringConfig(weights=w))
    scaled = score_of(row, ScoringConfig(weights={k: v * factor for k, v in w.items()}))
    assert scaled["score"] == pytest.approx(plain["score"], abs=0.05001)
    assert (
        scaled["tier"] == plain["tier"]
        or abs(plain["score"] - CONFIG.healthy_min) < 0.1
        or abs(plain["score"] - CONFIG.at_risk_min) < 0.1
    )
    assert scaled["coverage"] == pytest.approx(plain["coverage"])


@settings(max_examples=50)
@given(st.lists(signal_rows, min_size=1, max_size=20))
def test_same_inputs_give_the_same_output(rows: list[dict[str, Any]]) -> None:
    frame = signals(*rows)
    pd.testing.assert_frame_equal(score_customers(frame, CONFIG), score_customers(frame.copy(), CONFIG))


@given(signal_rows)
def test_points_add_up_to_the_score_and_losses_to_the_rest(row: dict[str, Any]) -> None:
    result = score_of(row)
    points = sum(result[f"{k}_points"] for k in FACTOR_KEYS)
    lost = sum(result[f"{k}_lost"] for k in FACTOR_KEYS)
    assert points == pytest.approx(result["score"], abs=0.05001)
    assert points + lost == pytest.approx(100.0)


@given(signal_rows)
def test_scoring_one_customer_alone_or_among_others_agrees(row: dict[str, Any]) -> None:
    alone = score_of(row)
    together = score_customers(signals({}, row, {"login_days": 0}), CONFIG).iloc[1]
    pd.testing.assert_series_equal(alone, together, check_names=False)


@settings(max_examples=30)
@given(st.lists(signal_rows, min_size=2, max_size=40), st.integers(1, 7))
def test_scoring_in_chunks_gives_every_customer_the_same_columns(rows: list[dict[str, Any]], chunk: int) -> None:
    frame = signals(*rows)
    arrays = {name: frame[name].to_numpy() for name in frame.columns}
    whole = score_columns(arrays, len(frame), CONFIG)
    for given_as in (arrays, frame):  # a mapping of arrays (the board's) or a frame (an analyst's)
        parts = score_columns(given_as, len(frame), CONFIG, chunk=chunk)
        assert list(parts) == list(whole)
        for name, values in whole.items():
            assert parts[name].dtype == values.dtype
            assert pd.isna(parts[name]).tolist() == pd.isna(values).tolist()
            assert [v for v in parts[name] if not pd.isna(v)] == [v for v in values if not pd.isna(v)], name


@pytest.mark.parametrize(
    ("score", "coverage", "tier"),
    [
        (70.0, 1.0, "healthy"),
        (69.9, 1.0, "at_risk"),
        (40.0, 1.0, "at_risk"),
        (39.9, 1.0, "critical"),
        (95.0, 0.59, "insufficient_data"),
        (95.0, 0.60, "healthy"),
        (float("nan"), 1.0, "insufficient_data"),
    ],
)
def test_tier_for_score(score: float, coverage: float, tier: str) -> None:
    assert tier_for_score(score, coverage, CONFIG) == tier


def test_main_reason_is_the_factor_that_lost_most_points() -> None:
    result = score_of({"login_days": 2, "features_used": 7})
    assert result["main_reason"] == "login_frequency"
    assert score_of({"login_days": 30, "features_used": 12})["main_reason"] is None


def test_not_applicable_factors_leave_the_weight_to_the_others() -> None:
    result = score_of({"invoices_on_time": 0, "api_calls": 0, "api_calls_prev": 0, "login_days": 8})
    # login 50 (w25), features 100 (w25), tickets 100 (w20): (1250 + 2500 + 2000) / 70
    assert result["score"] == 82.1
    assert result["coverage"] == pytest.approx(0.70)
    assert result["invoice_timeliness_points"] == 0 and result["invoice_timeliness_lost"] == 0


def test_a_new_customer_has_insufficient_data() -> None:
    result = score_of({"age_days": 5, "invoices_on_time": 0, "api_calls": 0, "api_calls_prev": 0})
    assert result["tier"] == "insufficient_data"
    assert result["coverage"] == pytest.approx(0.20)


def test_explain_customer_lists_every_factor_with_its_sentence() -> None:
    frame = signals({"login_days": 3, "invoices_on_time": 0})
    scored = score_customers(frame, CONFIG)
    parts = explain_customer(frame.iloc[0].to_dict(), scored.iloc[0].to_dict(), CONFIG)
    assert [p.key for p in parts] == list(FACTOR_KEYS)
    login = parts[0].as_dict()
    assert login["score"] == 18.8 and login["weight"] == 25.0
    assert login["explanation"] == "3 active days in the last 30 (target 16)."
    assert login["raw"] == {"active_days": 3, "target_days": 16.0}
    invoice = parts[3]
    assert invoice.score is None and invoice.points == 0 and invoice.points_lost == 0
    assert sum(p.points for p in parts) == pytest.approx(scored.iloc[0]["score"], abs=0.05)
