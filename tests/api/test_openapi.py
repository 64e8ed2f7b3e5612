"""The OpenAPI document: version 3.1, every route of the server in it, and the contract's names in its schemas."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from tornado.web import RequestHandler

from healthdash.api.handlers import NotFoundHandler
from healthdash.api.routes import default_handlers
from tests.api.client import HEALTH_FIELDS, get
from tests.servers import RunningServer

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document(server: RunningServer) -> dict[str, Any]:
    answer: dict[str, Any] = get(server, "/api/openapi.json")
    return answer


def route_of(path: str) -> str:
    """Return the route pattern a documented path corresponds to (`{name}` matches one path segment)."""
    return re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(path)).replace("\\-", "-").replace("\\_", "_")


def implemented(handler: type[RequestHandler]) -> set[str]:
    return {m for m in METHODS if getattr(handler, m) is not getattr(RequestHandler, m)}


def test_the_document_is_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"] == "healthdash"
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def test_every_route_is_documented_with_its_methods(document: dict[str, Any]) -> None:
    documented = {route_of(path): set(operations) for path, operations in document["paths"].items()}
    endpoints = [(pattern, handler) for pattern, handler in default_handlers if handler is not NotFoundHandler]
    assert len(endpoints) >= 7
    for pattern, handler in endpoints:
        assert pattern in documented, f"{pattern} ({handler.__name__}) is missing from the OpenAPI document"
        assert documented[pattern] == implemented(handler), pattern
    assert set(documented) == {pattern for pattern, _ in endpoints}, "the document names a route the server lacks"


def test_every_operation_documents_its_errors_as_problems(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["operationId"] and operation["summary"]
            statuses = set(operation["responses"])
            if path != "/api/openapi.json":
                # the scoring configuration and who is asking are answered from memory
                needs_database = path not in ("/api/scoring", "/api/me")
                assert ({"405", "503"} if needs_database else {"405"}) <= statuses, (method, path)
                assert "422" in statuses or not operation.get("parameters"), (method, path)
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert set(response["content"]) == {"application/problem+json"}, (method, path, status)
    write = document["paths"]["/api/customers/{customer_id}/events"]["post"]
    assert {"400", "401", "404", "409", "413", "415", "422", "503"} <= set(write["responses"])
    assert write["security"] == [{"bearer": []}]
    assert "Location" in write["responses"]["201"]["headers"]
    assert "Retry-After" in write["responses"]["503"]["headers"]
    assert "Allow" in write["responses"]["405"]["headers"]


def test_the_contract_field_names_are_in_the_schemas(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    def fields(name: str) -> set[str]:
        return set(schemas[name]["properties"])

    assert {"as_of", "customer_count", "average_score", "tiers", "top_at_risk", "factor_averages", "distribution"} <= (
        fields("Dashboard")
    )
    assert fields("AtRiskCustomer") >= {"id", "name", "score", "tier", "main_reason"}
    assert fields("Bucket") == {"from", "to", "count"}
    assert fields("CustomerList") >= {"customers", "total", "limit", "offset", "as_of"}
    assert fields("CustomerRow") >= {"id", "name", "segment", "plan", "score", "tier", "trend"}
    assert fields("CustomerHealth") >= HEALTH_FIELDS
    assert fields("Trend") == {"previous_score", "delta"}
    assert fields("FactorBreakdown") >= {
        "key",
        "label",
        "weight",
        "score",
        "points",
        "points_lost",
        "raw",
        "explanation",
    }
    assert fields("EventCreated") == {"event", "health"}
    assert fields("HealthSummary") == {"score", "tier"}
    assert fields("ProblemDetail") >= {"type", "title", "status", "detail", "errors"}
    tier = schemas["CustomerRow"]["properties"]["tier"]
    assert set(tier["enum"]) == {"healthy", "at_risk", "critical", "insufficient_data"}
    factor_key = schemas["FactorBreakdown"]["properties"]["key"]
    assert set(factor_key["enum"]) == {
        "login_frequency",
        "feature_adoption",
        "ticket_volume",
        "invoice_timeliness",
        "api_usage",
    }


def test_each_event_type_has_its_body(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    body = document["paths"]["/api/customers/{customer_id}/events"]["post"]["requestBody"]["content"]
    mapping = body["application/json"]["schema"]["discriminator"]["mapping"]
    assert set(mapping) == {
        "login",
        "feature_use",
        "api_call",
        "ticket_opened",
        "ticket_closed",
        "invoice_issued",
        "invoice_paid",
        "churned",
        "renewed",
        "arr_changed",
    }
    data = {
        kind: schemas[ref.rsplit("/", 1)[1]]["properties"]["data"]["$ref"].rsplit("/", 1)[1]
        for kind, ref in mapping.items()
    }
    required = {kind: set(schemas[name].get("required", [])) for kind, name in data.items()}
    assert required == {
        "login": set(),
        "feature_use": {"feature"},
        "api_call": {"count"},
        "ticket_opened": {"priority", "subject"},
        "ticket_closed": {"ticket_id"},
        "invoice_issued": {"amount", "due_at"},
        "invoice_paid": {"invoice_id"},
        "churned": {"reason"},
        "renewed": {"renewal_date"},
        "arr_changed": {"arr"},
    }
    assert all(schemas[name]["additionalProperties"] is False for name in data.values())
    priority = schemas["TicketOpenedData"]["properties"]["priority"]
    assert priority["enum"] == ["low", "medium", "high", "urgent"]


def test_the_feature_catalogue_is_listed_as_it_is(document: dict[str, Any], database_url: str) -> None:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            catalogue = [row[0] for row in conn.execute(text("SELECT key FROM features ORDER BY bit"))]
    finally:
        engine.dispose()
    assert catalogue
    assert document["components"]["schemas"]["FeatureUseData"]["properties"]["feature"]["enum"] == catalogue


def test_the_as_of_parameter_is_described_alike_everywhere(document: dict[str, Any]) -> None:
    as_of = [
        parameter["schema"]
        for operations in document["paths"].values()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "as_of"
    ]
    assert len(as_of) == 10
    assert all(schema == as_of[0] for schema in as_of)
    assert [branch["format"] for branch in as_of[0]["anyOf"]] == ["date", "date-time"]
