"""A customer's score history and what changed: the days as the scores as of their end, the configuration changes,
and a movement explained factor by factor in lines that add up."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.score_history.keeper import closed_until
from healthdash.score_history.recorder import HistoryRecorder
from healthdash.scoring import ScoringConfig
from tests.api.client import all_customers, call, get, problem
from tests.conftest import TEST_TOKEN
from tests.servers import RunningServer, start_server

FACTORS = ("login_frequency", "feature_adoption", "ticket_volume", "invoice_timeliness", "api_usage")
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


RANK = {"healthy": 0, "at_risk": 1, "critical": 2}


def histories(server: RunningServer, days: int) -> dict[int, list[dict[str, Any]]]:
    """Every customer's history of the last `days` closed days."""
    first = (yesterday() - dt.timedelta(days=days - 1)).isoformat()
    rows = all_customers(server)
    return {row["id"]: get(server, f"/api/customers/{row['id']}/history", **{"from": first})["days"] for row in rows}


def test_the_dashboard_counts_tiers_per_day_as_the_scores_of_that_day(server: RunningServer) -> None:
    dashboard = get(server, "/api/dashboard")
    tier_history = dashboard["tier_history"]

    assert [d["day"] for d in tier_history] == [
        (yesterday() - dt.timedelta(days=n)).isoformat() for n in range(89, -1, -1)
    ]
    for entry in (tier_history[0], tier_history[45], tier_history[-1]):
        then = get(server, "/api/dashboard", as_of=entry["day"], status="all")  # those churned since were customers
        assert {tier: entry[tier] for tier in then["tiers"]} == then["tiers"]
        assert (then["movers"], then["tier_history"]) == (None, None)  # a past dashboard has no movers


def test_the_movers_are_the_largest_changes_since_7_and_30_days_ago(server: RunningServer) -> None:
    dashboard = get(server, "/api/dashboard")
    now = {row["id"]: row for row in all_customers(server)}
    for back in (7, 30):
        day = (closed_until() - dt.timedelta(days=back)).isoformat()
        then = {cid: get(server, f"/api/customers/{cid}/history", **{"from": day, "to": day})["days"] for cid in now}
        changes = {
            cid: round(now[cid]["score"] - rows[0]["score"], 1)
            for cid, rows in then.items()
            if rows and rows[0]["score"] is not None and now[cid]["tier"] != "insufficient_data"
        }
        movers = dashboard["movers"][str(back)]
        falls = sorted((c for c in changes.items() if c[1] < 0), key=lambda c: (c[1], c[0]))[:10]
        rises = sorted((c for c in changes.items() if c[1] > 0), key=lambda c: (-c[1], -c[0]))[:10]
        assert [(m["id"], m["change"]) for m in movers["falls"]] == falls
        assert [(m["id"], m["change"]) for m in movers["rises"]] == rises
        assert falls and all(m["factor"] in FACTORS for m in movers["falls"] + movers["rises"])
        assert all(m["factor_points"] < 0 for m in movers["falls"][:3])  # a large fall: the factor lost points


def test_the_list_sorts_by_the_7_day_change(server: RunningServer) -> None:
    day = (closed_until() - dt.timedelta(days=7)).isoformat()
    for order in ("asc", "desc"):
        rows = all_customers(server, sort="change_7", order=order)
        values = []
        for row in rows:
            then = get(server, f"/api/customers/{row['id']}/history", **{"from": day, "to": day})["days"]
            known = then and then[0]["score"] is not None and row["score"] is not None
            values.append(round(row["score"] - then[0]["score"], 1) if known else None)
        known = [v for v in values if v is not None]
        assert values[: len(known)] == known  # those without a change come last
        assert known == sorted(known, reverse=order == "desc") and len(known) >= 50


def test_the_list_filters_customers_whose_tier_fell(server: RunningServer) -> None:
    for within in (3, 30):
        fell = {row["id"] for row in all_customers(server, tier_fell_within=within)}
        expected = set()
        for cid, days in histories(server, within).items():
            ranks = [RANK[d["tier"]] for d in days if d["tier"] in RANK]
            current = get(server, f"/api/customers/{cid}/health")["tier"]
            if current in RANK and ranks and RANK[current] > min(ranks):
                expected.add(cid)
        assert fell == expected
    assert fell  # the sample's declining and sudden-drop customers fell within a month


def test_history_columns_are_for_the_current_scores_only(server: RunningServer) -> None:
    for params in ({"sort": "change_7"}, {"tier_fell_within": "7"}):
        document = problem(call(server, "GET", "/api/customers", params={**params, "as_of": "2026-11-01"}), 422)
        assert "leave out as_of" in document["detail"]
    problem(call(server, "GET", "/api/customers", params={"tier_fell_within": "91"}), 422)
