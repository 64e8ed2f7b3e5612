"""GET /api/backtest: the score history judged against the churns recorded, over a range of days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.score_history.keeper import closed_until
from tests.api.client import call, error_fields, get, problem, recorded
from tests.api.test_history import wait_for_days
from tests.conftest import TEST_TOKEN
from tests.servers import RunningServer, start_server

KEPT = 20  # days of history the module's server keeps


@pytest.fixture(scope="module")
def server(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server keeping KEPT days of history over the sample data, once they are written."""
    env = {"HEALTHDASH_HISTORY_DAYS": str(KEPT)}
    with start_server(module_db_url, tmp_path_factory.mktemp("backtest"), TEST_TOKEN, env) as running:
        db = create_engine(module_db_url, poolclass=NullPool)
        wait_for_days(db, KEPT, running)
        db.dispose()
        yield running


def judged_rows(url: str, first: dt.date, last: dt.date) -> int:
    """Count the customer-days of the history scored while the customer had not churned yet."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            statement = (
                "SELECT count(*) FROM score_history h WHERE h.day BETWEEN :f AND :l AND h.score IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.customer_id = h.customer_id AND e.type = 'churned' "
                "AND (e.occurred_at AT TIME ZONE 'UTC')::date <= h.day)"
            )
            return int(conn.execute(text(statement), {"f": first, "l": last}).scalar_one())
    finally:
        engine.dispose()


def test_a_churn_recorded_counts_against_the_days_before_it(server: RunningServer, module_db_url: str) -> None:
    last = closed_until() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=9)
    params = {"from": first.isoformat(), "to": last.isoformat(), "horizon": 30, "lead": 5}
    before = get(server, "/api/backtest", **params)
    assert (before["from"], before["to"], before["horizon"], before["lead"]) == (
        first.isoformat(), last.isoformat(), 30, 5
    )  # fmt: skip
    figures = before["figures"]
    assert figures["observations"] == judged_rows(module_db_url, first, last) > 0
    assert before["current_weights"] == get(server, "/api/scoring")["weights"]

    recorded(server, 1, {"type": "churned", "data": {"reason": "competitor"}})  # a thriving customer churns today
    after = get(server, "/api/backtest", **params)["figures"]
    assert after["churners"] == figures["churners"] + 1
    churned_days = after["confusion"]["true_positives"] + after["confusion"]["false_negatives"]
    assert churned_days == figures["confusion"]["true_positives"] + figures["confusion"]["false_negatives"] + 10
    assert after["confusion"]["true_negatives"] < figures["confusion"]["true_negatives"]  # it was healthy
    assert after["observations"] == figures["observations"]  # it was active on each of those days
    assert len(after["calibration"]) == 10 and after["roc"][-1]["true_positive_rate"] == 1.0
    assert set(after["factor_auc"]) == {
        "login_frequency", "feature_adoption", "ticket_volume", "invoice_timeliness", "api_usage"
    }  # fmt: skip


def test_the_default_range_ends_a_horizon_before_the_last_day_of_history(server: RunningServer) -> None:
    answer = get(server, "/api/backtest", horizon=5, lead=2)
    last = closed_until() - dt.timedelta(days=1)
    assert answer["to"] == (last - dt.timedelta(days=5)).isoformat()
    assert answer["from"] == (last - dt.timedelta(days=KEPT - 1)).isoformat()  # the first day of history
    assert (answer["horizon"], answer["lead"]) == (5, 2)
    assert get(server, "/api/backtest")["horizon"] == 90  # and a lead of 30 days


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"horizon": "0"}, "horizon"),
        ({"lead": "-1"}, "lead"),
        ({"horizon": "10", "lead": "20"}, "query"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "query"),
        ({"to": "yesterday"}, "to"),
    ],
)
def test_bad_parameters_are_refused(server: RunningServer, params: dict[str, str], field: str) -> None:
    assert field in error_fields(problem(call(server, "GET", "/api/backtest", params=params), 422))
