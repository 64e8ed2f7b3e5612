"""The server-side cache: shared by all clients, read-your-writes after every API write, and rebuilt as it ages."""

from __future__ import annotations

import time

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.settings import load_settings
from tests.api.client import get, recorded
from tests.api.roster import Roster
from tests.servers import RunningServer

PRIVATE_DATABASE = True  # it writes behind the server's back
CACHE_SECONDS = 3
SERVER_ENVIRONMENT = {"HEALTHDASH_CACHE_SECONDS": str(CACHE_SECONDS)}


def behind_the_servers_back(url: str, statement: str, **values: object) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement), values)
    finally:
        engine.dispose()


def listed(server: RunningServer, query: str) -> list[str]:
    return [row["name"] for row in get(server, "/api/customers", q=query)["customers"]]


def score(server: RunningServer, query: str) -> float:
    (row,) = get(server, "/api/customers", q=query)["customers"]
    return float(row["score"])


def test_the_table_for_now_is_kept_then_rebuilt_once_older_than_the_cache_seconds(
    server: RunningServer, roster: Roster, database_url: str
) -> None:
    before = score(server, "fjord hdtest")
    # a ticket stored without an event tells no instance: only the table's age brings it in
    behind_the_servers_back(
        database_url,
        "INSERT INTO tickets (customer_id, subject, priority, opened_at) VALUES (:c, 'Outage', 'urgent', now())",
        c=roster["fjord"],
    )
    stored = time.monotonic()
    assert score(server, "fjord hdtest") == before  # answered from the kept table
    while score(server, "fjord hdtest") == before:
        assert time.monotonic() - stored < CACHE_SECONDS + 15, "the table was never rebuilt"
        time.sleep(0.2)
    assert score(server, "fjord hdtest") < before


def test_a_customer_added_behind_the_servers_back_shows_without_waiting_for_the_cache(
    server: RunningServer, database_url: str
) -> None:
    count = get(server, "/api/dashboard")["customer_count"]
    behind_the_servers_back(
        database_url,
        "INSERT INTO customers (name, segment, plan, seats, created_at) "
        "VALUES (:name, 'smb', 'starter', 3, now() - interval '100 days')",
        name="Newcomer Behind The Back",
    )
    added = time.monotonic()
    while listed(server, "Newcomer") == []:  # the database tells every instance of a new customer
        assert time.monotonic() - added < CACHE_SECONDS, "the new customer waited for the table's age"
        time.sleep(0.1)
    assert get(server, "/api/dashboard")["customer_count"] == count + 1


def test_a_write_through_the_api_is_read_back_at_once(server: RunningServer, roster: Roster) -> None:
    customer = roster["cobalt"]
    before = get(server, "/api/customers", q="cobalt hdtest")["customers"][0]
    answer = recorded(server, customer, {"type": "login"})
    after = get(server, "/api/customers", q="cobalt hdtest")["customers"][0]
    assert after["score"] == answer["health"]["score"] > before["score"]
    (top,) = [c for c in get(server, "/api/dashboard")["top_at_risk"] if c["id"] == customer]
    assert top["score"] == after["score"]
    assert get(server, f"/api/customers/{customer}/health")["score"] == after["score"]


def test_the_table_for_now_ages_within_a_minute_by_default() -> None:
    assert load_settings({}).cache_seconds == 60
    assert load_settings({"HEALTHDASH_CACHE_SECONDS": "5"}).cache_seconds == 5
