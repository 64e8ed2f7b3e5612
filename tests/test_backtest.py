"""The backtest's figures, checked against a small case computed by hand (docs/scoring.md works the same one)."""

from __future__ import annotations

import pytest

from healthdash.backtest_figures import Churner, ScoreCounts, figures

# customer-days: score, flagged, churned within the horizon, ARR
#   A 20 flagged churned 100 | B 30 flagged stayed 50 | C 50 not flagged churned 200
#   D 80 stayed 300 | E 90 stayed 400 | F 50 stayed 10 (a tie with C)
CASE = ScoreCounts(
    bin=[200, 300, 500, 800, 900, 500],
    churned=[True, False, True, False, False, False],
    flagged=[True, True, False, False, False, False],
    count=[1, 1, 1, 1, 1, 1],
    arr=[100.0, 50.0, 200.0, 300.0, 400.0, 10.0],
)
CHURNERS = [Churner(100.0, 40, True), Churner(200.0, None, False), Churner(50.0, 10, False)]


def test_the_confusion_table_and_its_ratios() -> None:
    result = figures(CASE, CHURNERS)
    confusion = (result.true_positives, result.false_positives, result.false_negatives, result.true_negatives)
    assert confusion == (1, 1, 1, 3)
    assert result.observations == 6
    assert result.precision == 0.5 and result.recall == 0.5
    assert result.base_rate == pytest.approx(2 / 6)
    assert result.lift == pytest.approx(1.5)  # 0.5 / (1/3)


def test_the_auc_counts_a_tie_as_half() -> None:
    # churners scored 20 and 50; those who stayed 30, 50, 80, 90: 20 is lower than all 4; 50 lower than 2, tied once
    assert figures(CASE, CHURNERS).auc == pytest.approx((4 + 2 + 0.5) / 8)


def test_the_roc_curve_climbs_from_the_lowest_score() -> None:
    roc = figures(CASE, CHURNERS).roc
    assert roc[0] == (0.0, 0.0, 0.0) and roc[-1][1:] == (1.0, 1.0)
    assert roc[1] == (20.0, 0.0, 0.5)  # calling everyone at 20 or below a churner finds one of two, no false alarm
    assert roc[3] == (50.0, 0.5, 1.0)


def test_the_arr_weighted_precision_and_recall() -> None:
    result = figures(CASE, CHURNERS)
    assert result.arr_precision == pytest.approx(100 / 150)
    assert result.arr_recall == pytest.approx(100 / 300)


def test_the_churn_rate_per_band() -> None:
    bands = {(b.low, b.high): (b.customers_days, b.churned, b.churn_rate) for b in figures(CASE, CHURNERS).bands}
    assert bands[(20, 30)] == (1, 1, 1.0)
    assert bands[(30, 40)] == (1, 0, 0.0)
    assert bands[(50, 60)] == (2, 1, 0.5)
    assert bands[(90, 100)] == (1, 0, 0.0)
    assert bands[(0, 10)] == (0, 0, None)
    assert len(bands) == 10


def test_lead_days_and_what_was_flagged_ahead() -> None:
    result = figures(CASE, CHURNERS)
    assert result.median_lead_days == 25.0  # 40 and 10; the churner never flagged has no lead
    assert (result.churners, result.churners_flagged_ahead) == (3, 1)
    assert result.share_flagged_ahead == pytest.approx(1 / 3)
    assert result.churned_arr == 350.0 and result.churned_arr_flagged_ahead == 100.0
    assert result.arr_share_flagged_ahead == pytest.approx(100 / 350)


def test_each_factor_alone() -> None:
    factors = {
        "login_frequency": ([0, 1000, 500, 1000], [True, True, False, False], [1, 1, 1, 1]),
        "api_usage": ([900, 100], [True, False], [1, 1]),
    }
    result = figures(CASE, CHURNERS, factors)
    assert result.factor_auc == {"login_frequency": pytest.approx(0.625), "api_usage": 0.0}


def test_nothing_to_judge_gives_no_figures_rather_than_an_error() -> None:
    result = figures(ScoreCounts([], [], [], [], []), [])
    assert result.observations == 0
    assert (result.precision, result.recall, result.lift, result.auc, result.median_lead_days) == (None,) * 5
    assert result.as_dict()["confusion"] == {
        "true_positives": 0,
        "false_positives": 0,
        "false_negatives": 0,
        "true_negatives": 0,
    }
