"""The server-side cache: shared by all clients, read-your-writes after every API write, and rebuilt as it ages."""

from __future__ import annotations

import time

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.settings import load_settings
from tests.api.client import get, recorded
from tests.api.roster import Roster
from tests.servers import RunningServer

PRIVATE_DATABASE = True  # it adds customers behind the server's back
CACHE_SECONDS = 3
SERVER_ENVIRONMENT = {"HEALTHDASH_CACHE_SECONDS": str(CACHE_SECONDS)}


def add_customer_behind_the_servers_back(url: str, name: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (name, segment, plan, seats, created_at) "
                    "VALUES (:name, 'smb', 'starter', 3, now() - interval '100 days')"
                ),
                {"name": name},
            )
    finally:
        engine.dispose()


def listed(server: RunningServer, query: str) -> list[str]:
    return [row["name"] for row in get(server, "/api/customers", q=query)["customers"]]


def test_the_table_for_now_is_kept_then_rebuilt_once_older_than_the_cache_seconds(
    server: RunningServer, database_url: str
) -> None:
    count = get(server, "/api/dashboard")["customer_count"]
    add_customer_behind_the_servers_back(database_url, "Newcomer Behind The Back")
    added = time.monotonic()
    assert listed(server, "Newcomer") == []  # answered from the kept table
    assert get(server, "/api/dashboard")["customer_count"] == count
    while listed(server, "Newcomer") == []:
        assert time.monotonic() - added < CACHE_SECONDS + 15, "the table was never rebuilt"
        time.sleep(0.2)
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
