"""A customer's health: the score explained factor by factor, its trend, and the evidence behind it."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.client import HEALTH_FIELDS, call, factor, get, problem
from tests.api.roster import Roster, at_noon
from tests.servers import RunningServer

FACTORS = ["login_frequency", "feature_adoption", "ticket_volume", "invoice_timeliness", "api_usage"]


def test_the_health_has_the_contract_fields(server: RunningServer, roster: Roster) -> None:
    health = get(server, f"/api/customers/{roster['beacon']}/health")
    assert set(health) >= HEALTH_FIELDS
    assert health["customer"]["id"] == roster["beacon"]
    assert health["customer"]["name"] == roster.names["beacon"]
    assert (health["customer"]["segment"], health["customer"]["plan"]) == ("mid_market", "business")
    assert set(health["trend"]) == {"previous_score", "delta"}
    assert [f["key"] for f in health["factors"]] == FACTORS
    for f in health["factors"]:
        assert set(f) == {"key", "label", "weight", "score", "points", "points_lost", "raw", "explanation"}
        assert f["label"] and f["explanation"].endswith(".")
    assert set(health["events"]) == {"items", "total", "limit", "offset"}


def test_the_factors_add_up_to_the_score(server: RunningServer, roster: Roster) -> None:
    for key in ("alpine", "beacon", "cobalt", "ember"):
        health = get(server, f"/api/customers/{roster[key]}/health")
        assert health["coverage"] == 1.0
        assert sum(f["points"] for f in health["factors"]) == pytest.approx(health["score"], abs=0.06)
        for f in health["factors"]:
            assert f["points"] + f["points_lost"] == pytest.approx(f["weight"], abs=0.02)


def test_the_breakdown_shows_the_raw_signals(server: RunningServer, roster: Roster) -> None:
    beacon = get(server, f"/api/customers/{roster['beacon']}/health")
    assert factor(beacon, "login_frequency") == {
        **factor(beacon, "login_frequency"),
        "score": 37.5,
        "raw": {"active_days": 6, "target_days": 16.0},
        "explanation": "6 active days in the last 30 (target 16).",
    }
    assert factor(beacon, "api_usage")["raw"] == {"calls": 1000, "calls_previous": 1500, "change": -0.3333}
    assert factor(beacon, "ticket_volume")["score"] == 80.0
    assert factor(beacon, "invoice_timeliness")["score"] == 50.0  # paid within the grace days
    assert beacon["tier"] == "at_risk"


def test_a_young_customer_has_factors_that_do_not_apply(server: RunningServer, roster: Roster) -> None:
    health = get(server, f"/api/customers/{roster['delta']}/health")
    assert health["tier"] == "insufficient_data"
    assert health["coverage"] < 0.6
    assert health["trend"] == {"previous_score": None, "delta": None}
    for key in ("login_frequency", "feature_adoption"):
        assert factor(health, key)["score"] is None
        assert factor(health, key)["points"] == 0.0
        assert "needs 14 days of history" in factor(health, key)["explanation"]


def test_the_trend_compares_with_30_days_earlier(server: RunningServer, roster: Roster) -> None:
    health = get(server, f"/api/customers/{roster['alpine']}/health")
    earlier = get(server, f"/api/customers/{roster['alpine']}/health", as_of=at_noon(30).date().isoformat())
    assert health["trend"]["previous_score"] == earlier["score"]
    assert health["trend"]["delta"] == round(health["score"] - earlier["score"], 1)
    assert health["trend"]["delta"] > 0  # it logged in on 5 days then, on 20 days now


def test_the_evidence_lists_tickets_and_invoices_with_their_status(server: RunningServer, roster: Roster) -> None:
    cobalt = get(server, f"/api/customers/{roster['cobalt']}/health")
    assert [(t["priority"], t["status"]) for t in cobalt["tickets"]] == [
        ("urgent", "open"),
        ("urgent", "open"),
        ("high", "open"),
    ]  # newest first
    (invoice,) = cobalt["invoices"]
    assert (invoice["status"], invoice["paid_at"], invoice["amount"]) == ("overdue", None, 100.0)
    statuses = {i["status"] for i in get(server, f"/api/customers/{roster['beacon']}/health")["invoices"]}
    assert statuses == {"late_within_grace"}
    statuses = {i["status"] for i in get(server, f"/api/customers/{roster['alpine']}/health")["invoices"]}
    assert statuses == {"on_time"}
    before_due = get(server, f"/api/customers/{roster['cobalt']}/health", as_of=at_noon(30).date().isoformat())
    assert [i["status"] for i in before_due["invoices"]] == ["open"]  # not yet due then


def test_the_events_are_paged_newest_first(server: RunningServer, roster: Roster) -> None:
    path = f"/api/customers/{roster['alpine']}/health"
    everything = get(server, path, events_limit=500)["events"]
    assert everything["total"] == len(everything["items"]) > 20
    times = [dt.datetime.fromisoformat(e["occurred_at"]) for e in everything["items"]]
    assert times == sorted(times, reverse=True)
    assert all(e["customer_id"] == roster["alpine"] for e in everything["items"])
    default = get(server, path)["events"]
    assert (default["limit"], default["offset"], len(default["items"])) == (20, 0, 20)
    pages = [get(server, path, events_limit=6, events_offset=offset)["events"]["items"] for offset in range(0, 30, 6)]
    assert [e for page in pages for e in page] == everything["items"][:30]


def test_a_past_as_of_shows_the_customer_as_it_was(server: RunningServer, roster: Roster) -> None:
    day = at_noon(25).date().isoformat()
    path = f"/api/customers/{roster['alpine']}/health"
    then = get(server, path, as_of=day)
    assert then == get(server, path, as_of=day)
    assert then["as_of"] == f"{day}T23:59:59+00:00"
    assert then["score"] != get(server, path)["score"]
    assert factor(then, "login_frequency")["raw"]["active_days"] == 5  # days 31 to 35 fall in its window
    earliest_invoice = get(server, path)["invoices"][-1]
    then = get(server, path, as_of=at_noon(50).date().isoformat())
    assert [i["id"] for i in then["invoices"]] == [earliest_invoice["id"]]  # the later one was not issued yet
    assert then["invoices"][0]["status"] == "open"  # due 45 days ago: not yet then


def test_a_customer_created_after_as_of_has_no_score(server: RunningServer, roster: Roster) -> None:
    health = get(server, f"/api/customers/{roster['delta']}/health", as_of=at_noon(10).date().isoformat())
    assert (health["score"], health["tier"], health["factors"]) == (None, "insufficient_data", [])
    assert health["events"]["total"] == 0


@pytest.mark.parametrize("customer_id", ["999999999", "0", "abc", "2.0", "1e3", "%20"])
def test_an_unknown_or_malformed_id_is_404(server: RunningServer, customer_id: str) -> None:
    document = problem(call(server, "GET", f"/api/customers/{customer_id}/health"), 404)
    assert "customer" in document["detail"]
