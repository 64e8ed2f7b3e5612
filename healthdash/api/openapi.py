"""The OpenAPI 3.1 document, generated from the models the handlers validate and answer with."""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model
from pydantic.json_schema import models_json_schema

from healthdash.api import models as m

REF = "#/components/schemas/{model}"
_ERRORS = {
    400: "malformed JSON",
    401: "a write without a valid bearer token",
    404: "unknown customer, a non-integer id, or no such endpoint",
    405: "wrong method",
    409: "the ticket is already closed or the invoice already paid",
    413: "a body over 64 KiB",
    415: "a write that is not application/json",
    422: "invalid body or parameters; `errors` names each field",
    503: "the database is unavailable (with Retry-After)",
}


def _event_variants() -> list[type[BaseModel]]:
    variants: list[type[BaseModel]] = []
    for event_type, data_model in m.EVENT_DATA.items():
        name = "".join(part.title() for part in event_type.split("_")) + "Event"
        data_default: Any = (
            ... if data_model.model_fields and any(f.is_required() for f in data_model.model_fields.values()) else None
        )
        occurred = m.EventBody.model_fields["occurred_at"]
        fields: dict[str, Any] = {
            "type": (Literal[event_type], ...),
            "occurred_at": (occurred.annotation, occurred),
            "data": (data_model | None if data_default is None else data_model, Field(default=data_default)),
        }
        variants.append(create_model(name, __config__=m.Strict.model_config, **fields))
    return variants


def _parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    return [
        {"name": name, "in": "query", "required": False, "schema": prop, "description": prop.get("description", "")}
        for name, prop in schema["properties"].items()
    ]


def _response(description: str, model: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}}}


def _errors(*codes: int) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": REF.format(model="ProblemDetail")}}}
    result: dict[str, Any] = {}
    for code in codes:
        entry: dict[str, Any] = {"description": _ERRORS[code], "content": problem}
        if code == 503:
            entry["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds to wait"}}
        if code == 401:
            entry["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        if code == 405:
            entry["headers"] = {"Allow": {"schema": {"type": "string"}}}
        result[str(code)] = entry
    return result


_CUSTOMER_ID = {
    "name": "customer_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 999999999999999999},
}


@functools.cache
def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI document of every endpoint."""
    variants = _event_variants()
    response_models: list[type[BaseModel]] = [
        m.Dashboard,
        m.CustomerList,
        m.CustomerHealth,
        m.EventCreated,
        m.StoredEvent,
        m.Healthz,
        m.ProblemDetail,
    ]
    _, schemas = models_json_schema(
        [(model, "serialization") for model in response_models] + [(v, "validation") for v in variants],
        ref_template=REF,
    )
    event_body = {
        "oneOf": [{"$ref": REF.format(model=v.__name__)} for v in variants],
        "discriminator": {
            "propertyName": "type",
            "mapping": {t: REF.format(model=v.__name__) for t, v in zip(m.EVENT_DATA, variants, strict=True)},
        },
    }
    paths: dict[str, Any] = {
        "/api/dashboard": {
            "get": {
                "summary": "Dashboard summary: tier counts, averages, the most at-risk customers, distribution",
                "operationId": "getDashboard",
                "parameters": _parameters(m.AsOfQuery),
                "responses": {"200": _response("the summary", "Dashboard"), **_errors(405, 422, 503)},
            }
        },
        "/api/customers": {
            "get": {
                "summary": "Customers with score, tier and trend; filtered, sorted and paged",
                "operationId": "listCustomers",
                "parameters": _parameters(m.CustomerListQuery),
                "responses": {"200": _response("a page of customers", "CustomerList"), **_errors(405, 422, 503)},
            }
        },
        "/api/customers/{customer_id}/health": {
            "get": {
                "summary": "One customer's score, factor breakdown with explanations, trend and evidence",
                "operationId": "getCustomerHealth",
                "parameters": [_CUSTOMER_ID, *_parameters(m.HealthQuery)],
                "responses": {"200": _response("the health", "CustomerHealth"), **_errors(404, 405, 422, 503)},
            }
        },
        "/api/customers/{customer_id}/events": {
            "post": {
                "summary": "Record one event; ticket and invoice events update their records in the same transaction",
                "operationId": "recordEvent",
                "security": [{"bearer": []}],
                "parameters": [_CUSTOMER_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": event_body}}},
                "responses": {
                    "201": {
                        **_response("the stored event and the customer's updated score", "EventCreated"),
                        "headers": {"Location": {"schema": {"type": "string"}, "description": "the event's URL"}},
                    },
                    **_errors(400, 401, 404, 405, 409, 413, 415, 422, 503),
                },
            }
        },
        "/api/customers/{customer_id}/events/{event_id}": {
            "get": {
                "summary": "One recorded event",
                "operationId": "getEvent",
                "parameters": [
                    _CUSTOMER_ID,
                    {**_CUSTOMER_ID, "name": "event_id"},
                    *_parameters(m.AsOfQuery),
                ],
                "responses": {"200": _response("the event", "StoredEvent"), **_errors(404, 405, 422, 503)},
            }
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "getOpenApi",
                "responses": {"200": {"description": "the OpenAPI document", "content": {"application/json": {}}}},
            }
        },
        "/api/healthz": {
            "get": {
                "summary": "200 when the database answers, 503 otherwise",
                "operationId": "getHealthz",
                "parameters": _parameters(m.AsOfQuery),
                "responses": {"200": _response("the database answers", "Healthz"), **_errors(405, 422, 503)},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "healthdash",
            "version": "0.1.0",
            "description": "Customer health scores with their explanation. Reads are open; writes need a bearer "
            "token. Errors are application/problem+json.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
