"""The dashboard: its numbers agree with the customer list and each customer's health, for now and any past day."""

from __future__ import annotations

from tests.api.client import all_customers, call, factor, get, problem
from tests.api.roster import Roster, at_noon
from tests.servers import RunningServer

TIERS = ("healthy", "at_risk", "critical", "insufficient_data")
FACTORS = ("login_frequency", "feature_adoption", "ticket_volume", "invoice_timeliness", "api_usage")


def test_the_dashboard_has_the_contract_fields(server: RunningServer) -> None:
    dashboard = get(server, "/api/dashboard")
    assert set(dashboard) == {
        "as_of",
        "customer_count",
        "average_score",
        "tiers",
        "arr",
        "top_at_risk",
        "factor_averages",
        "distribution",
        "movers",
        "tier_history",
    }
    assert list(dashboard["tiers"]) == list(TIERS)
    assert set(dashboard["arr"]) == {"total", "by_tier", "at_risk", "renewals_due", "renewals_due_arr"}
    assert list(dashboard["arr"]["by_tier"]) == list(dashboard["arr"]["renewals_due"]) == list(TIERS)
    assert list(dashboard["factor_averages"]) == list(FACTORS)
    assert [(b["from"], b["to"]) for b in dashboard["distribution"]] == [(f, f + 10) for f in range(0, 100, 10)]
    assert all(set(c) == {"id", "name", "score", "tier", "main_reason"} for c in dashboard["top_at_risk"])


def test_the_numbers_agree_with_the_customer_list(server: RunningServer) -> None:
    dashboard = get(server, "/api/dashboard")
    customers = all_customers(server)
    scored = [c for c in customers if c["tier"] != "insufficient_data"]
    assert dashboard["customer_count"] == len(customers)
    assert dashboard["tiers"] == {tier: sum(c["tier"] == tier for c in customers) for tier in TIERS}
    assert dashboard["average_score"] == round(sum(c["score"] for c in scored) / len(scored), 1)
    for bucket in dashboard["distribution"]:
        last = bucket["to"] == 100
        inside = [c for c in scored if bucket["from"] <= c["score"] < bucket["to"] or (last and c["score"] == 100)]
        assert bucket["count"] == len(inside), bucket
    assert sum(b["count"] for b in dashboard["distribution"]) == len(scored)


def test_the_top_at_risk_are_the_five_lowest_scores_with_their_main_reason(
    server: RunningServer, roster: Roster
) -> None:
    top = get(server, "/api/dashboard")["top_at_risk"]
    scored = [c for c in all_customers(server) if c["tier"] != "insufficient_data"]
    lowest = sorted(scored, key=lambda c: (c["score"], c["name"].casefold()))[:5]
    assert [(c["id"], c["score"], c["tier"]) for c in top] == [(c["id"], c["score"], c["tier"]) for c in lowest]
    assert top[0]["id"] == roster["cobalt"]  # it scores 0
    for customer in top:
        health = get(server, f"/api/customers/{customer['id']}/health")
        worst = max(health["factors"], key=lambda f: f["points_lost"])
        assert customer["main_reason"] == worst["key"] == health["main_reason"]


def test_the_factor_averages_are_those_of_the_scored_customers(server: RunningServer, roster: Roster) -> None:
    dashboard = get(server, "/api/dashboard")
    assert all(0 <= value <= 100 for value in dashboard["factor_averages"].values())
    cobalt = get(server, f"/api/customers/{roster['cobalt']}/health")
    assert {f["key"]: f["score"] for f in cobalt["factors"]} == dict.fromkeys(FACTORS, 0.0)
    assert factor(cobalt, "ticket_volume")["raw"]["weighted_load"] == 13.0


def test_a_past_as_of_gives_a_different_reproducible_dashboard(server: RunningServer) -> None:
    now = get(server, "/api/dashboard")
    day = at_noon(40).date().isoformat()
    then = get(server, "/api/dashboard", as_of=day)
    assert then == get(server, "/api/dashboard", as_of=day)
    assert then["as_of"] == f"{day}T23:59:59+00:00"
    assert then != {**now, "as_of": then["as_of"]}
    assert then["customer_count"] < now["customer_count"]  # the youngest customers had not signed up yet
    assert then["customer_count"] == len(all_customers(server, as_of=day))
    assert then == get(server, "/api/dashboard", as_of=f"{day}T23:59:59Z")


def test_as_of_now_and_today_agree(server: RunningServer) -> None:
    now = get(server, "/api/dashboard")
    today = get(server, "/api/dashboard", as_of=now["as_of"][:10])
    assert {k: v for k, v in today.items() if k != "as_of"} == {k: v for k, v in now.items() if k != "as_of"}


def test_an_invalid_as_of_is_refused(server: RunningServer) -> None:
    for value in ("2026-13-01", "tomorrow", "2026-11-01 12:00", "3000-01-01", ""):
        document = problem(call(server, "GET", "/api/dashboard", params={"as_of": value}), 422)
        assert [e["field"] for e in document["errors"]] == ["as_of"]
