"""The analyst functions return DataFrames given only a database URL."""

from __future__ import annotations

import datetime as dt

import pytest

import healthdash
from healthdash.scoring import FACTOR_KEYS


def test_scores_returns_every_customer_with_factors_and_trend(sample_db_url: str) -> None:
    table = healthdash.scores(database_url=sample_db_url)
    assert len(table) >= 60
    for column in ("name", "segment", "plan", "score", "tier", "coverage", "trend", "previous_score", *FACTOR_KEYS):
        assert column in table.columns
    assert table.index.name == "id"
    assert table.attrs["as_of"].tzinfo is not None


def test_scores_as_of_a_date(sample_db_url: str) -> None:
    past = healthdash.scores(as_of=dt.date.today() - dt.timedelta(days=40), database_url=sample_db_url)
    now = healthdash.scores(database_url=sample_db_url)
    assert len(past) < len(now), "customers created in the last 40 days did not exist then"


def test_customer_breakdown_has_one_row_per_factor(sample_db_url: str) -> None:
    table = healthdash.scores(database_url=sample_db_url)
    customer_id = int(table.index[0])
    breakdown = healthdash.customer_breakdown(customer_id, database_url=sample_db_url)
    assert list(breakdown.index) == list(FACTOR_KEYS)
    assert {"as_of", "score", "weight", "points", "points_lost", "explanation"} <= set(breakdown.columns)
    assert breakdown.attrs["score"] == table.loc[customer_id, "score"]
    assert breakdown["points"].sum() == pytest.approx(table.loc[customer_id, "score"], abs=0.1)


def test_unknown_customer_is_a_key_error(sample_db_url: str) -> None:
    with pytest.raises(KeyError, match="no customer with id 999999"):
        healthdash.customer_breakdown(999999, database_url=sample_db_url)


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError):
        _ = healthdash.nothing_here  # type: ignore[attr-defined]
