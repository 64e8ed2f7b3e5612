"""history() and changes(): the score history the server wrote, and what moved scores, as typed DataFrames."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

import healthdash
from healthdash import analysis as analysis_module
from healthdash.analysis import Session
from healthdash.clock import resolve_as_of, utc_now
from healthdash.score_history.reports import HistoryReports
from healthdash.scoring import FACTOR_KEYS, ScoringConfig
from healthdash.service import HealthService
from tests.analysis.conftest import HISTORY_WRITTEN, query


def test_history_is_the_written_table_typed(history_session: Session, history_url: str) -> None:
    yesterday = utc_now().date() - dt.timedelta(days=1)
    frame = history_session.history([3, 12], start=yesterday - dt.timedelta(days=9), end=yesterday)
    stored = query(
        history_url,
        "SELECT customer_id, day, score, tier FROM score_history WHERE customer_id IN (3, 12) "
        "AND day BETWEEN :first AND :last ORDER BY customer_id, day",
        first=yesterday - dt.timedelta(days=9),
        last=yesterday,
    )
    assert len(frame) == len(stored) == 20
    assert [(int(c), d.date(), round(float(s), 4), t) for c, d, s, t in frame[["customer_id", "day", "score", "tier"]]
            .itertuples(index=False)] == [(c, d, round(s, 4), t) for c, d, s, t in stored]  # fmt: skip
    assert str(frame["day"].dt.tz) == "UTC" and (frame["day"].dt.hour == 0).all()
    assert isinstance(frame["tier"].dtype, pd.CategoricalDtype) and "insufficient_data" in frame["tier"].cat.categories
    for column in ("score", "coverage", *FACTOR_KEYS):
        assert str(frame[column].dtype) == "Float64", column
    assert str(frame["customer_id"].dtype) == "Int64" and frame["config_id"].notna().all()


def test_a_history_row_is_the_score_as_of_the_end_of_its_day(history_session: Session, history_url: str) -> None:
    day = utc_now().date() - dt.timedelta(days=20)
    frame = history_session.history(start=day, end=day).set_index("customer_id")
    truth = HealthService(create_engine(history_url, poolclass=NullPool), ScoringConfig()).score_frame(
        resolve_as_of(day)
    )
    assert len(frame) == len(truth) >= 60
    joined = frame.join(truth[["score", "tier"]].add_suffix("_truth"))
    assert (joined["score"].astype(float) - joined["score_truth"]).abs().max() < 1e-3
    assert (joined["tier"].astype(str) == joined["tier_truth"]).all()


def test_history_defaults_to_the_90_days_up_to_yesterday(history_session: Session) -> None:
    frame = history_session.history(7)
    days = frame["day"].dt.date
    assert days.max() == utc_now().date() - dt.timedelta(days=1)
    assert len(frame) == 90 and days.is_monotonic_increasing
    longer = history_session.history(7, start=utc_now().date() - dt.timedelta(days=400))
    assert len(longer) == HISTORY_WRITTEN, "only the written days are there, none invented"


def test_a_customer_with_a_rough_month_shows_it_in_its_history(history_session: Session) -> None:
    frame = history_session.history(12, start=utc_now().date() - dt.timedelta(days=89))
    assert frame["score"].max() - frame["score"].min() >= 15


def test_changes_explain_each_movement_and_add_up(history_session: Session) -> None:
    frame = history_session.changes([3, 12, 61])
    assert set(frame["customer_id"]) == {3, 12, 61}
    for customer_id, rows in frame.groupby("customer_id"):
        movement = rows["movement"].iloc[0]
        if pd.notna(movement):
            assert abs(rows["points"].sum() - movement) <= 0.1 + 1e-9, customer_id
            assert rows["points"].abs().is_monotonic_decreasing, "largest first"
    declining = frame[frame["customer_id"] == 3]
    assert declining["movement"].iloc[0] < 0
    assert declining["sentence"].str.contains("points").all()
    young = frame[frame["customer_id"] == 61]
    assert young["score_then"].isna().all(), "it did not exist 30 days ago"
    assert isinstance(frame["kind"].dtype, pd.CategoricalDtype) and str(frame["points"].dtype) == "Float64"
    assert frame.attrs["end"] == utc_now().date().isoformat()


def test_changes_say_what_the_api_says(history_session: Session, history_url: str) -> None:
    first, last = utc_now().date() - dt.timedelta(days=14), utc_now().date() - dt.timedelta(days=1)
    frame = history_session.changes(20, start=first, end=last)
    one = HistoryReports(create_engine(history_url, poolclass=NullPool), ScoringConfig()).changes(20, first, last)
    assert one is not None
    assert frame["sentence"].tolist() == [line["sentence"] for line in one["lines"]]
    assert frame["movement"].iloc[0] == pytest.approx(one["movement"])


def test_changes_of_every_customer(history_session: Session) -> None:
    frame = history_session.changes()
    assert frame["customer_id"].nunique() == 64


def test_bad_arguments_are_named(history_session: Session) -> None:
    with pytest.raises(ValueError, match=r"^start .* is after end"):
        history_session.history(start="2026-03-01", end="2026-02-01")
    with pytest.raises(ValueError, match=r"^start .* is after end"):
        history_session.changes(start="2026-03-01", end="2026-02-01")
    with pytest.raises(ValueError, match=r"^customer_ids: no customer with id 999999"):
        history_session.changes([1, 999999])
    with pytest.raises(ValueError, match=r"^end: "):
        history_session.history(end="yesterday")


def test_the_package_offers_them_by_name() -> None:
    assert healthdash.history is analysis_module.history
    assert healthdash.changes is analysis_module.changes
