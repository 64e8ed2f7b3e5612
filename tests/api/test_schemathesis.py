"""Schemathesis against the running server's own OpenAPI document, with every check it has.

Each operation gets a bounded number of generated requests (valid and invalid ones, boundary values, wrong methods,
missing token). Path ids are drawn from real customers most of the time, so the success answers are checked too.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis

from tests.api.client import get
from tests.api.roster import Roster
from tests.servers import RunningServer

PRIVATE_DATABASE = True  # generated requests record events for the roster

EXAMPLES_PER_OPERATION = 25
WRITES = ("recordEvent", "recordEventBatch", "putCustomerByExternalId")
# Rules of a valid write that depend on the clock or on stored rows, which no schema can state (the document's 422
# descriptions name them): a schema-valid write may be refused for these fields, and for no other. In a batch the
# fields are those of each event, `events[i].<field>`.
STATEFUL_FIELDS = {"occurred_at", "data.due_at", "data.ticket_id", "data.invoice_id", "customer_id", "Idempotency-Key"}
# Rules between two parameters, which the documents' descriptions state and report on the query as a whole: a range
# of days (`from`, `to`) is refused when `from` is after `to` or it spans more than 730 days, a backtest's lead when
# longer than its horizon; the list's history
# columns (`sort=change_7`, `tier_fell_within`) are refused with an `as_of`.
RANGES = ("getCustomerHistory", "getCustomerChanges", "listCustomers", "getBacktest")
# A customer created by its CRM id needs its whole profile; one that exists needs none of it (the document says so).
NEW_CUSTOMER_FIELDS = {"name", "segment", "plan", "seats"}
ACCEPTED_FOR_VALID_DATA = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis' default
statuses: collections.Counter[tuple[str, int]] = collections.Counter()


@pytest.fixture(scope="module")
def api_schema(server: RunningServer, roster: Roster) -> Any:
    customers = {"dictionary": "customers", "probability": 0.8}
    config = schemathesis.Config.from_dict(
        {
            "auth": {"openapi": {"bearer": {"bearer": server.token}}},
            "generation": {"max-examples": EXAMPLES_PER_OPERATION},
            "dictionaries": {"customers": {"values": sorted(roster.ids.values())}},
            "parameters": {"path.customer_id": customers, "body.events[*].customer_id": customers},
            "operations": [
                {
                    "include-operation-id": operation,
                    "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED_FOR_VALID_DATA, "422"]}},
                }
                for operation in (*WRITES, *RANGES)
            ],
        }
    )
    return schemathesis.openapi.from_url(f"{server.url}/api/openapi.json", config=config, headers=server.authorization)


@pytest.fixture(autouse=True)
def node_id_for_schemathesis(request: pytest.FixtureRequest) -> Iterator[None]:
    """Give the test item the `_nodeid` schemathesis' fixture-based loader reads (pytest 9 no longer sets it)."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    yield


def refused_only_for_stateful_rules(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A schema-valid write answered 422 must blame only fields whose rules depend on the clock or stored rows."""
    statuses[(case.operation.label, response.status_code)] += 1
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return
    fields = {re.sub(r"^events\[\d+\]\.", "", error["field"]) for error in response.json().get("errors", [])}
    operation = case.operation.definition.raw.get("operationId")
    allowed = {"query"} if operation in RANGES else STATEFUL_FIELDS
    if operation == "putCustomerByExternalId":
        allowed = NEW_CUSTOMER_FIELDS
    assert fields and fields <= allowed, f"a schema-valid request was refused for {sorted(fields)}"


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_the_api_keeps_its_documented_contract(case: schemathesis.Case) -> None:
    case.call_and_validate(additional_checks=[refused_only_for_stateful_rules])


def test_the_generated_requests_reached_every_operation_and_succeeded(server: RunningServer) -> None:
    document = get(server, "/api/openapi.json")
    operations = {f"{method.upper()} {path}" for path, methods in document["paths"].items() for method in methods} - {
        "GET /api/openapi.json"
    }  # schemathesis leaves out the document it reads
    reached = {operation for operation, _ in statuses}
    assert reached == operations
    for operation in reached - {"GET /api/customers/{customer_id}/events/{event_id}"}:  # event ids are guessed
        assert any(200 <= status < 300 for op, status in statuses if op == operation), operation
    assert statuses[("POST /api/customers/{customer_id}/events", 201)] >= 5
    assert not [key for key in statuses if key[1] >= 500]
