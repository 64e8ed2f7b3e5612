"""A person's own book: the customers whose owner is their email or name, on the list and the dashboard."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.api.client import call, problem
from tests.people import PASSWORD, people_of
from tests.servers import RunningServer

PRIVATE_DATABASE = True
DANIEL = "daniel.okafor@example.com"


@pytest.fixture(scope="module")
def tokens(database_url: str, server: RunningServer) -> dict[str, str]:
    """Daniel (owner by name in the sample data), Ana (owner of one customer by email), and a service's token."""
    with people_of(database_url) as people:
        people.add_user(DANIEL, "Daniel Okafor", "csm", PASSWORD, "tests")
        people.add_user("ana@example.com", "Ana Lima", "viewer", PASSWORD, "tests")
        made = {
            "daniel": people.create_token("daniel", "csm", DANIEL, "tests")[1],
            "ana": people.create_token("ana", "viewer", "ana@example.com", "tests")[1],
            "service": people.create_token("sync", "csm", None, "tests")[1],
        }
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE customers SET owner = ' ANA@example.com ' WHERE id = 2"))
    finally:
        engine.dispose()
    return made


def owned(database_url: str, owner: str) -> set[int]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            sql = "SELECT id FROM customers WHERE owner = :o AND status = 'active'"  # the list's default view
            return {r[0] for r in conn.execute(text(sql), {"o": owner})}
    finally:
        engine.dispose()


def test_the_list_shows_one_s_own_customers(server: RunningServer, database_url: str, tokens: dict[str, str]) -> None:
    daniel = owned(database_url, "Daniel Okafor")
    assert daniel
    mine = call(server, "GET", "/api/customers", params={"owner": "me", "limit": 500}, token=tokens["daniel"]).json()
    assert {c["id"] for c in mine["customers"]} == daniel and mine["total"] == len(daniel)
    ana = call(server, "GET", "/api/customers", params={"owner": "me"}, token=tokens["ana"]).json()
    assert [c["id"] for c in ana["customers"]] == [2]
    critical = call(server, "GET", "/api/customers", params={"owner": "me", "tier": "critical", "limit": 500},
                    token=tokens["daniel"]).json()  # fmt: skip
    assert {c["id"] for c in critical["customers"]} <= daniel
    everyone = call(server, "GET", "/api/customers", params={"limit": 500}, token=tokens["daniel"]).json()
    assert everyone["total"] > len(daniel)
    assert call(server, "GET", "/api/customers", params={"owner": "me"}, token=tokens["service"]).json()["total"] == 0
    bad = call(server, "GET", "/api/customers", params={"owner": "Daniel Okafor"}, token=tokens["daniel"])
    assert "owner" in problem(bad, 422)["detail"]


def test_the_dashboard_can_be_scoped_to_one_s_book(server: RunningServer, tokens: dict[str, str]) -> None:
    mine = call(server, "GET", "/api/dashboard", params={"scope": "mine"}, token=tokens["daniel"]).json()
    everyone = call(server, "GET", "/api/dashboard", token=tokens["daniel"]).json()
    listed = call(server, "GET", "/api/customers", params={"owner": "me", "limit": 500}, token=tokens["daniel"]).json()
    assert mine["customer_count"] == listed["total"] < everyone["customer_count"]
    assert {c["id"] for c in mine["top_at_risk"]} <= {c["id"] for c in listed["customers"]}
    assert sum(mine["tiers"].values()) == mine["customer_count"]
    bad = call(server, "GET", "/api/dashboard", params={"scope": "theirs"}, token=tokens["daniel"])
    assert "scope" in problem(bad, 422)["detail"]
