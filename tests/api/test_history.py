"""A customer's score history and what changed: the days as the scores as of their end, the configuration changes,
and a movement explained factor by factor in lines that add up."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.history.keeper import closed_until
from healthdash.history.recorder import HistoryRecorder
from healthdash.scoring import ScoringConfig
from tests.api.client import call, get, problem
from tests.conftest import TEST_TOKEN
from tests.servers import RunningServer, start_server

KEPT = 100  # days of history the module's server keeps: more than the default range of 90


def wait_for_days(db: Engine, days: int, server: RunningServer) -> None:
    deadline = time.monotonic() + 120
    while True:
        with db.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM score_history_days")).scalar_one() >= days:
                return
        assert time.monotonic() < deadline, server.log.read_text()[-2000:]
        time.sleep(0.2)


@pytest.fixture(scope="module")
def server(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server keeping KEPT days of history over the sample data, once they are written."""
    env = {"HEALTHDASH_HISTORY_DAYS": str(KEPT)}
    with start_server(module_db_url, tmp_path_factory.mktemp("history"), TEST_TOKEN, env) as running:
        db = create_engine(module_db_url, poolclass=NullPool)
        wait_for_days(db, KEPT, running)
        db.dispose()
        yield running


def yesterday() -> dt.date:
    return closed_until() - dt.timedelta(days=1)


def test_the_history_is_the_last_90_closed_days_as_the_scores_as_of_their_end(server: RunningServer) -> None:
    history = get(server, "/api/customers/3/history")
    days = [dt.date.fromisoformat(d["day"]) for d in history["days"]]

    assert (history["customer_id"], history["to"]) == (3, yesterday().isoformat())
    assert days == [yesterday() - dt.timedelta(days=n) for n in range(89, -1, -1)]
    assert history["configuration_changes"] == []
    for entry in history["days"][::15]:
        health = get(server, "/api/customers/3/health", as_of=entry["day"])
        assert (entry["score"], entry["tier"], entry["coverage"]) == (
            health["score"],
            health["tier"],
            health["coverage"],
        )
        assert entry["factors"] == {f["key"]: f["score"] for f in health["factors"]}


def test_a_declining_customer_s_history_goes_down(server: RunningServer) -> None:
    days = get(server, "/api/customers/3/history")["days"]  # a "declining" story of the sample data
    assert days[0]["score"] - days[-1]["score"] > 15
    assert days[0]["factors"]["login_frequency"] > days[-1]["factors"]["login_frequency"]


def test_a_customer_appears_from_the_day_it_existed(server: RunningServer) -> None:
    history = get(server, "/api/customers/61/history")  # signed up 12 days ago
    first = dt.date.fromisoformat(history["days"][0]["day"])
    assert 10 <= (closed_until() - first).days <= 13
    assert history["days"][0]["tier"] == "insufficient_data"
    span = get(server, "/api/customers/61/history", **{"from": "2026-01-01", "to": "2026-01-31"})
    assert (span["from"], span["to"], span["days"]) == ("2026-01-01", "2026-01-31", [])


def test_the_changes_add_up_to_the_movement(server: RunningServer) -> None:
    for customer in (3, 7, 9, 1):  # declining, sudden drop, silent, thriving
        changes = get(server, f"/api/customers/{customer}/changes")
        then = get(server, f"/api/customers/{customer}/health", as_of=changes["from"])
        now = get(server, f"/api/customers/{customer}/health", as_of=changes["to"])

        assert (changes["score_then"], changes["tier_then"]) == (then["score"], then["tier"])
        assert (changes["score_now"], changes["tier_now"]) == (now["score"], now["tier"])
        assert changes["movement"] == round(now["score"] - then["score"], 1)
        assert round(sum(line["points"] for line in changes["lines"]), 1) == changes["movement"]
        impacts = [abs(line["points"]) for line in changes["lines"]]
        assert impacts == sorted(impacts, reverse=True)
        for line in changes["lines"]:
            assert line["sentence"].endswith(f": {line['points']:+.1f} points")
            if line["kind"] == "factor":
                assert line["raw_then"] == next(f["raw"] for f in then["factors"] if f["key"] == line["key"])
                assert line["raw_now"] == next(f["raw"] for f in now["factors"] if f["key"] == line["key"])


def test_a_sudden_drop_names_the_logins(server: RunningServer) -> None:
    changes = get(server, "/api/customers/7/changes")  # healthy until 8-15 days ago, almost nothing since
    top = changes["lines"][0]
    assert changes["movement"] < -10 and changes["tier_then"] == "healthy"
    assert top["kind"] == "factor" and top["points"] < 0
    logins = next(line for line in changes["lines"] if line["key"] == "login_frequency")
    assert logins["sentence"].startswith(
        f"Active login days fell from {logins['raw_then']['active_days']} to {logins['raw_now']['active_days']}: -"
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-05", "to": "2026-11-01"}, "query"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "query"),
        ({"from": "2010-01-01"}, "query"),
        ({"from": "1999-12-31"}, "from"),
        ({"to": "2200-01-01"}, "to"),
        ({"to": "2026-02-30"}, "to"),
        ({"to": "yesterday"}, "to"),
        ({"as_of": "2026-01-01"}, "as_of"),
    ],
)
@pytest.mark.parametrize("endpoint", ["history", "changes"])
def test_a_bad_range_is_422(server: RunningServer, endpoint: str, params: dict[str, str], field: str) -> None:
    document = problem(call(server, "GET", f"/api/customers/1/{endpoint}", params=params), 422)
    assert field in {e["field"] for e in document["errors"]}


@pytest.mark.parametrize("endpoint", ["history", "changes"])
def test_an_unknown_customer_is_404(server: RunningServer, endpoint: str) -> None:
    assert "9999" in problem(call(server, "GET", f"/api/customers/9999/{endpoint}"), 404)["detail"]
    problem(call(server, "GET", f"/api/customers/x1/{endpoint}"), 404)


def test_a_configuration_change_is_marked_and_explained(fresh_db_url: str, tmp_path: Path) -> None:
    db = create_engine(fresh_db_url, poolclass=NullPool)
    old = HistoryRecorder(db, ScoringConfig(), 20)
    old.write_missing(closed_until() - dt.timedelta(days=5))  # the days until 6 days ago, under the defaults
    env = {"HEALTHDASH_HISTORY_DAYS": "20", "HEALTHDASH_HEALTHY_MIN": "80", "HEALTHDASH_WEIGHT_API_USAGE": "30"}
    with start_server(fresh_db_url, tmp_path, TEST_TOKEN, env) as stricter:
        wait_for_days(db, 25, stricter)  # the 5 latest days, by the server under its configuration
        history = get(stricter, "/api/customers/1/history")
        changes = get(stricter, "/api/customers/1/changes", **{"from": (closed_until() - dt.timedelta(days=10))})
    db.dispose()

    changed_on = (closed_until() - dt.timedelta(days=5)).isoformat()
    assert history["configuration_changes"] == [
        {
            "day": changed_on,
            "changes": [
                {"setting": "healthy_min", "from": 70.0, "to": 80.0},
                {"setting": "weights.api_usage", "from": 15.0, "to": 30.0},
            ],
        }
    ]
    (line,) = [line for line in changes["lines"] if line["kind"] == "configuration"]
    assert line["sentence"].startswith("The scoring configuration changed (healthy_min 70 to 80, weights.api_usage")
    assert round(sum(line["points"] for line in changes["lines"]), 1) == changes["movement"]
