"""customers() with the outcome columns, and backtest(): how well the history foretold churn, as a DataFrame."""

from __future__ import annotations

import pandas as pd
import pytest

import healthdash
from healthdash import analysis as analysis_module
from healthdash.analysis import Session
from healthdash.scoring import ScoringConfig
from tests.analysis.conftest import query


def test_customers_carry_the_outcome_columns(history_session: Session, history_url: str) -> None:
    frame = history_session.customers()
    stored = dict(query(history_url, "SELECT status, count(*) FROM customers GROUP BY status"))
    assert frame["status"].value_counts().to_dict() == {"active": stored["active"], "churned": stored["churned"]}
    assert isinstance(frame["status"].dtype, pd.CategoricalDtype)
    assert str(frame["arr"].dtype) == "Float64" and (frame["arr"].dropna() >= 0).all()
    ((arr,),) = query(history_url, "SELECT arr FROM customers WHERE id = 5")
    assert frame.loc[5, "arr"] == pytest.approx(float(arr))  # type: ignore[arg-type]
    assert str(frame["renewal_date"].dt.tz) == "UTC" and str(frame["external_id"].dtype) == "string"


def test_the_backtest_by_band_adds_up_to_its_figures(history_session: Session) -> None:
    frame = history_session.backtest(horizon=30, lead=7)
    figures = frame.attrs["figures"]
    confusion = figures["confusion"]
    assert int(frame["customers_days"].sum()) == figures["observations"] > 0
    assert int(frame["churned"].sum()) == confusion["true_positives"] + confusion["false_negatives"] > 0
    rated = frame.dropna(subset=["churn_rate"])
    assert ((rated["churn_rate"] - rated["churned"] / rated["customers_days"]).abs() < 1e-9).all()
    assert 0.5 < figures["auc"] <= 1, "informative: lower scores churn more"
    assert set(figures["factor_auc"]) == set(ScoringConfig().weights)
    assert frame.attrs["horizon"] == 30 and frame.attrs["start"] <= frame.attrs["end"]


def test_backtest_arguments_are_checked(history_session: Session) -> None:
    with pytest.raises(ValueError, match=r"^lead: "):
        history_session.backtest(horizon=30, lead=31)
    with pytest.raises(ValueError, match=r"^horizon: "):
        history_session.backtest(horizon=0)
    with pytest.raises(ValueError, match=r"^start .* is after end"):
        history_session.backtest(start="2026-03-01", end="2026-02-01")


def test_the_package_offers_backtest_by_name() -> None:
    assert healthdash.backtest is analysis_module.backtest
