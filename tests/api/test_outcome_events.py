"""Outcome events: churn, renewal and ARR changes are recorded like other events and change the customer's record."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.api.client import call, error_fields, get, post_event, problem, recorded
from tests.api.roster import Roster
from tests.servers import RunningServer

PRIVATE_DATABASE = True  # it records outcomes


def profile(server: RunningServer, customer_id: int) -> dict[str, Any]:
    answer: dict[str, Any] = get(server, f"/api/customers/{customer_id}")
    return answer


def test_a_churn_marks_the_customer_churned_and_keeps_its_history(server: RunningServer, roster: Roster) -> None:
    customer = roster["ember"]
    events_before = get(server, f"/api/customers/{customer}/health")["events"]["total"]
    answer = recorded(server, customer, {"type": "churned", "data": {"reason": "budget", "note": "Cut in Q3"}})
    assert answer["event"]["data"] == {"reason": "budget", "note": "Cut in Q3"}
    assert profile(server, customer)["status"] == "churned"
    health = get(server, f"/api/customers/{customer}/health")
    assert health["customer"]["status"] == "churned" and health["events"]["total"] == events_before + 1
    # a second churn contradicts the record; a login of a churned customer is still stored
    document = problem(post_event(server, customer, {"type": "churned", "data": {"reason": "other"}}), 409)
    assert "already churned" in document["detail"]
    assert post_event(server, customer, {"type": "login"}).status == 201


def test_a_renewal_sets_the_renewal_date_and_arr_and_makes_the_customer_active(
    server: RunningServer, roster: Roster
) -> None:
    customer = roster["harbor"]
    recorded(server, customer, {"type": "churned", "data": {"reason": "competitor"}})
    answer = recorded(server, customer, {"type": "renewed", "data": {"renewal_date": "2027-09-30", "arr": 30500}})
    assert answer["event"]["data"] == {"renewal_date": "2027-09-30", "arr": "30500"}
    after = profile(server, customer)
    assert (after["status"], after["renewal_date"], after["arr"]) == ("active", "2027-09-30", 30500.0)
    recorded(server, customer, {"type": "renewed", "data": {"renewal_date": "2028-09-30"}})
    assert profile(server, customer)["arr"] == 30500.0  # kept when the renewal does not say


def test_an_arr_change_keeps_the_arr_before_it(server: RunningServer, roster: Roster) -> None:
    customer = roster["fjord"]
    recorded(server, customer, {"type": "arr_changed", "data": {"arr": 1000}})
    answer = recorded(server, customer, {"type": "arr_changed", "data": {"arr": 1500.25}})
    assert answer["event"]["data"] == {"arr": "1500.25", "previous_arr": "1000.00"}
    assert profile(server, customer)["arr"] == 1500.25


def test_bad_outcomes_are_refused_naming_the_field(server: RunningServer, roster: Roster) -> None:
    customer = roster["cobalt"]
    for body, field in [
        ({"type": "churned", "data": {"reason": "bored"}}, "data.reason"),
        ({"type": "churned", "data": {}}, "data.reason"),
        ({"type": "renewed", "data": {"arr": 10}}, "data.renewal_date"),
        ({"type": "arr_changed", "data": {"arr": -5}}, "data.arr"),
    ]:
        assert field in error_fields(problem(post_event(server, customer, body), 422))
    assert profile(server, customer)["status"] == "active"


def test_a_batch_of_outcomes_is_all_or_nothing(server: RunningServer, roster: Roster) -> None:
    first, second = roster["garnet"], roster["ivy"]
    batch = {
        "events": [
            {"customer_id": first, "type": "arr_changed", "data": {"arr": 777}},
            {"customer_id": second, "type": "churned", "data": {"reason": "support"}},
            {"customer_id": second, "type": "churned", "data": {"reason": "support"}},  # churned twice
        ]
    }
    reply = call(server, "POST", "/api/events/batch", json_body=batch, token=server.token)
    assert "events[2].type" in error_fields(problem(reply, 409))
    assert profile(server, first)["arr"] != 777.0 and profile(server, second)["status"] == "active"
    batch["events"].pop()
    reply = call(server, "POST", "/api/events/batch", json_body=batch, token=server.token)
    assert reply.status == 201, reply.body
    assert profile(server, first)["arr"] == 777.0 and profile(server, second)["status"] == "churned"


def test_a_churned_customer_leaves_the_active_view_of_the_list_and_dashboard(
    server: RunningServer, roster: Roster
) -> None:
    customer = roster["iris"]
    everyone = get(server, "/api/dashboard", status="all")["customer_count"]
    active = get(server, "/api/dashboard")["customer_count"]
    assert [c["id"] for c in get(server, "/api/customers", q="iris hdtest")["customers"]] == [customer]

    recorded(server, customer, {"type": "churned", "data": {"reason": "business_closed"}})
    assert get(server, "/api/customers", q="iris hdtest")["customers"] == []  # at once, not at the cache's age
    churned = get(server, "/api/customers", q="iris hdtest", status="churned")["customers"]
    assert [c["id"] for c in churned] == [customer]
    assert [c["id"] for c in get(server, "/api/customers", q="iris hdtest", status="all")["customers"]] == [customer]
    assert get(server, "/api/dashboard")["customer_count"] == active - 1
    assert get(server, "/api/dashboard", status="all")["customer_count"] == everyone
    assert get(server, "/api/dashboard", status="churned")["customer_count"] == everyone - active + 1
    assert get(server, f"/api/customers/{customer}/health")["customer"]["status"] == "churned"  # its page stays
    problem(call(server, "GET", "/api/customers", params={"status": "gone"}), 422)


def test_the_dashboard_shows_arr_per_tier_at_risk_and_renewals_due(server: RunningServer, roster: Roster) -> None:
    customer = roster["alpine"]  # healthy, with no ARR and no renewal date yet
    assert get(server, f"/api/customers/{customer}/health")["tier"] == "healthy"
    before = get(server, "/api/dashboard")["arr"]
    soon = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    reply = call(server, "PATCH", f"/api/customers/{customer}", json_body={"renewal_date": soon}, token=server.token)
    assert reply.status == 200
    recorded(server, customer, {"type": "arr_changed", "data": {"arr": 1000}})
    after = get(server, "/api/dashboard")["arr"]
    assert after["total"] == before["total"] + 1000
    assert after["by_tier"]["healthy"] == before["by_tier"]["healthy"] + 1000
    assert after["renewals_due"]["healthy"] == before["renewals_due"]["healthy"] + 1
    assert after["renewals_due_arr"]["healthy"] == before["renewals_due_arr"]["healthy"] + 1000
    assert after["at_risk"] == before["at_risk"] == after["by_tier"]["at_risk"] + after["by_tier"]["critical"]
    far = (dt.date.today() + dt.timedelta(days=200)).isoformat()
    call(server, "PATCH", f"/api/customers/{customer}", json_body={"renewal_date": far}, token=server.token)
    assert get(server, "/api/dashboard")["arr"]["renewals_due"]["healthy"] == before["renewals_due"]["healthy"]
