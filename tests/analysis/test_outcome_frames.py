"""customers() with the outcome columns, and backtest(): how well the history foretold churn, as a DataFrame."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pandas as pd
import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

import healthdash
from healthdash import analysis as analysis_module
from healthdash.analysis import Session, connect
from healthdash.clock import utc_now
from healthdash.db.database import create_database
from healthdash.score_history import HistoryRecorder
from healthdash.scoring import ScoringConfig
from tests.analysis.conftest import query
from tests.conftest import _url_for, drop_database

WRITTEN = 140  # closed days of history: enough for a 30-day horizon over months of churns


@pytest.fixture(scope="module")
def written_url(admin_url: str, template_db: str) -> Iterator[str]:
    name = f"hd_bt_{uuid.uuid4().hex[:8]}"
    create_database(admin_url, name, template=template_db)
    url = _url_for(admin_url, name)
    engine = create_engine(url, poolclass=NullPool)
    HistoryRecorder(engine, ScoringConfig(), WRITTEN).write_missing(utc_now().date(), wait=True)
    engine.dispose()
    yield url
    drop_database(admin_url, name)


@pytest.fixture(scope="module")
def session(written_url: str) -> Iterator[Session]:
    opened = connect(written_url)
    yield opened
    opened.close()


def test_customers_carry_the_outcome_columns(session: Session, written_url: str) -> None:
    frame = session.customers()
    stored = dict(query(written_url, "SELECT status, count(*) FROM customers GROUP BY status"))
    assert frame["status"].value_counts().to_dict() == {"active": stored["active"], "churned": stored["churned"]}
    assert isinstance(frame["status"].dtype, pd.CategoricalDtype)
    assert str(frame["arr"].dtype) == "Float64" and (frame["arr"].dropna() >= 0).all()
    ((arr,),) = query(written_url, "SELECT arr FROM customers WHERE id = 5")
    assert frame.loc[5, "arr"] == pytest.approx(float(arr))  # type: ignore[arg-type]
    assert str(frame["renewal_date"].dt.tz) == "UTC" and str(frame["external_id"].dtype) == "string"


def test_the_backtest_by_band_adds_up_to_its_figures(session: Session) -> None:
    frame = session.backtest(horizon=30, lead=7)
    figures = frame.attrs["figures"]
    confusion = figures["confusion"]
    assert int(frame["customers_days"].sum()) == figures["observations"] > 0
    assert int(frame["churned"].sum()) == confusion["true_positives"] + confusion["false_negatives"] > 0
    rated = frame.dropna(subset=["churn_rate"])
    assert ((rated["churn_rate"] - rated["churned"] / rated["customers_days"]).abs() < 1e-9).all()
    assert 0.5 < figures["auc"] <= 1, "informative: lower scores churn more"
    assert set(figures["factor_auc"]) == set(ScoringConfig().weights)
    assert frame.attrs["horizon"] == 30 and frame.attrs["start"] <= frame.attrs["end"]


def test_backtest_arguments_are_checked(session: Session) -> None:
    with pytest.raises(ValueError, match=r"^lead: "):
        session.backtest(horizon=30, lead=31)
    with pytest.raises(ValueError, match=r"^horizon: "):
        session.backtest(horizon=0)
    with pytest.raises(ValueError, match=r"^start .* is after end"):
        session.backtest(start="2026-03-01", end="2026-02-01")


def test_the_package_offers_backtest_by_name() -> None:
    assert healthdash.backtest is analysis_module.backtest
