"""customers(), events(), activity(), tickets() and invoices(): whole tables as typed frames, read set-based."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.analysis import Session, connect
from healthdash.vocabulary import EVENT_TYPES, INVOICE_STATUSES
from tests.analysis.conftest import query

TODAY = dt.datetime.now(dt.UTC).date()


def utc(column: pd.Series) -> bool:
    """Tell whether a column holds timezone-aware timestamps in UTC."""
    return isinstance(column.dtype, pd.DatetimeTZDtype) and str(column.dtype.tz) == "UTC"


def test_customers_have_every_profile_column_typed(analysis: Session, sample_db_url: str) -> None:
    table = analysis.customers()
    assert list(table.columns) == [
        "name", "segment", "plan", "seats", "industry", "region", "owner", "created_at", "external_id", "arr",
        "renewal_date", "status",
    ]  # fmt: skip
    assert len(table) == query(sample_db_url, "SELECT count(*) FROM customers")[0][0]
    assert str(table.index.dtype) == "int64" and table.index.name == "id"
    assert str(table["seats"].dtype) == "Int64" and str(table["name"].dtype) == "string"
    assert {str(table[c].dtype) for c in ("segment", "plan", "region", "industry")} == {"category"}
    assert utc(table["created_at"])
    assert table["owner"].notna().all()


def test_customers_of_given_ids(analysis: Session) -> None:
    table = analysis.customers([3, 1])
    assert list(table.index) == [1, 3]


def test_events_of_one_customer_in_a_range(analysis: Session, sample_db_url: str) -> None:
    start, end = TODAY - dt.timedelta(days=30), TODAY - dt.timedelta(days=1)
    table = analysis.events(1, start=start, end=end)
    expected = query(
        sample_db_url,
        "SELECT count(*) FROM events WHERE customer_id = 1"
        " AND (occurred_at AT TIME ZONE 'UTC')::date BETWEEN :s AND :e",
        s=start,
        e=end,
    )[0][0]
    assert len(table) == expected > 0
    assert set(table["customer_id"]) == {1}
    assert table["occurred_at"].min().date() >= start and table["occurred_at"].max().date() <= end
    assert table["occurred_at"].is_monotonic_increasing
    assert utc(table["occurred_at"])
    assert list(table["type"].cat.categories) == list(EVENT_TYPES)
    assert table.index.name == "id"
    api_calls = table[table["type"] == "api_call"]
    assert all(isinstance(data["count"], int) for data in api_calls["data"])


def test_events_default_to_the_last_90_days_and_filter_types(analysis: Session) -> None:
    table = analysis.events([1, 2], types=["login", "feature_use"])
    assert set(table["type"].astype(str)) == {"login", "feature_use"}
    assert set(table["customer_id"]) == {1, 2}
    assert table["occurred_at"].min().date() >= TODAY - dt.timedelta(days=89)
    every = analysis.events([1, 2])
    assert len(every) > len(table)


def test_activity_is_the_daily_rollup_of_the_events(analysis: Session) -> None:
    days = analysis.activity(5, start=TODAY - dt.timedelta(days=20), end=TODAY - dt.timedelta(days=1))
    events = analysis.events(5, start=TODAY - dt.timedelta(days=20), end=TODAY - dt.timedelta(days=1))
    assert utc(days["day"])
    assert str(days["logins"].dtype) == "Int64"
    logins = events[events["type"] == "login"].groupby(events["occurred_at"].dt.floor("D")).size()
    per_day = days.set_index("day")["logins"]
    pd.testing.assert_series_equal(
        per_day[per_day > 0].astype("int64"), logins.astype("int64"), check_names=False, check_index_type=False
    )
    uses = events[events["type"] == "feature_use"]
    distinct = uses.groupby(uses["occurred_at"].dt.floor("D"))["data"].agg(lambda d: len({x["feature"] for x in d}))
    assert (days.set_index("day")["features_used"][distinct.index] == distinct).all()


def test_tickets_with_priority_and_status(analysis: Session, sample_db_url: str) -> None:
    table = analysis.tickets()
    assert len(table) == query(sample_db_url, "SELECT count(*) FROM tickets")[0][0] > 0
    assert table["priority"].cat.ordered and list(table["priority"].cat.categories) == [
        "low",
        "medium",
        "high",
        "urgent",
    ]
    assert ((table["status"] == "closed") == table["closed_at"].notna()).all()
    assert utc(table["opened_at"])
    recent = analysis.tickets(start=TODAY - dt.timedelta(days=30))
    assert 0 < len(recent) < len(table)


def test_invoices_with_their_status_as_of_the_end(analysis: Session) -> None:
    table = analysis.invoices()
    assert list(table["status"].cat.categories) == list(INVOICE_STATUSES)
    assert str(table["amount"].dtype) == "Float64"
    paid = table["paid_at"].notna()
    on_time = table["status"] == "on_time"
    assert (table.loc[on_time, "paid_at"] <= table.loc[on_time, "due_at"]).all()
    assert (table.loc[~paid, "status"].isin(["overdue", "open"])).all()
    a_year_ago = analysis.invoices(end=TODAY - dt.timedelta(days=60))
    assert a_year_ago["issued_at"].max().date() <= TODAY - dt.timedelta(days=60)
    assert (a_year_ago["status"] == "open").sum() >= 0 and len(a_year_ago) < len(table)


def test_empty_answers_keep_their_columns_and_dtypes(analysis: Session) -> None:
    table = analysis.events(64, start=TODAY - dt.timedelta(days=400), end=TODAY - dt.timedelta(days=300))
    assert table.empty
    assert utc(table["occurred_at"])
    assert isinstance(table["type"].dtype, pd.CategoricalDtype)
    tickets = analysis.tickets(64, end=TODAY - dt.timedelta(days=300))
    assert tickets.empty and utc(tickets["closed_at"]) and tickets["priority"].cat.ordered


def test_frames_survive_a_parquet_round_trip(analysis: Session, tmp_path: Path) -> None:
    """Export keeps the dtypes: categories, nullable numbers with their gaps, UTC timestamps."""
    events = analysis.events([1]).drop(columns="data")  # dicts of any keys become a struct: docs/analysts.md
    for table in (analysis.scores(), events, analysis.activity(), analysis.tickets(), analysis.invoices()):
        table.to_parquet(tmp_path / "table.parquet")
        back = pd.read_parquet(tmp_path / "table.parquet")
        pd.testing.assert_frame_equal(back, table)
        assert back.attrs == table.attrs


def test_frames_export_to_csv(analysis: Session, tmp_path: Path) -> None:
    table = analysis.scores()
    table.to_csv(tmp_path / "scores.csv")
    back = pd.read_csv(tmp_path / "scores.csv", index_col="id")
    assert list(back.index) == list(table.index)
    assert back["tier"].tolist() == table["tier"].astype(str).tolist()


def test_text_reads_as_written_and_null_stays_missing(fresh_db_url: str) -> None:
    """A name or owner that reads like COPY's NULL marker, or is empty of meaning, comes back as written; a customer
    without an owner or CRM id has them missing."""
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("UPDATE customers SET name = :v, owner = :v, external_id = :v WHERE id = 1"), {"v": "\\N"})
        conn.execute(text("UPDATE customers SET owner = NULL, external_id = NULL WHERE id = 2"))
    engine.dispose()
    session = connect(fresh_db_url)
    try:
        table = session.customers([1, 2])
        events = session.events(1, types=["api_call"])
    finally:
        session.close()
    assert table.loc[1, "name"] == "\\N" and table.loc[1, "owner"] == "\\N" and table.loc[1, "external_id"] == "\\N"
    assert pd.isna(table.loc[2, "owner"]) and pd.isna(table.loc[2, "external_id"])
    assert str(table["owner"].dtype) == "string" and str(table["external_id"].dtype) == "string"
    assert len(events) > 0 and all(isinstance(data["count"], int) for data in events["data"])
