"""The OpenAPI 3.1 document, generated from the models the handlers validate and answer with."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from healthdash.api.models import customers, events, query, responses
from healthdash.api.models.values import FUTURE_MINUTES
from healthdash.vocabulary import MAX_BATCH, MAX_ID, MAX_IDEMPOTENCY_KEY_LENGTH

REF = "#/components/schemas/{model}"
_ERRORS = {
    400: "malformed JSON",
    401: "no signed-in session (for reads) and no valid bearer token",
    403: "a role that may not do this (viewers read, csm also record events, admins also read the audit log)",
    404: "unknown customer, a non-integer id, or no such endpoint",
    405: "wrong method",
    406: "an Accept header that asks for none of the media types the endpoint answers in",
    409: "the ticket is already closed or the invoice already paid",
    413: "a body over 64 KiB",
    415: "a write that is not application/json",
    422: "invalid body or parameters; `errors` names each field at fault",
    503: "the database is unavailable (with Retry-After)",
}
_EVENT_422 = (
    "invalid body; `errors` names each field at fault. Besides the schema, a body is checked against the clock and "
    f"the stored data: `occurred_at` at most {FUTURE_MINUTES} minutes in the future; `data.ticket_id` an open "
    "ticket and `data.invoice_id` an unpaid invoice of this customer, not older than the event; `data.due_at` not "
    "before the issue date; `data.feature` a key of the catalogue"
)


def _parameters(model: type[BaseModel], **descriptions: str) -> list[dict[str, Any]]:
    schema = _without_null_defaults(model.model_json_schema(ref_template=REF))
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": prop,
            "description": descriptions.get(name, prop.get("description", "")),
        }
        for name, prop in schema["properties"].items()
    ]


def _without_null_defaults(schema: Any) -> Any:
    """Drop `default: null` of optional fields: leaving a field out is how a client asks for the default."""
    if isinstance(schema, dict):
        return {k: _without_null_defaults(v) for k, v in schema.items() if not (k == "default" and v is None)}
    if isinstance(schema, list):
        return [_without_null_defaults(v) for v in schema]
    return schema


def _response(description: str, model: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}}}


def _body(model: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}}}


_DUPLICATE = "another customer has this external_id"


def _errors(*codes: int, **descriptions: str) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": REF.format(model="ProblemDetail")}}}
    result: dict[str, Any] = {}
    for code in codes:
        entry: dict[str, Any] = {"description": descriptions.get(f"e{code}", _ERRORS[code]), "content": problem}
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
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}


_BATCH = (
    "Each event is an event body as for one customer (the same types, `data` and `occurred_at` rules) plus its "
    "`customer_id`. The batch is stored in one transaction: if any event is invalid nothing is stored, and the 422 "
    "names the event and field at fault (`events[3].data.count`). Ticket and invoice events update their records "
    "in batch order, as single events do. The dashboard and the customer list show a batch within seconds (single "
    "events show at once). With an `Idempotency-Key`, a retried batch is stored once: the same key with the same "
    "batch gets the first answer again (with `Idempotent-Replayed: true`); keys are kept for a day."
)
_BATCH_422 = (
    "invalid batch; `errors` names each field at fault as `events[i].field`: more than "
    f"{MAX_BATCH:,} events or none, an invalid event, an unknown customer or feature, a ticket or invoice event that "
    "contradicts the stored data; or an `Idempotency-Key` that came with another batch before"
)
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH, "pattern": "^[!-~]+$"},
    "description": "any unique string (a UUID); a batch retried with the same key is stored only once",
}
_SCORES = (
    "Every customer's profile, tier, main reason, score (to 0.1), coverage, previous score and trend, and each "
    "factor's score and points, from the same table the dashboard and the customer list read, in id order. With "
    "`Accept: text/csv` the answer is CSV instead: a header line, then one line per customer with the columns "
    f"{', '.join(f'`{c}`' for c in responses.SCORES_CSV_COLUMNS)}; a factor's score is in the column named by its "
    "key, its points in `<key>_points`, the points it loses in `<key>_lost`; an empty cell is a null. Text that a "
    "spreadsheet would run as a formula (it starts with = + - @, a tab or a carriage return, after any apostrophes) "
    "has one apostrophe more in front. `As-Of` names the moment the scores are for."
)
_HISTORY = (
    "The customer's score as of the end of each closed UTC day from `from` to `to` (default: the last "
    f"{query.HISTORY_DAYS} closed days; at most {query.MAX_RANGE_DAYS} days), oldest first, with its tier, coverage "
    "and each factor's score, from the day the customer existed; and each day in the range on which the scoring "
    "configuration changed, with the settings that changed."
)
_CHANGES = (
    f"The customer's score at the end of `from` and at the end of `to` (default: {query.CHANGES_DAYS} days ago to "
    "today), each under the scoring configuration of its day, with the tiers, and one line per factor: its raw "
    'signals then and now, its score then and now, the points it moved the score and a sentence ("Active login '
    'days fell from 14 to 3: -17.2 points"). A change of configuration or of coverage between the two days is a line '
    "of its own. The lines add up to `movement` and come largest first."
)
_RANGE_422 = (
    "invalid parameters: a date that is not a day of the years 2000 to 2199, `from` after `to`, or a range of more "
    f"than {query.MAX_RANGE_DAYS} days"
)
_CUSTOMER_422 = (
    "invalid body; `errors` names each field at fault: an unknown field, a segment, plan or region outside the "
    "vocabulary, a negative ARR or one with more than two decimals, a blank name, seats outside 1 to 1,000,000"
)
_PUT_CUSTOMER = (
    "What a CRM sync calls: creates the customer with this `external_id` (201 with Location; `name`, `segment`, "
    "`plan` and `seats` are then required) or changes the fields given of the one there is (200). Fields left out "
    "keep their stored values. The same body twice changes nothing the second time. The dashboard and the list "
    "show the customer at once, and every instance within a second."
)
_EXTERNAL_ID = {
    "name": "external_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
    "description": "the customer's id in the CRM (URL-encoded)",
}
_BACKTEST = (
    "For every customer scored and active (not churned) on a day D of the range, from the score history: was it "
    "flagged (tier at_risk or critical) at D, and did it churn (its first `churned` event) in (D, D + horizon]? Over "
    "all those customer-days: the confusion table, precision, recall, the base churn rate, the lift (precision over "
    "the base rate), the ROC AUC of the score and its curve, the churn rate per 10-point score band, each also "
    "weighted by ARR where it applies; per churned customer, the days between its first flag within the horizon "
    "and its churn (their median) and whether it was flagged `lead` days ahead or more (the share of churners and "
    "of churned ARR); per factor, the AUC of its score alone. Day D is judged by its history row alone: nothing "
    "recorded after D changes its flag. docs/scoring.md gives the formulas with a worked example."
)
_IGNORED_AS_OF = "accepted like everywhere else (a date or a timestamp with its offset) and checked; no effect here"


@functools.lru_cache(maxsize=8)
def openapi_document(features: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Return the OpenAPI document of every endpoint, listing the feature catalogue's keys when given."""
    response_models: list[type[BaseModel]] = [
        responses.Dashboard,
        responses.CustomerList,
        responses.CustomerHealth,
        responses.EventCreated,
        responses.BatchRecorded,
        responses.Scores,
        responses.ScoringSettings,
        responses.StoredEvent,
        responses.Healthz,
        responses.ProblemDetail,
        responses.ScoreHistory,
        responses.ScoreChanges,
        responses.Me,
        responses.AuditLog,
        responses.Backtest,
    ]
    request_models: list[type[BaseModel]] = [
        *events.EVENT_MODELS,
        events.EventBatch,
        customers.NewCustomer,
        customers.CustomerChange,
        customers.CustomerByExternalId,
    ]
    _, schemas = models_json_schema(
        [(model, "serialization") for model in response_models] + [(v, "validation") for v in request_models],
        ref_template=REF,
    )
    components = _without_null_defaults(schemas["$defs"])
    if features:
        components["FeatureUseData"]["properties"]["feature"]["enum"] = list(features)
    event_body = {
        "oneOf": [{"$ref": REF.format(model=v.__name__)} for v in events.EVENT_MODELS],
        "discriminator": {
            "propertyName": "type",
            "mapping": {events.event_type(v): REF.format(model=v.__name__) for v in events.EVENT_MODELS},
        },
    }
    paths: dict[str, Any] = {
        "/api/dashboard": {
            "get": {
                "summary": "Dashboard summary: tier counts, averages, the most at-risk customers, distribution",
                "operationId": "getDashboard",
                "parameters": _parameters(query.DashboardQuery),
                "responses": {"200": _response("the summary", "Dashboard"), **_errors(405, 422, 503)},
            }
        },
        "/api/customers": {
            "get": {
                "summary": "Customers with score, tier and trend; filtered, sorted and paged",
                "operationId": "listCustomers",
                "parameters": _parameters(query.CustomerListQuery),
                "responses": {"200": _response("a page of customers", "CustomerList"), **_errors(405, 422, 503)},
            },
            "post": {
                "summary": "Create a customer; it shows in the dashboard and the list at once",
                "operationId": "createCustomer",
                "security": [{"bearer": []}],
                "requestBody": _body("NewCustomer"),
                "responses": {
                    "201": {
                        **_response("the customer's profile", "Profile"),
                        "headers": {"Location": {"schema": {"type": "string"}, "description": "the customer's URL"}},
                    },
                    **_errors(400, 401, 405, 409, 413, 415, 422, 503, e409=_DUPLICATE, e422=_CUSTOMER_422),
                },
            },
        },
        "/api/customers/{customer_id}": {
            "get": {
                "summary": "One customer's profile",
                "operationId": "getCustomer",
                "parameters": [_CUSTOMER_ID, *_parameters(query.AsOfQuery, as_of=_IGNORED_AS_OF)],
                "responses": {"200": _response("the profile", "Profile"), **_errors(404, 405, 422, 503)},
            },
            "patch": {
                "summary": "Change the fields given of a customer; null clears owner, renewal_date or external_id",
                "operationId": "updateCustomer",
                "security": [{"bearer": []}],
                "parameters": [_CUSTOMER_ID],
                "requestBody": _body("CustomerChange"),
                "responses": {
                    "200": _response("the profile", "Profile"),
                    **_errors(400, 401, 404, 405, 409, 413, 415, 422, 503, e409=_DUPLICATE, e422=_CUSTOMER_422),
                },
            },
        },
        "/api/customers/external/{external_id}": {
            "get": {
                "summary": "The profile of the customer with a CRM id",
                "operationId": "getCustomerByExternalId",
                "parameters": [_EXTERNAL_ID, *_parameters(query.AsOfQuery, as_of=_IGNORED_AS_OF)],
                "responses": {"200": _response("the profile", "Profile"), **_errors(404, 405, 422, 503)},
            },
            "put": {
                "summary": "Create or update the customer with a CRM id (idempotent)",
                "description": _PUT_CUSTOMER,
                "operationId": "putCustomerByExternalId",
                "security": [{"bearer": []}],
                "parameters": [_EXTERNAL_ID],
                "requestBody": _body("CustomerByExternalId"),
                "responses": {
                    "200": _response("the profile, changed or not", "Profile"),
                    "201": {
                        **_response("the new customer's profile", "Profile"),
                        "headers": {"Location": {"schema": {"type": "string"}, "description": "the customer's URL"}},
                    },
                    **_errors(
                        400,
                        401,
                        404,
                        405,
                        413,
                        415,
                        422,
                        503,
                        e422=_CUSTOMER_422 + "; a new customer without name, segment, plan or seats",
                    ),
                },
            },
        },
        "/api/scores": {
            "get": {
                "summary": "Every customer's score, tier, coverage and factor scores and points, as JSON or CSV",
                "description": _SCORES,
                "operationId": "listScores",
                "parameters": _parameters(query.AsOfQuery),
                "responses": {
                    "200": {
                        "description": "every customer's scores",
                        "headers": {
                            "As-Of": {
                                "schema": {"type": "string", "format": "date-time"},
                                "description": "their moment",
                            }
                        },
                        "content": {
                            "application/json": {"schema": {"$ref": REF.format(model="Scores")}},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(405, 406, 422, 503),
                },
            }
        },
        "/api/scoring": {
            "get": {
                "summary": "The scoring configuration in use: weights, windows, targets and tier thresholds",
                "operationId": "getScoring",
                "parameters": _parameters(query.AsOfQuery, as_of=_IGNORED_AS_OF),
                "responses": {"200": _response("the configuration", "ScoringSettings"), **_errors(405, 422)},
            }
        },
        "/api/customers/{customer_id}/health": {
            "get": {
                "summary": "One customer's score, factor breakdown with explanations, trend and evidence",
                "operationId": "getCustomerHealth",
                "parameters": [_CUSTOMER_ID, *_parameters(query.HealthQuery)],
                "responses": {"200": _response("the health", "CustomerHealth"), **_errors(404, 405, 422, 503)},
            }
        },
        "/api/customers/{customer_id}/history": {
            "get": {
                "summary": "One customer's score for each closed day, with the scoring configuration changes",
                "description": _HISTORY,
                "operationId": "getCustomerHistory",
                "parameters": [
                    _CUSTOMER_ID,
                    *_parameters(query.HistoryQuery, to="the last day; default yesterday (the last closed day)"),
                ],
                "responses": {
                    "200": _response("the days and the configuration changes", "ScoreHistory"),
                    **_errors(404, 405, 422, 503, e422=_RANGE_422),
                },
            }
        },
        "/api/customers/{customer_id}/changes": {
            "get": {
                "summary": "What moved one customer's score between two days, factor by factor",
                "description": _CHANGES,
                "operationId": "getCustomerChanges",
                "parameters": [
                    _CUSTOMER_ID,
                    *_parameters(query.ChangesQuery, to="the last day; default today"),
                ],
                "responses": {
                    "200": _response("the scores then and now and the lines that explain the movement", "ScoreChanges"),
                    **_errors(404, 405, 422, 503, e422=_RANGE_422),
                },
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
                    **_errors(400, 401, 404, 405, 409, 413, 415, 422, 503, e422=_EVENT_422),
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
                    *_parameters(query.AsOfQuery, as_of=_IGNORED_AS_OF),
                ],
                "responses": {"200": _response("the event", "StoredEvent"), **_errors(404, 405, 422, 503)},
            }
        },
        "/api/events/batch": {
            "post": {
                "summary": f"Record up to {MAX_BATCH:,} events for any customers at once, all or nothing",
                "description": _BATCH,
                "operationId": "recordEventBatch",
                "security": [{"bearer": []}],
                "parameters": [_IDEMPOTENCY_KEY],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": REF.format(model="EventBatch")}}},
                },
                "responses": {
                    "201": {
                        **_response("how many events were stored, and their ids", "BatchRecorded"),
                        "headers": {
                            "Idempotent-Replayed": {
                                "schema": {"type": "string", "enum": ["true"]},
                                "description": "present when this is the stored answer to an earlier request",
                            }
                        },
                    },
                    **_errors(400, 401, 405, 409, 413, 415, 422, 503, e413="a body over 8 MiB", e422=_BATCH_422),
                },
            }
        },
        "/api/backtest": {
            "get": {
                "summary": "How well the score foretold churn: precision, recall, lift, AUC, calibration, lead days",
                "description": _BACKTEST,
                "operationId": "getBacktest",
                "parameters": _parameters(
                    query.BacktestQuery,
                    to="the last day judged; default the last day of history less the horizon",
                    **{"from": "the first day judged; default 179 days before `to`"},
                ),
                "responses": {
                    "200": _response("the range and its figures", "Backtest"),
                    **_errors(405, 422, 503, e422=_RANGE_422 + ", or a lead longer than the horizon"),
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "getOpenApi",
                "responses": {"200": {"description": "the OpenAPI document", "content": {"application/json": {}}}},
            }
        },
        "/api/me": {
            "get": {
                "summary": "Who the request is from: name, email and role",
                "operationId": "getMe",
                "parameters": _parameters(query.AsOfQuery, as_of=_IGNORED_AS_OF),
                "responses": {"200": _response("the person or token", "Me"), **_errors(405, 422)},
            }
        },
        "/api/audit": {
            "get": {
                "summary": "The audit log, newest first: sign-ins, sign-outs, people and token changes, every write",
                "description": "For admins. Filter by `user` (an actor, any case) and a time range (`since` "
                "included, `until` excluded); paged with `limit` and `offset`.",
                "operationId": "getAudit",
                "parameters": _parameters(query.AuditQuery),
                "responses": {"200": _response("a page of the audit log", "AuditLog"), **_errors(405, 422, 503)},
            }
        },
        "/api/healthz": {
            "get": {
                "summary": "200 when the database answers, 503 otherwise",
                "operationId": "getHealthz",
                "parameters": _parameters(query.AsOfQuery, as_of=_IGNORED_AS_OF),
                "responses": {"200": _response("the database answers", "Healthz"), **_errors(405, 422, 503)},
            }
        },
    }
    for path, operations in paths.items():
        if path == "/api/healthz":
            continue
        for method, operation in operations.items():
            operation["security"] = [{"bearer": []}] if method == "post" else [{"bearer": []}, {"session": []}]
            operation["responses"] = {**operation["responses"], **_errors(401, 403)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "healthdash",
            "version": "0.1.0",
            "description": "Customer health scores with their explanation. Every route but /api/healthz needs a "
            "signed-in session (reads only) or a bearer token; writes need a token of a csm or admin. Errors are "
            "application/problem+json.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "healthdash-session"},
            },
        },
    }
