"""The REST API's request handlers: parse and validate, call the service, serialise."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any, TypeVar

import sqlalchemy.exc
from pydantic import BaseModel, ValidationError
from tornado.web import HTTPError, RequestHandler

from healthdash.api import jsonio, views
from healthdash.api.context import ApiContext
from healthdash.api.models import EVENT_DATA, AsOfQuery, CustomerListQuery, EventBody, HealthQuery
from healthdash.api.problem import Problem
from healthdash.clock import AsOfError, resolve_as_of, utc_now
from healthdash.db.writes import EventRejected

M = TypeVar("M", bound=BaseModel)
MAX_BODY = 64 * 1024
MAX_FUTURE = dt.timedelta(minutes=5)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
log = logging.getLogger("healthdash.api")


class ApiHandler(RequestHandler):
    """JSON in, JSON out, every error as application/problem+json."""

    def initialize(self, api: ApiContext) -> None:
        self.api = api

    def check_xsrf_cookie(self) -> None:
        """Writes are authorised by bearer token, not cookies: there is no cross-site cookie to forge."""

    def prepare(self) -> None:
        length = self.request.headers.get("Content-Length")
        if (length and length.isdigit() and int(length) > MAX_BODY) or len(self.request.body or b"") > MAX_BODY:
            raise Problem(413, f"the body is larger than {MAX_BODY // 1024} KiB")

    def send(self, body: Any, status: int = 200) -> None:
        """Write a JSON response (bytes are sent as they are)."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(body if isinstance(body, bytes) else jsonio.dumps(body))

    def query(self, model: type[M]) -> M:
        """Validate the query string against a model (422 naming each bad parameter)."""
        values: dict[str, str] = {}
        for name, given in self.request.query_arguments.items():
            if len(given) > 1:
                raise Problem(422, f"query parameter {name!r} is given more than once", errors=[_error(name)])
            values[name] = given[0].decode("utf-8", errors="replace")
        return validate(model, values, "query")

    def as_of(self, text: str | None) -> dt.datetime:
        try:
            return resolve_as_of(text)
        except AsOfError as exc:
            raise Problem(422, str(exc), errors=[{"field": "as_of", "message": str(exc)}]) from None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        problem = _problem(status_code, kwargs.get("exc_info"))
        if problem.status == 405:
            allowed = [
                m for m in ("GET", "POST") if getattr(type(self), m.lower()) is not getattr(RequestHandler, m.lower())
            ]
            problem.headers["Allow"] = ", ".join(allowed)
        self.clear()
        self.set_status(problem.status)
        for name, value in problem.headers.items():
            self.set_header(name, value)
        self.set_header("Content-Type", "application/problem+json")
        self.finish(jsonio.dumps(problem.document()))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, Problem | HTTPError) or _is_database_outage(value):
            log.info("%s %s -> %s", self.request.method, self.request.uri, value)
        else:
            super().log_exception(typ, value, tb)


class DashboardHandler(ApiHandler):
    async def get(self) -> None:
        """Get the dashboard summary."""
        params = self.query(AsOfQuery)
        as_of = self.as_of(params.as_of) if params.as_of else None
        snapshot = await (self.api.board.at(as_of) if as_of else self.api.board.current())
        self.send(snapshot.view(("dashboard", params.as_of), lambda: views.dashboard_body(snapshot, as_of)))


class CustomerListHandler(ApiHandler):
    async def get(self) -> None:
        """Get a filtered, sorted page of customers."""
        params = self.query(CustomerListQuery)
        as_of = self.as_of(params.as_of) if params.as_of else None
        snapshot = await (self.api.board.at(as_of) if as_of else self.api.board.current())
        key = ("list", *params.model_dump().values())
        self.send(snapshot.view(key, lambda: views.list_body(snapshot, params, as_of)))


class CustomerHealthHandler(ApiHandler):
    async def get(self, customer_id: str) -> None:
        """Get one customer's health, its breakdown and the evidence."""
        cid = customer_id_from_path(customer_id)
        params = self.query(HealthQuery)
        as_of = self.as_of(params.as_of)
        health = await self.api.run(
            self.api.service.customer_health, cid, as_of, params.events_limit, params.events_offset
        )
        if health is None:
            raise Problem(404, f"there is no customer with id {cid}")
        self.send(health)


class CustomerEventsHandler(ApiHandler):
    async def post(self, customer_id: str) -> None:
        """Record one event for a customer."""
        self.require_token()
        self.require_json()
        cid = customer_id_from_path(customer_id)
        body = validate(EventBody, self.json_body(), "body")
        data = validate(EVENT_DATA[body.type], body.data, "body", prefix=("data",))
        occurred_at = occurrence(body.occurred_at)
        try:
            outcome = await self.api.run(
                self.api.service.record_event, cid, body.type, occurred_at, data.model_dump(exclude_none=True)
            )
        except EventRejected as exc:
            raise Problem(exc.status, str(exc), errors=[{"field": exc.field, "message": str(exc)}]) from None
        if outcome is None:
            raise Problem(404, f"there is no customer with id {cid}")
        self.api.board.mark_changed([cid])
        event, health = outcome
        self.set_header("Location", f"/api/customers/{cid}/events/{event['id']}")
        self.send({"event": event, "health": health}, status=201)

    def require_token(self) -> None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or not self.api.token_is_valid(token.strip()):
            detail = "this write needs a valid token: send 'Authorization: Bearer <token>'"
            raise Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="healthdash"'})

    def require_json(self) -> None:
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise Problem(415, f"send the event as application/json, not {content_type or 'no content type'}")

    def json_body(self) -> Any:
        try:
            return jsonio.parse_body(self.request.body)
        except jsonio.JSONBodyError as exc:
            raise Problem(400, str(exc)) from None


class CustomerEventHandler(ApiHandler):
    async def get(self, customer_id: str, event_id: str) -> None:
        """Get one recorded event."""
        cid = customer_id_from_path(customer_id)
        eid = customer_id_from_path(event_id, "event")
        self.query(AsOfQuery)
        event = await self.api.run(self.api.service.event, cid, eid)
        if event is None:
            raise Problem(404, f"customer {cid} has no event {eid}")
        self.send(event)


class HealthzHandler(ApiHandler):
    async def get(self) -> None:
        """Answer 200 when the database answers, 503 otherwise."""
        self.query(AsOfQuery)
        await self.api.run(self.api.service.ping)
        self.send({"status": "ok"})


class OpenApiHandler(ApiHandler):
    def get(self) -> None:
        """Get the OpenAPI document of this API."""
        from healthdash.api.openapi import openapi_document

        self.send(openapi_document())


class NotFoundHandler(ApiHandler):
    def prepare(self) -> None:
        raise Problem(404, f"there is no API endpoint at {self.request.path}")


def customer_id_from_path(text: str, what: str = "customer") -> int:
    """Parse an id from the path: a positive whole number, else 404."""
    if not text.isascii() or not text.isdigit() or len(text) > 18 or int(text) < 1:
        raise Problem(404, f"there is no {what} with id {text!r}: ids are positive whole numbers")
    return int(text)


def occurrence(value: dt.datetime | None) -> dt.datetime:
    """Return when an event occurred (default now, naive means UTC), refusing the far future and distant past."""
    now = utc_now()
    if value is None:
        return now
    when = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if when > now + MAX_FUTURE:
        detail = "occurred_at is more than 5 minutes in the future"
        raise Problem(422, detail, errors=[{"field": "occurred_at", "message": detail}])
    if when < EARLIEST:
        detail = "occurred_at is before 2000-01-01"
        raise Problem(422, detail, errors=[{"field": "occurred_at", "message": detail}])
    return when


def validate(model: type[M], values: Any, where: str, prefix: tuple[str, ...] = ()) -> M:
    """Validate values against a model; 422 listing each invalid field."""
    if where == "body" and not isinstance(values, Mapping):
        raise Problem(422, "the body must be a JSON object", errors=[{"field": ".".join(prefix) or "body"}])
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in (*prefix, *e["loc"])) or where, "message": e["msg"]}
            for e in exc.errors(include_url=False)
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise Problem(
            422, f"invalid {'query parameters' if where == 'query' else 'body'}: {detail}", errors=errors
        ) from None


def _error(field: str) -> dict[str, str]:
    return {"field": field, "message": "given more than once"}


def _is_database_outage(exc: BaseException | None) -> bool:
    return isinstance(
        exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError | sqlalchemy.exc.TimeoutError
    ) or (isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated)


def _problem(status_code: int, exc_info: Any) -> Problem:
    exc = exc_info[1] if exc_info else None
    if isinstance(exc, Problem):
        return exc
    if _is_database_outage(exc):
        return Problem(503, "the database is not answering; try again shortly", headers={"Retry-After": "5"})
    if isinstance(exc, HTTPError):
        if exc.status_code == 405:
            return Problem(405, "this method is not allowed here")
        return Problem(exc.status_code, exc.log_message or "the request cannot be served")
    return Problem(500, "an internal error occurred; it has been logged")
