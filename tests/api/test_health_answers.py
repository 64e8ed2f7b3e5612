"""A customer's health asked again: the kept answer, until a write of that customer shows at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.api.client import call, get, recorded
from tests.api.roster import Roster, at_noon
from tests.servers import RunningServer

PRIVATE_DATABASE = True  # it records events


def health_body(server: RunningServer, customer: int, **params: object) -> bytes:
    reply = call(server, "GET", f"/api/customers/{customer}/health", params=params)
    assert reply.status == 200, reply.body[:500]
    return reply.body


def logins_today(health: Any) -> int:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    return sum(day["logins"] for day in health["activity"] if day["day"] == today)


def test_the_health_asked_again_is_the_answer_kept(server: RunningServer, roster: Roster) -> None:
    customer = roster["beacon"]
    first = health_body(server, customer)
    assert health_body(server, customer) == first  # the same moment, `as_of`, and not a byte more or less
    assert health_body(server, customer, events_limit=5) != first  # another page of events is another answer


def test_a_write_shows_in_the_next_health_of_its_customer_only(server: RunningServer, roster: Roster) -> None:
    customer, other = roster["alpine"], roster["beacon"]
    before = get(server, f"/api/customers/{customer}/health")
    others = health_body(server, other)
    answer = recorded(server, customer, {"type": "ticket_opened", "data": {"priority": "urgent", "subject": "Down"}})
    after = get(server, f"/api/customers/{customer}/health")
    assert after["events"]["items"][0]["id"] == answer["event"]["id"]
    assert after["events"]["total"] == before["events"]["total"] + 1
    assert len(after["tickets"]) == len(before["tickets"]) + 1
    assert after["score"] == answer["health"]["score"] < before["score"]
    assert after["as_of"] > before["as_of"]
    assert health_body(server, other) == others  # another customer's answer is kept


def test_an_activity_event_shows_at_once_too(server: RunningServer, roster: Roster) -> None:
    customer = roster["beacon"]
    before = get(server, f"/api/customers/{customer}/health")
    answer = recorded(server, customer, {"type": "login"})
    after = get(server, f"/api/customers/{customer}/health")
    assert after["events"]["items"][0]["id"] == answer["event"]["id"]
    assert logins_today(after) == logins_today(before) + 1
    assert after["score"] == answer["health"]["score"]


def test_a_health_for_an_explicit_moment_is_computed_each_time(server: RunningServer, roster: Roster) -> None:
    day = at_noon(20).date().isoformat()
    path = f"/api/customers/{roster['alpine']}/health"
    then = get(server, path, as_of=day)
    assert then["as_of"] == f"{day}T23:59:59+00:00"
    recorded(server, roster["alpine"], {"type": "login", "occurred_at": at_noon(20).isoformat()})
    assert get(server, path, as_of=day)["events"]["total"] == then["events"]["total"] + 1
