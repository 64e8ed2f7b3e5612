"""db/init.sql: loads with psql into an empty database, never goes stale, and tells believable stories."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
from tests.databases import sample_data_copy
from tests.test_cli import run_cli

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


def test_churns_are_spread_over_the_history_and_end_their_customer_s_activity(sample_db_url: str) -> None:
    engine = create_engine(sample_db_url, poolclass=NullPool)
    with engine.connect() as conn:
        customers = conn.execute(text("SELECT count(*) FROM customers")).scalar_one()
        churns = conn.execute(
            text(
                "SELECT c.customer_id, current_date - (c.occurred_at AT TIME ZONE 'UTC')::date AS days_ago, "
                "       (SELECT count(*) FROM events e WHERE e.customer_id = c.customer_id "
                "           AND e.type IN ('login', 'feature_use', 'api_call', 'ticket_opened', 'invoice_issued') "
                "           AND (e.occurred_at AT TIME ZONE 'UTC')::date > (c.occurred_at AT TIME ZONE 'UTC')::date) "
                "  FROM events c WHERE c.type = 'churned'"
            )
        ).all()
        churned = conn.execute(text("SELECT count(*) FROM customers WHERE status = 'churned'")).scalar_one()
    engine.dispose()
    assert churned == len(churns) and 0.10 <= churned / customers <= 0.20, (churned, customers)
    days_ago = sorted(days for _, days, _ in churns)
    for first, last in ((1, 60), (61, 120), (121, 180)):
        assert any(first <= days <= last for days in days_ago), f"a churn {first} to {last} days ago: {days_ago}"
    assert all(after == 0 for _, _, after in churns), "no activity, ticket or invoice after a churn (a last bill paid)"


@pytest.fixture(scope="module")
def backfilled_url(admin_url: str, template_db: str) -> Iterator[str]:
    """A copy of the sample data with the 180 days of score history a server writes on its first start."""
    with sample_data_copy(admin_url, template_db, "hd_backfilled") as url:
        result = run_cli("history", "backfill", "--days", "180", database_url=url)
        assert result.returncode == 0, result.stderr
        yield url


def backtest(url: str, *args: str) -> dict[str, Any]:
    result = run_cli("backtest", "--format", "json", *args, database_url=url)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_the_backtest_at_its_defaults_shows_the_score_warned_before_churns(backfilled_url: str) -> None:
    report = backtest(backfilled_url)
    figures = report["figures"]
    assert (report["horizon"], report["lead"]) == (90, 30)
    assert figures["auc"] >= 0.7 and figures["lift"] >= 1.5, figures
    assert figures["precision"] >= 2 * figures["base_rate"], "flagged customers churned far more often than others"
    assert figures["churners_flagged_ahead"] >= 3, "churners were flagged 30 days or more before they left"
    assert figures["median_lead_days"] >= 14, "weeks of warning"
    assert report["suggested"] is not None, "churns enough on both sides of the held-out split to fit weights on"
    # informative, not perfect: some churners were never flagged (healthy ones left without warning), and some
    # flagged customers stayed
    assert figures["recall"] < 1 and figures["precision"] < 1


def test_the_backtest_over_a_short_horizon_is_informative_too(backfilled_url: str) -> None:
    figures = backtest(backfilled_url, "--horizon", "30", "--lead", "7")["figures"]
    assert figures["auc"] >= 0.7 and figures["lift"] >= 1.5, figures
    assert figures["churners_flagged_ahead"] >= 3
