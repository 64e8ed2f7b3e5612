"""scores() and customer_breakdown(): every customer's scores with each factor's part, under any configuration."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import healthdash
from healthdash.analysis import Session
from healthdash.scoring import DEFAULT_WEIGHTS, FACTOR_KEYS, ScoringConfig


def test_every_customer_with_profile_factors_points_and_trend(analysis: Session) -> None:
    table = analysis.scores()
    customers = analysis.customers()
    assert list(table.index) == list(customers.index)
    assert table.index.name == "id"
    for column in ("name", "segment", "plan", "industry", "region", "owner", "score", "tier", "coverage", "trend"):
        assert column in table.columns
    for key in FACTOR_KEYS:
        assert {key, f"{key}_points", f"{key}_lost"} <= set(table.columns)
    assert dt.datetime.fromisoformat(table.attrs["as_of"]).tzinfo is not None
    pd.testing.assert_series_equal(table["owner"], customers["owner"])


def test_dtypes_are_categories_and_nullable_numbers(analysis: Session) -> None:
    table = analysis.scores()
    assert isinstance(table["tier"].dtype, pd.CategoricalDtype)
    assert list(table["tier"].cat.categories) == ["healthy", "at_risk", "critical", "insufficient_data"]
    assert table["plan"].cat.ordered and list(table["plan"].cat.categories) == [
        "starter",
        "growth",
        "business",
        "enterprise",
    ]
    assert str(table["segment"].dtype) == "category" and str(table["region"].dtype) == "category"
    assert str(table["score"].dtype) == "Float64"
    too_young = table["tier"] == "insufficient_data"
    assert too_young.any(), "the sample data has customers too young to score"
    assert table.loc[too_young, "login_frequency"].isna().all(), "a factor that does not apply is <NA>, not NaN"


def test_points_add_up_to_the_score(analysis: Session) -> None:
    table = analysis.scores()
    scored = table[table["tier"] != "insufficient_data"]
    points = scored[[f"{key}_points" for key in FACTOR_KEYS]].sum(axis=1)
    assert (points - scored["score"]).abs().max() < 0.6
    for key in FACTOR_KEYS:
        assert (scored[f"{key}_lost"].fillna(0) >= 0).all()


def test_as_of_a_past_day_leaves_out_younger_customers(analysis: Session) -> None:
    past = analysis.scores(as_of=dt.date.today() - dt.timedelta(days=40))
    now = analysis.scores()
    assert len(past) < len(now)
    assert dt.datetime.fromisoformat(past.attrs["as_of"]).date() == dt.date.today() - dt.timedelta(days=40)


def test_other_weights_move_customers_between_tiers(analysis: Session) -> None:
    """What-if: all the weight on invoices ranks the customers who pay late lowest."""
    invoices_only = {key: 0.01 for key in FACTOR_KEYS} | {"invoice_timeliness": 100.0}
    now = analysis.scores()
    what_if = analysis.scores(config={"weights": invoices_only})
    assert what_if.attrs["config"]["weights"]["invoice_timeliness"] == 100.0
    changed = now["tier"] != what_if["tier"]
    assert changed.any()
    late_payers = what_if["invoice_timeliness"] < 50
    assert late_payers.any()
    assert (what_if.loc[late_payers, "score"] < 50).all()
    assert analysis.scores(config=ScoringConfig(weights=dict(DEFAULT_WEIGHTS)))["score"].equals(now["score"])


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"weights": {"api_usage": -5}}, r"config: weight of api_usage must be a positive number"),
        ({"weights": {"churn": 5}}, r"config: unknown factor in weights: churn"),
        ({"healthy_min": 30}, r"config: tier thresholds"),
        ({"colour": "red"}, r"config: unknown scoring setting: colour"),
        ("heavy", r"config: expected a ScoringConfig or a mapping"),
    ],
)
def test_a_bad_config_is_a_value_error_naming_it(analysis: Session, config: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        analysis.scores(config=config)  # type: ignore[arg-type]


def test_a_bad_as_of_is_a_value_error_naming_it(analysis: Session) -> None:
    with pytest.raises(ValueError, match="as_of 'yesterday' is not an ISO date"):
        analysis.scores(as_of="yesterday")


def test_customer_breakdown_has_one_row_per_factor(analysis: Session) -> None:
    table = analysis.scores()
    customer_id = int(table["score"].idxmin())
    breakdown = analysis.customer_breakdown(customer_id)
    assert list(breakdown.index) == list(FACTOR_KEYS)
    assert {"as_of", "score", "weight", "points", "points_lost", "explanation"} <= set(breakdown.columns)
    assert breakdown.attrs["score"] == table.loc[customer_id, "score"]
    assert breakdown["points"].sum() == pytest.approx(table.loc[customer_id, "score"], abs=0.1)


def test_an_unknown_customer_is_a_value_error(analysis: Session) -> None:
    with pytest.raises(ValueError, match="customer_id: no customer with id 999999"):
        analysis.customer_breakdown(999999)
    with pytest.raises(ValueError, match=r"customer_id: expected one customer's id, got \[1, 2\]"):
        analysis.customer_breakdown([1, 2])  # type: ignore[arg-type]


def test_the_package_functions_reuse_one_session(sample_db_url: str) -> None:
    first = healthdash.scores(database_url=sample_db_url)
    again = healthdash.customer_breakdown(int(first.index[0]), database_url=sample_db_url)
    assert len(again) == len(FACTOR_KEYS)
    from healthdash import analysis

    assert analysis.session(sample_db_url) is analysis.session(sample_db_url)


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError):
        _ = healthdash.nothing_here  # type: ignore[attr-defined]
