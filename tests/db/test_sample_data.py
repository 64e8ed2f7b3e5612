"""db/init.sql: loads with psql into an empty database, never goes stale, and tells believable stories."""

from __future__ import annotations

import datetime as dt
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from healthdash.clock import utc_now
from healthdash.db.database import create_database
from healthdash.db.embedded import EmbeddedPostgres
from healthdash.scoring import ScoringConfig
from healthdash.service import HealthService
from tests.conftest import drop_database, rollup_differences

INIT_SQL = Path(__file__).parents[2] / "db" / "init.sql"


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def service_for(url: str) -> HealthService:
    return HealthService(create_engine(url, poolclass=NullPool), ScoringConfig())


@pytest.fixture(scope="module")
def psql_loaded_url(admin_url: str) -> Iterator[str]:
    name = f"hd_psql_{uuid.uuid4().hex[:8]}"
    create_database(admin_url, name)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    result = subprocess.run(
        [
            str(EmbeddedPostgres(Path("/nonexistent")).bin_path("psql")),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            libpq_url(url),
            "-f",
            str(INIT_SQL),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    yield url
    drop_database(admin_url, name)


def test_loads_with_psql_on_error_stop_and_has_enough_history(psql_loaded_url: str) -> None:
    engine = create_engine(psql_loaded_url, poolclass=NullPool)
    with engine.connect() as conn:
        customers = conn.execute(text("SELECT count(*) FROM customers")).scalar_one()
        names = conn.execute(text("SELECT count(DISTINCT name) FROM customers")).scalar_one()
        events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        first, last = conn.execute(text("SELECT min(occurred_at), max(occurred_at) FROM events")).one()
        active_days = conn.execute(
            text("SELECT count(DISTINCT day) FROM customer_daily WHERE day > current_date - 30")
        ).scalar_one()
    engine.dispose()
    assert customers >= 60 and names == customers
    assert events >= 20_000
    assert last <= utc_now(), "no sample event lies in the future"
    assert (utc_now() - first).days >= 120
    assert active_days >= 29, "the current 30-day window is full of activity"


def test_two_loads_on_the_same_day_give_identical_scores(psql_loaded_url: str, sample_db_url: str) -> None:
    as_of = utc_now()
    first = service_for(psql_loaded_url).score_frame(as_of)
    second = service_for(sample_db_url).score_frame(as_of)
    pd.testing.assert_frame_equal(first, second)


def test_the_tier_mix_is_as_described(sample_db_url: str) -> None:
    table = service_for(sample_db_url).score_frame(utc_now())
    share = table["tier"].value_counts(normalize=True)
    assert 0.40 <= share.get("healthy", 0) <= 0.60, share
    assert 0.25 <= share.get("at_risk", 0) <= 0.42, share
    assert 0.05 <= share.get("critical", 0) <= 0.25, share
    assert 0 < share.get("insufficient_data", 0) <= 0.10, share


def test_stories_show_in_the_trend(sample_db_url: str) -> None:
    table = service_for(sample_db_url).score_frame(utc_now())
    assert (table["trend"] <= -15).sum() >= 5, "declining and sudden-drop customers lose points over 30 days"
    assert table["trend"].isna().sum() >= 1, "onboarding customers have no score 30 days ago"


def test_the_rollup_matches_the_raw_events(sample_db_url: str) -> None:
    engine = create_engine(sample_db_url, poolclass=NullPool)
    differences = rollup_differences(engine)
    engine.dispose()
    assert differences == 0


def test_single_customer_and_all_customers_computations_agree(sample_db_url: str) -> None:
    service = service_for(sample_db_url)
    as_of = utc_now()
    table = service.score_frame(as_of)
    for customer_id, row in table.iterrows():
        health = service.customer_health(int(customer_id), as_of)
        assert health is not None
        assert health["score"] == row["score"] and health["tier"] == row["tier"], customer_id
        assert health["coverage"] == pytest.approx(row["coverage"], abs=1e-4)
        for factor in health["factors"]:
            expected = None if pd.isna(row[factor["key"]]) else round(float(row[factor["key"]]), 1)
            assert factor["score"] == expected, (customer_id, factor["key"])
        previous = None if pd.isna(row["previous_score"]) else float(row["previous_score"])
        assert health["trend"]["previous_score"] == previous


def test_a_past_as_of_is_reproducible_and_differs(sample_db_url: str) -> None:
    service = service_for(sample_db_url)
    past = utc_now() - dt.timedelta(days=20)
    first, second = service.score_frame(past), service.score_frame(past)
    pd.testing.assert_frame_equal(first, second)
    assert not first["score"].equals(service.score_frame(utc_now())["score"])


def scores_over(url: str, customer_ids: list[int], days_ago: range) -> pd.DataFrame:
    """Each customer's score (rows) on each of the days (columns, in days before today)."""
    service = service_for(url)
    now = utc_now()
    frames = {k: service.score_frame(now - dt.timedelta(days=k), customer_ids) for k in days_ago}
    return pd.DataFrame({k: frame["score"] for k, frame in frames.items()})


def test_recovering_customers_dip_and_come_back(sample_db_url: str) -> None:
    recovering = [12, 30, 46]
    history = scores_over(sample_db_url, recovering, range(0, 100, 3))
    for customer_id, row in history.iterrows():
        low, now = row.min(), row[0]
        assert now - low >= 15, f"customer {customer_id} had a rough month and recovered: {row.tolist()}"
        assert row.idxmin() >= 35, f"customer {customer_id}'s low lies months back, not now: {row.tolist()}"
        assert now >= 70, f"customer {customer_id} is healthy again: {row.tolist()}"


def test_seasonal_customers_api_factor_ebbs_and_flows(sample_db_url: str) -> None:
    service = service_for(sample_db_url)
    seasonal = [21, 34, 41]
    now = utc_now()
    api = pd.DataFrame(
        {k: service.score_frame(now - dt.timedelta(days=k), seasonal)["api_usage"] for k in range(0, 91, 5)}
    )
    for customer_id, row in api.iterrows():
        assert row.max() == 100 and row.min() <= 40, f"customer {customer_id}'s API traffic cycles: {row.tolist()}"
