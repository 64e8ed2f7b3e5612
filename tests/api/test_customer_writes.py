"""Customers created and changed through the API: stored, shown at once by this server and soon by every other one,
and every bad body refused with a problem naming the field, nothing stored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.api.client import Reply, all_customers, call, error_fields, get, problem
from tests.api.roster import Roster
from tests.conftest import TEST_TOKEN
from tests.servers import RunningServer, start_server

PRIVATE_DATABASE = True  # it creates customers
SERVER_ENVIRONMENT = {"HEALTHDASH_CACHE_SECONDS": "600"}  # what shows before then was heard of, not rebuilt

ACME = {"name": "Acme Outcomes", "segment": "mid_market", "plan": "business", "seats": 40}


@pytest.fixture(scope="module")
def other_instance(
    database_url: str, server: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A second server over the same database, as behind a load balancer."""
    with start_server(database_url, tmp_path_factory.mktemp("other"), TEST_TOKEN, SERVER_ENVIRONMENT) as running:
        yield running


def send(server: RunningServer, method: str, path: str, body: Any) -> Reply:
    return call(server, method, path, json_body=body, token=server.token)


def stored_count(database_url: str, where: str = "true") -> int:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM customers WHERE {where}")).scalar_one())
    finally:
        engine.dispose()


def names(server: RunningServer, query: str) -> list[str]:
    return [row["name"] for row in get(server, "/api/customers", q=query)["customers"]]


def test_a_customer_posted_is_stored_and_listed_at_once(server: RunningServer) -> None:
    get(server, "/api/dashboard")  # the table is built before the customer exists
    count = get(server, "/api/dashboard")["customer_count"]
    reply = send(server, "POST", "/api/customers", {**ACME, "arr": 48000.5, "renewal_date": "2027-03-31"})
    assert reply.status == 201, reply.body
    created = reply.json()
    assert reply.headers["Location"] == f"/api/customers/{created['id']}"
    assert created["arr"] == 48000.5 and created["renewal_date"] == "2027-03-31"
    assert created["status"] == "active" and created["industry"] == "other" and created["external_id"] is None
    assert get(server, reply.headers["Location"]) == created
    assert names(server, "Acme Outcomes") == ["Acme Outcomes"]  # not waiting for the table's age
    assert get(server, "/api/dashboard")["customer_count"] == count + 1
    health = get(server, f"/api/customers/{created['id']}/health")
    assert health["customer"]["arr"] == 48000.5 and health["tier"] == "insufficient_data"


def test_a_put_by_external_id_creates_then_changes_then_changes_nothing(
    server: RunningServer, database_url: str
) -> None:
    path = "/api/customers/external/crm-0042"
    first = send(server, "PUT", path, {"name": "Borealis Freight", "segment": "smb", "plan": "starter", "seats": 5})
    assert first.status == 201, first.body
    customer = first.json()
    assert customer["external_id"] == "crm-0042" and first.headers["Location"] == f"/api/customers/{customer['id']}"

    changed = send(server, "PUT", path, {"plan": "growth", "arr": 12000})
    assert changed.status == 200
    assert changed.json() == {**customer, "plan": "growth", "arr": 12000.0}
    (row,) = [c for c in all_customers(server, q="Borealis") if c["id"] == customer["id"]]
    assert row["plan"] == "growth"  # the list shows the change at once

    again = send(server, "PUT", path, {"plan": "growth", "arr": 12000})
    assert again.status == 200 and again.json() == changed.json()
    assert stored_count(database_url, "external_id = 'crm-0042'") == 1
    assert get(server, "/api/customers/external/crm-0042") == changed.json()


def test_a_put_for_a_new_external_id_needs_the_whole_profile(server: RunningServer, database_url: str) -> None:
    document = problem(send(server, "PUT", "/api/customers/external/crm-new", {"arr": 5}), 422)
    assert "creating one needs name, segment, plan, seats" in document["detail"]
    assert stored_count(database_url, "external_id = 'crm-new'") == 0


def test_a_patch_changes_only_the_fields_given(server: RunningServer, roster: Roster) -> None:
    customer = roster["ember"]
    before = get(server, f"/api/customers/{customer}")
    reply = send(server, "PATCH", f"/api/customers/{customer}", {"owner": "Dana", "renewal_date": "2027-01-15"})
    assert reply.status == 200, reply.body
    assert reply.json() == {**before, "owner": "Dana", "renewal_date": "2027-01-15"}
    cleared = send(server, "PATCH", f"/api/customers/{customer}", {"owner": None})
    assert cleared.json()["owner"] is None and cleared.json()["renewal_date"] == "2027-01-15"


def test_a_duplicate_external_id_is_a_conflict_and_nothing_is_stored(
    server: RunningServer, database_url: str, roster: Roster
) -> None:
    send(server, "PUT", "/api/customers/external/crm-dup", {**ACME, "name": "Dup Original"})
    count = stored_count(database_url)
    document = problem(send(server, "POST", "/api/customers", {**ACME, "external_id": "crm-dup"}), 409)
    assert "crm-dup" in document["detail"] and error_fields(document) == {"external_id"}
    document = problem(send(server, "PATCH", f"/api/customers/{roster['fjord']}", {"external_id": "crm-dup"}), 409)
    assert error_fields(document) == {"external_id"}
    assert stored_count(database_url) == count
    assert get(server, f"/api/customers/{roster['fjord']}")["external_id"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ACME, "segment": "galactic"}, "segment"),
        ({**ACME, "plan": "free"}, "plan"),
        ({**ACME, "arr": -1}, "arr"),
        ({**ACME, "arr": 10.001}, "arr"),
        ({**ACME, "arr": "100"}, "arr"),
        ({**ACME, "seats": 0}, "seats"),
        ({**ACME, "name": "   "}, "name"),
        ({**ACME, "renewal_date": "31/03/2027"}, "renewal_date"),
        ({**ACME, "external_id": "has space"}, "external_id"),
        ({**ACME, "colour": "red"}, "colour"),
        ({"segment": "smb", "plan": "starter", "seats": 3}, "name"),
    ],
)
def test_a_bad_new_customer_is_refused_naming_the_field(
    server: RunningServer, database_url: str, body: dict[str, Any], field: str
) -> None:
    count = stored_count(database_url)
    document = problem(send(server, "POST", "/api/customers", body), 422)
    assert field in error_fields(document) and field in document["detail"]
    assert stored_count(database_url) == count


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "body"), ({"name": None}, "name"), ({"arr": -0.01}, "arr"), ({"status": "churned"}, "status")],
)
def test_a_bad_change_is_refused_and_changes_nothing(
    server: RunningServer, roster: Roster, body: dict[str, Any], field: str
) -> None:
    before = get(server, f"/api/customers/{roster['harbor']}")
    document = problem(send(server, "PATCH", f"/api/customers/{roster['harbor']}", body), 422)
    assert field in error_fields(document)
    assert get(server, f"/api/customers/{roster['harbor']}") == before


def test_writes_need_a_token_json_and_a_known_customer(server: RunningServer) -> None:
    problem(call(server, "POST", "/api/customers", json_body=ACME, token=None), 401)
    problem(call(server, "PUT", "/api/customers/external/x1", json_body=ACME, token="wrong"), 401)
    problem(call(server, "PATCH", "/api/customers/1", raw=b"name=x", token=server.token), 415)
    problem(send(server, "PATCH", "/api/customers/999999999", {"owner": "Dana"}), 404)
    problem(call(server, "GET", "/api/customers/999999999"), 404)
    problem(call(server, "GET", "/api/customers/external/nobody"), 404)
    refused = problem(call(server, "DELETE", "/api/customers/1"), 405)
    assert refused["detail"]
    assert call(server, "DELETE", "/api/customers/1").headers["Allow"] == "GET, HEAD, PATCH"


def test_every_instance_shows_a_new_customer_without_waiting_for_its_cache(
    server: RunningServer, other_instance: RunningServer
) -> None:
    assert names(other_instance, "Glacier Sync") == []  # its table is built before the customer exists
    reply = send(server, "PUT", "/api/customers/external/crm-glacier", {**ACME, "name": "Glacier Sync"})
    assert reply.status == 201
    deadline = time.monotonic() + 10  # the cache is kept for 600 s: only the notification can bring it
    while names(other_instance, "Glacier Sync") != ["Glacier Sync"]:
        assert time.monotonic() < deadline, "the other instance never heard of the new customer"
        time.sleep(0.2)
    send(server, "PUT", "/api/customers/external/crm-glacier", {"name": "Glacier Sync Renamed"})
    while names(other_instance, "Glacier Sync") != ["Glacier Sync Renamed"]:
        assert time.monotonic() < deadline + 10, "the other instance never heard of the change"
        time.sleep(0.2)
