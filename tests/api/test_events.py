"""Recording events: the event is stored, the score moves the way the factors say, and every read shows it at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.api.client import all_customers, call, error_fields, factor, get, post_event, problem, recorded
from tests.api.roster import Roster, at_noon
from tests.servers import RunningServer

PRIVATE_DATABASE = True  # it records events


def health(server: RunningServer, customer_id: int, **params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = get(server, f"/api/customers/{customer_id}/health", **params)
    return answer


def listed(server: RunningServer, customer_id: int) -> dict[str, Any]:
    (row,) = [c for c in all_customers(server) if c["id"] == customer_id]
    return row


def iso(days_ago: int) -> str:
    return at_noon(days_ago).isoformat().replace("+00:00", "Z")


def test_logins_on_new_days_raise_the_login_factor_and_the_score(server: RunningServer, roster: Roster) -> None:
    customer = roster["ember"]
    before = health(server, customer)
    assert factor(before, "login_frequency")["raw"]["active_days"] == 2
    assert factor(before, "login_frequency")["score"] == 12.5
    listed_before = listed(server, customer)
    top_before = get(server, "/api/dashboard")

    last = None
    for days_ago in (1, 2, 4, 5, 6, 7, 8, 10):  # eight new days inside the 30-day window
        last = recorded(server, customer, {"type": "login", "occurred_at": iso(days_ago), "data": {"user": "ana"}})

    after = health(server, customer)
    assert factor(after, "login_frequency")["raw"]["active_days"] == 10
    assert factor(after, "login_frequency")["score"] == 62.5
    assert after["score"] > before["score"]
    assert after["score"] - before["score"] == 12.5  # 25 % of the weight times 50 more points
    assert last is not None and last["health"] == {"score": after["score"], "tier": after["tier"]}
    # the cached list and dashboard show the new score at once
    assert listed(server, customer)["score"] == after["score"] != listed_before["score"]
    top_after = get(server, "/api/dashboard")
    assert top_after["average_score"] >= top_before["average_score"]
    assert top_after["factor_averages"]["login_frequency"] > top_before["factor_averages"]["login_frequency"]


def test_a_second_login_on_the_same_day_changes_nothing(server: RunningServer, roster: Roster) -> None:
    customer = roster["harbor"]
    before = health(server, customer)
    recorded(server, customer, {"type": "login", "occurred_at": iso(3)})  # day 3 already has a login
    after = health(server, customer)
    assert factor(after, "login_frequency")["raw"] == factor(before, "login_frequency")["raw"]
    assert after["score"] == before["score"]
    assert after["events"]["total"] == before["events"]["total"] + 1


def test_an_urgent_ticket_lowers_the_score(server: RunningServer, roster: Roster) -> None:
    customer = roster["fjord"]
    before = health(server, customer)
    assert factor(before, "ticket_volume")["score"] == 100.0
    answer = recorded(
        server, customer, {"type": "ticket_opened", "data": {"priority": "urgent", "subject": "Exports fail"}}
    )
    after = health(server, customer)
    assert factor(after, "ticket_volume")["score"] == 50.0
    assert factor(after, "ticket_volume")["raw"]["tickets"]["urgent"] == 1
    assert after["score"] == before["score"] - 10.0  # 20 % of the weight times 50 points
    assert answer["health"]["score"] == after["score"]
    assert "1 urgent" in factor(after, "ticket_volume")["explanation"]
    (ticket,) = [t for t in after["tickets"] if t["id"] == answer["event"]["data"]["ticket_id"]]
    assert ticket == {**ticket, "priority": "urgent", "status": "open", "subject": "Exports fail", "closed_at": None}
    assert listed(server, customer)["score"] == after["score"]


def test_a_ticket_opened_then_closed_is_closed_in_the_evidence(server: RunningServer, roster: Roster) -> None:
    customer = roster["harbor"]
    opened = recorded(
        server,
        customer,
        {"type": "ticket_opened", "occurred_at": iso(4), "data": {"priority": "high", "subject": "Slow reports"}},
    )
    ticket_id = opened["event"]["data"]["ticket_id"]
    (ticket,) = [t for t in health(server, customer)["tickets"] if t["id"] == ticket_id]
    assert ticket["status"] == "open" and ticket["closed_at"] is None

    closed = recorded(
        server, customer, {"type": "ticket_closed", "occurred_at": iso(2), "data": {"ticket_id": ticket_id}}
    )
    assert closed["event"]["data"] == {"ticket_id": ticket_id}
    (ticket,) = [t for t in health(server, customer)["tickets"] if t["id"] == ticket_id]
    assert ticket["status"] == "closed"
    assert dt.datetime.fromisoformat(ticket["closed_at"]) == at_noon(2)

    again = problem(post_event(server, customer, {"type": "ticket_closed", "data": {"ticket_id": ticket_id}}), 409)
    assert "already closed" in again["detail"]
    others = problem(
        post_event(server, roster["fjord"], {"type": "ticket_closed", "data": {"ticket_id": ticket_id}}), 422
    )
    assert error_fields(others) == {"data.ticket_id"}  # another customer's ticket


def test_closing_a_ticket_before_it_was_opened_is_refused(server: RunningServer, roster: Roster) -> None:
    customer = roster["harbor"]
    opened = recorded(
        server, customer, {"type": "ticket_opened", "occurred_at": iso(3), "data": {"priority": "low", "subject": "?"}}
    )
    body = {"type": "ticket_closed", "occurred_at": iso(6), "data": {"ticket_id": opened["event"]["data"]["ticket_id"]}}
    assert error_fields(problem(post_event(server, customer, body), 422)) == {"occurred_at"}


def test_an_invoice_issued_then_paid_updates_the_invoices_and_the_score(server: RunningServer, roster: Roster) -> None:
    customer = roster["garnet"]
    before = health(server, customer)
    assert before["invoices"] == []
    assert factor(before, "invoice_timeliness")["score"] is None  # no invoice fell due

    due = at_noon(30).date().isoformat()
    issued = recorded(
        server,
        customer,
        {"type": "invoice_issued", "occurred_at": iso(40), "data": {"amount": 1250.5, "due_at": due}},
    )
    invoice_id = issued["event"]["data"]["invoice_id"]
    assert issued["event"]["data"] == {"amount": "1250.5", "due_at": due, "invoice_id": invoice_id}
    unpaid = health(server, customer)
    (invoice,) = unpaid["invoices"]
    assert invoice == {**invoice, "id": invoice_id, "amount": 1250.5, "due_at": due, "paid_at": None}
    assert invoice["status"] == "overdue"
    assert factor(unpaid, "invoice_timeliness")["score"] == 0.0
    assert unpaid["score"] < before["score"]
    assert unpaid["main_reason"] == "invoice_timeliness"

    recorded(server, customer, {"type": "invoice_paid", "occurred_at": iso(32), "data": {"invoice_id": invoice_id}})
    paid = health(server, customer)
    (invoice,) = paid["invoices"]
    assert invoice["paid_at"] == at_noon(32).date().isoformat()
    assert invoice["status"] == "on_time"
    assert factor(paid, "invoice_timeliness")["score"] == 100.0
    assert paid["score"] > unpaid["score"]
    assert listed(server, customer)["score"] == paid["score"]

    twice = problem(post_event(server, customer, {"type": "invoice_paid", "data": {"invoice_id": invoice_id}}), 409)
    assert "already paid" in twice["detail"]


def test_an_invoice_paid_before_it_was_issued_is_refused(server: RunningServer, roster: Roster) -> None:
    body = {"type": "invoice_issued", "occurred_at": iso(10), "data": {"amount": 99.99, "due_at": iso(1)[:10]}}
    invoice_id = recorded(server, roster["garnet"], body)["event"]["data"]["invoice_id"]
    early = {"type": "invoice_paid", "occurred_at": iso(12), "data": {"invoice_id": invoice_id}}
    assert error_fields(problem(post_event(server, roster["garnet"], early), 422)) == {"occurred_at"}


def test_an_invoice_due_before_it_is_issued_is_refused(server: RunningServer, roster: Roster) -> None:
    body = {
        "type": "invoice_issued",
        "occurred_at": iso(5),
        "data": {"amount": 10, "due_at": at_noon(6).date().isoformat()},
    }
    document = problem(post_event(server, roster["garnet"], body), 422)
    assert error_fields(document) == {"data.due_at"}


def test_unknown_tickets_invoices_and_features_are_refused(server: RunningServer, roster: Roster) -> None:
    customer = roster["garnet"]
    for body, field in [
        ({"type": "ticket_closed", "data": {"ticket_id": 987654321}}, "data.ticket_id"),
        ({"type": "invoice_paid", "data": {"invoice_id": 987654321}}, "data.invoice_id"),
        ({"type": "feature_use", "data": {"feature": "teleportation"}}, "data.feature"),
    ]:
        assert error_fields(problem(post_event(server, customer, body), 422)) == {field}


def test_feature_use_and_api_calls_move_their_factors(server: RunningServer, roster: Roster) -> None:
    customer = roster["beacon"]
    before = health(server, customer)
    unused = [key for key in roster.features if key not in roster.features[:3]]
    for key in unused[:3]:
        recorded(server, customer, {"type": "feature_use", "data": {"feature": key}})
    recorded(server, customer, {"type": "api_call", "occurred_at": iso(1), "data": {"count": 500}})
    after = health(server, customer)
    assert factor(after, "feature_adoption")["raw"]["features_used"] == 6
    assert factor(after, "api_usage")["raw"]["calls"] == factor(before, "api_usage")["raw"]["calls"] + 500
    assert factor(after, "api_usage")["score"] == 100.0  # 1500 calls now against 1500 before
    assert after["score"] > before["score"]


def test_the_answer_is_201_with_the_stored_event_and_a_location_that_resolves(
    server: RunningServer, roster: Roster, database_url: str
) -> None:
    customer = roster["alpine"]
    reply = post_event(server, customer, {"type": "api_call", "data": {"count": 42}})
    assert reply.status == 201
    assert reply.content_type == "application/json"
    answer = reply.json()
    event = answer["event"]
    assert event["customer_id"] == customer and event["type"] == "api_call" and event["data"] == {"count": 42}
    occurred = dt.datetime.fromisoformat(event["occurred_at"])
    assert abs((occurred - dt.datetime.now(dt.UTC)).total_seconds()) < 60  # default: now
    assert answer["health"]["tier"] in ("healthy", "at_risk", "critical", "insufficient_data")

    location = reply.headers["Location"]
    assert location == f"/api/customers/{customer}/events/{event['id']}"
    assert get(server, location) == event
    problem(call(server, "GET", f"/api/customers/{roster['beacon']}/events/{event['id']}"), 404)  # not beacon's

    assert health(server, customer)["events"]["items"][0] == event  # newest first
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT customer_id, type, data FROM events WHERE id = :id"), {"id": event["id"]})
            assert tuple(row.one()) == (customer, "api_call", {"count": 42})
    finally:
        engine.dispose()


def test_a_back_dated_event_changes_a_cached_past_answer(server: RunningServer, roster: Roster) -> None:
    past = at_noon(20).date().isoformat()
    customer = roster["cobalt"]
    before = get(server, "/api/customers", as_of=past, q="cobalt hdtest")["customers"][0]
    assert get(server, "/api/customers", as_of=past, q="cobalt hdtest")["customers"][0] == before  # served again
    for days_ago in (21, 22, 23, 24):
        recorded(server, customer, {"type": "login", "occurred_at": iso(days_ago)})
    after = get(server, "/api/customers", as_of=past, q="cobalt hdtest")["customers"][0]
    assert after["score"] > before["score"]
    past_health = health(server, customer, as_of=past)
    assert factor(past_health, "login_frequency")["raw"]["active_days"] == 4
    end_of_day = dt.datetime.fromisoformat(past_health["as_of"])
    assert end_of_day == dt.datetime.combine(at_noon(20).date(), dt.time(23, 59, 59), tzinfo=dt.UTC)
    assert all(dt.datetime.fromisoformat(e["occurred_at"]) <= end_of_day for e in past_health["events"]["items"])


def test_an_event_later_than_as_of_is_not_evidence_for_it(server: RunningServer, roster: Roster) -> None:
    customer = roster["alpine"]
    event = recorded(server, customer, {"type": "login", "occurred_at": iso(1), "data": {"user": "late"}})["event"]
    earlier = health(server, customer, as_of=at_noon(2).date().isoformat(), events_limit=500)
    assert event["id"] not in {e["id"] for e in earlier["events"]["items"]}
    now = health(server, customer, events_limit=500)
    assert event["id"] in {e["id"] for e in now["events"]["items"]}
