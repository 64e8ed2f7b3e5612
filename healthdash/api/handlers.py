"""The REST API's request handlers: parse and validate, call the service, serialise."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np
import sqlalchemy.exc
from pydantic import BaseModel, ValidationError
from tornado.web import HTTPError, RequestHandler, stream_request_body

from healthdash.access import SESSION_COOKIE, Principal, ProxyRefused
from healthdash.api import jsonio, views
from healthdash.api.body import RequestBody, declared_length, size_text
from healthdash.api.context import ApiContext
from healthdash.api.etags import EntityTags
from healthdash.api.models.events import EVENT
from healthdash.api.models.query import (
    AsOfQuery,
    AuditQuery,
    BacktestQuery,
    ChangesQuery,
    CustomerListQuery,
    DashboardQuery,
    HealthQuery,
    HistoryQuery,
)
from healthdash.api.models.values import TEXT_PATTERN
from healthdash.api.negotiation import negotiated
from healthdash.api.openapi import openapi_document
from healthdash.api.problem import Problem, refused
from healthdash.clock import as_of_day, utc_now
from healthdash.recording import Author, EventRejected
from healthdash.security_headers import HEADERS as SECURITY_HEADERS
from healthdash.vocabulary import ACTIVITY_TYPES, MAX_ID

M = TypeVar("M", bound=BaseModel)
HEALTHZ_SECONDS = 2.5
BACKTEST_SHARE = 8  # a backtest reads the whole history and fits a model: the read deadline this many times over
TAGS = EntityTags()
ERRORS_LISTED = 100  # a 422 lists at most this many fields at fault (and says how many more there were)
DASHBOARD_DIGEST_WAIT = 1.0  # seconds the dashboard waits for a first read of the history before answering without
log = logging.getLogger("healthdash.api")


@stream_request_body
class ApiHandler(RequestHandler):
    """JSON in, JSON out, every error as application/problem+json.

    The body streams in (see `healthdash.api.body`): a request is judged on its headers first (`refusal`, the declared
    length), so that no body is read for a request that is refused anyway, and none is held beyond its limit.
    """

    public = False  # answers anyone (else: a signed-in person or a token, with the role `needs` names)
    needs = {"GET": "viewer", "HEAD": "viewer", "POST": "csm", "PUT": "csm", "PATCH": "csm"}
    WRITES: frozenset[str] = frozenset()  # the methods that write: they need a JSON body (and a token: `identify`)

    def initialize(self, api: ApiContext) -> None:
        self.api = api
        self.body = RequestBody(self.body_limit())
        self.refusal: Problem | None = None
        self.principal: Principal | None = None
        self.identity_refusal: Problem | None = None
        self.sent: bytes | None = None

    def body_limit(self) -> int:
        """Return the largest body this route accepts."""
        return self.api.limits.max_body_size

    def set_default_headers(self) -> None:
        self._headers.update(SECURITY_HEADERS)  # constants, checked once (security_headers): no conversion per request

    def check_xsrf_cookie(self) -> None:
        """Writes are authorised by bearer token, not cookies: there is no cross-site cookie to forge."""

    def refusal_by_headers(self) -> Problem | None:
        """Return why the request is refused on its headers alone, before any of its body is read (None: it is not)."""
        if self.request.method not in self.WRITES:
            return None  # a read, or refused as a method not allowed, whatever its headers
        return self.media_type_refusal()

    async def owned(self) -> tuple[int, ...]:
        """Return the ids of the customers the caller owns (none for a service's token)."""
        assert self.principal is not None
        return await self.api.owned(self.principal)

    @property
    def author(self) -> Author:
        """Who makes this request's write, and from where (for `recorded_by` and the audit log)."""
        actor = self.principal.actor if self.principal is not None else "-"
        return Author(actor, self.request.remote_ip)

    async def identify(self) -> None:
        """Find who the request is from: a session cookie or the proxy's header count for reads only (a write needs
        a bearer token)."""
        if self.public:
            return
        reading = self.request.method in ("GET", "HEAD")
        session = self.get_cookie(SESSION_COOKIE) if reading else None
        credentials = self.api.access.credentials(self.request.headers, session, self.request.remote_ip)
        if not reading:  # a write needs a token: neither a cookie nor the proxy's say-so, both a browser's to forge
            credentials = dataclasses.replace(credentials, proxy_user=None)
        try:
            self.principal = await self.api.access.identify(credentials)
        except ProxyRefused:
            self.identity_refusal = Problem(403, "the user header is accepted only from the trusted proxies")
            return
        method = self.request.method or "GET"
        implemented = getattr(type(self), method.lower(), None) is not getattr(RequestHandler, method.lower(), None)
        needed = self.needs.get(method)
        if self.principal is None:
            detail = "sign in, or send 'Authorization: Bearer <token>'"
            if not reading and (
                self.get_cookie(SESSION_COOKIE) or self.request.headers.get(self.api.access.proxy_header)
            ):
                detail = "a write needs 'Authorization: Bearer <token>': a signed-in browser only reads"
            self.identity_refusal = Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="healthdash"'})
        elif implemented and needed is not None and not self.principal.may(needed):
            detail = f"this needs the {needed} role; {self.principal.actor} has the {self.principal.role} role"
            self.identity_refusal = Problem(403, detail)

    def media_type_refusal(self) -> Problem | None:
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return Problem(415, f"send the body as application/json, not {content_type or 'no content type'}")
        return None

    def json_body(self) -> Any:
        body = self.body_bytes()
        try:
            return jsonio.parse_body(body)
        except jsonio.JSONBodyError as exc:
            raise Problem(400, str(exc)) from None

    async def prepare(self) -> None:
        await self.identify()
        declared = declared_length(self.request.headers.get("Content-Length"))
        refusal = self.identity_refusal or self.refusal_by_headers()
        if refusal is None and declared is not None and declared > self.body.limit:
            refusal = Problem(413, f"the body is larger than {size_text(self.body.limit)}")
        connection = self.request.connection
        budget = self.api.limits.drop_budget
        if refusal is None:
            connection.set_max_body_size(self.body.limit + budget)  # type: ignore[union-attr]
            return
        later = self.request.method in ("POST", "PUT", "PATCH") and declared is not None and declared <= budget
        if later and self.request.headers.get("Expect", "").lower() != "100-continue":
            self.refusal = refusal  # answered once the body is in: a client sending it then reads the answer
            connection.set_max_body_size(declared)  # type: ignore[union-attr]
            return
        # answered now, without a body; the connection closes after the answer, dropping what was sent meanwhile
        connection.set_max_body_size(max(declared or 0, self.body.limit + budget))  # type: ignore[union-attr]
        raise refusal

    def data_received(self, chunk: bytes) -> None:
        self.body.add(chunk)
        if self.body.too_large and self.refusal is None:
            self.refusal = Problem(413, f"the body is larger than {size_text(self.body.limit)}")

    def body_bytes(self) -> bytes:
        """Return the request's body, or raise the refusal decided before or while it arrived."""
        if self.refusal is not None:
            raise self.refusal
        return self.body.bytes()

    async def head(self, *args: str) -> None:
        """Answer HEAD as GET, without the body (Tornado leaves it out and keeps Content-Length)."""
        if type(self).get is RequestHandler.get:
            raise HTTPError(405)
        answered = self.get(*args)
        if answered is not None:
            await answered

    def send(self, body: Any, status: int = 200, content_type: str = "application/json; charset=UTF-8") -> None:
        """Write a JSON response (bytes are sent as they are, in the given content type)."""
        self.set_status(status)
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", "no-store")
        self.sent = body if isinstance(body, bytes) else jsonio.dumps(body)
        self.finish(self.sent)

    def compute_etag(self) -> str | None:
        """Tag a body sent as it is by identity (a kept answer is hashed once), any other as Tornado does."""
        if self.sent is not None and len(self._write_buffer) == 1 and self._write_buffer[0] is self.sent:
            return TAGS.tag(self.sent)
        return super().compute_etag()

    def check_etag_header(self) -> bool:
        """Whether the client holds this answer already (only a request with If-None-Match can)."""
        return "If-None-Match" in self.request.headers and super().check_etag_header()

    def query(self, model: type[M]) -> M:
        """Validate the query string against a model (422 naming each bad parameter)."""
        values: dict[str, str] = {}
        for name, given in self.request.query_arguments.items():
            if len(given) > 1:
                raise Problem(422, f"query parameter {name!r} is given more than once", errors=[_error(name)])
            values[name] = given[0].decode("utf-8", errors="replace")
        return validate(model, values)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        problem = _problem(status_code, kwargs.get("exc_info"))
        if problem.status == 405:
            allowed = [
                m
                for m in ("GET", "POST", "PUT", "PATCH")
                if getattr(type(self), m.lower()) is not getattr(RequestHandler, m.lower())
            ]
            allowed[1:1] = ["HEAD"] if "GET" in allowed else []
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
        params = self.query(DashboardQuery)
        as_of = params.as_of
        live = as_of is None or as_of_day(as_of) == as_of_day(utc_now())  # the movers are those of today
        if live:
            self.api.prepare_digest()  # read beside the scores' first build, not after it
        snapshot = await self.api.snapshot(as_of)
        digest = await self.api.digest(wait=DASHBOARD_DIGEST_WAIT) if live else None
        config = self.api.service.config
        owned = await self.owned() if params.scope == "mine" else None
        key = ("dashboard", as_of, params.status, digest.built if digest else None, owned)
        within = None if owned is None else np.isin(snapshot.scores.ids, owned)
        self.send(
            snapshot.view(key, lambda: views.dashboard_body(snapshot, as_of, digest, config, params.status, within))
        )


class CustomerListHandler(ApiHandler):
    async def get(self) -> None:
        """Get a filtered, sorted page of customers."""
        params = self.query(CustomerListQuery)
        as_of = params.as_of
        snapshot = await self.api.snapshot(as_of)
        wanted = params.sort == "change_7" or params.tier_fell_within is not None
        digest = await self.api.digest() if wanted else None
        owned = await self.owned() if params.owner == "me" else None
        key = ("list", *params.model_dump().values(), digest.built if digest else None, owned)
        within = None if owned is None else np.isin(snapshot.scores.ids, owned)
        self.send(snapshot.view(key, lambda: views.list_body(snapshot, params, as_of, digest, within)))


class ScoresHandler(ApiHandler):
    async def get(self) -> None:
        """Get every customer's score, tier, coverage and factors, as JSON or (Accept: text/csv) CSV."""
        as_of = self.query(AsOfQuery).as_of
        media = negotiated(self.request.headers.get("Accept"), (views.JSON, views.CSV))
        snapshot = await self.api.snapshot(as_of)
        moment = as_of or snapshot.as_of
        body = await self.api.view(
            snapshot, ("scores", media, as_of), views.scores_body, media, snapshot.scores, moment
        )
        self.set_header("Vary", "Accept")
        self.set_header("As-Of", moment.isoformat())
        self.send(body, content_type=f"{media}; charset=UTF-8" + ("; header=present" if media == views.CSV else ""))


class ScoringHandler(ApiHandler):
    async def get(self) -> None:
        """Get the scoring configuration in use."""
        self.query(AsOfQuery)
        self.send(self.api.service.config.as_mapping())


class CustomerHealthHandler(ApiHandler):
    async def get(self, customer_id: str) -> None:
        """Get one customer's health, its breakdown and the evidence."""
        cid = customer_id_from_path(customer_id)
        params = self.query(HealthQuery)
        health = await self.api.health(cid, params.as_of, params.events_limit, params.events_offset)
        if health is None:
            raise Problem(404, f"there is no customer with id {cid}")
        self.send(health)


class CustomerHistoryHandler(ApiHandler):
    async def get(self, customer_id: str) -> None:
        """Get one customer's score for each closed day of a range, and the configuration changes in it."""
        cid = customer_id_from_path(customer_id)
        first, last = self.query(HistoryQuery).span(*HistoryQuery.defaults())
        body = await self.api.run(self.api.history.history, cid, first, last)
        if body is None:
            raise Problem(404, f"there is no customer with id {cid}")
        self.send(body)


class CustomerChangesHandler(ApiHandler):
    async def get(self, customer_id: str) -> None:
        """Get what moved one customer's score between two days, factor by factor."""
        cid = customer_id_from_path(customer_id)
        first, last = self.query(ChangesQuery).span(*ChangesQuery.defaults())
        body = await self.api.run(self.api.history.changes, cid, first, last)
        if body is None:
            raise Problem(404, f"there is no customer with id {cid}")
        self.send(body)


class CustomerEventsHandler(ApiHandler):
    WRITES = frozenset({"POST"})

    async def post(self, customer_id: str) -> None:
        """Record one event for a customer."""
        body = self.json_body()
        cid = customer_id_from_path(customer_id)
        event = event_from(body)
        data = event.data.model_dump(exclude_none=True)
        occurred_at = event.occurred_at or utc_now()
        try:
            if event.type in ACTIVITY_TYPES:  # stored with one statement and one commit together with concurrent ones
                outcome = await self.api.record_activity((cid, event.type, occurred_at, data), self.author)
            else:
                outcome = await self.api.write(
                    self.api.service.record_event, cid, event.type, occurred_at, data, author=self.author
                )
        except EventRejected as exc:
            raise refused(exc) from None
        if outcome is None:
            raise Problem(404, f"there is no customer with id {cid}")
        if event.type not in ACTIVITY_TYPES:  # activity is marked once for its whole group (ApiContext)
            self.api.board.mark_changed([cid], since=as_of_day(occurred_at))
        stored, health = outcome
        self.set_header("Location", f"/api/customers/{cid}/events/{stored['id']}")
        self.send({"event": stored, "health": health}, status=201)


class CustomerEventHandler(ApiHandler):
    async def get(self, customer_id: str, event_id: str) -> None:
        """Get one recorded event."""
        cid = customer_id_from_path(customer_id)
        eid = customer_id_from_path(event_id, "event")
        self.query(AsOfQuery)
        event = await self.api.read(self.api.service.event, cid, eid)
        if event is None:
            raise Problem(404, f"customer {cid} has no event {eid}")
        self.send(event)


class MeHandler(ApiHandler):
    async def get(self) -> None:
        """Get who the request is from, and their role."""
        self.query(AsOfQuery)
        assert self.principal is not None
        p = self.principal
        self.send({"name": p.name, "email": p.email, "role": p.role, "via": p.via})


class AuditHandler(ApiHandler):
    needs = {"GET": "admin", "HEAD": "admin"}

    async def get(self) -> None:
        """Get a page of the audit log, newest first, filtered by actor and time."""
        params = self.query(AuditQuery)
        if self.api.people is None:
            raise Problem(404, "this server keeps no audit log")
        people = self.api.people
        total, entries = await self.api.read(
            people.audit_entries, params.user, params.since, params.until, params.limit, params.offset
        )
        self.send({"total": total, "limit": params.limit, "offset": params.offset, "entries": entries})


class HealthzHandler(ApiHandler):
    public = True

    async def get(self) -> None:
        """Answer 200 when the database answers within HEALTHZ_SECONDS, 503 otherwise."""
        self.query(AsOfQuery)
        try:  # a database that hangs (not one that refuses) must not hang the check
            await asyncio.wait_for(self.api.run(self.api.service.ping), HEALTHZ_SECONDS)
        except TimeoutError:
            detail = f"the database did not answer within {HEALTHZ_SECONDS:g} s"
            raise Problem(503, detail, headers={"Retry-After": "5"}) from None
        self.send({"status": "ok"})


class OpenApiHandler(ApiHandler):
    async def get(self) -> None:
        """Get the OpenAPI document of this API, with the feature catalogue as it is now."""
        try:
            features: tuple[str, ...] | None = tuple(await self.api.read(self.api.service.feature_keys))
        except (sqlalchemy.exc.SQLAlchemyError, Problem) as exc:
            log.warning("the OpenAPI document goes without the feature catalogue: %s", exc)
            features = None  # the document still describes the API; only the catalogue's keys are missing
        self.send(openapi_document(features))


class NotFoundHandler(ApiHandler):
    public = True  # says only that there is nothing here

    def refusal_by_headers(self) -> Problem | None:
        return Problem(404, f"there is no API endpoint at {self.request.path}")

    async def post(self, *args: str) -> None:
        """Answer the refusal once a POST's body is in (other methods are refused before their body)."""
        self.body_bytes()


def customer_id_from_path(text: str, what: str = "customer") -> int:
    """Parse an id from the path: a positive whole number up to MAX_ID, else 404."""
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)) or not 1 <= int(text) <= MAX_ID:
        raise Problem(404, f"there is no {what} with id {text!r}: ids are positive whole numbers")
    if text != str(int(text)):
        raise Problem(404, f"there is no {what} with id {text!r}: ids are written without leading zeros")
    return int(text)


def event_from(body: Any) -> Any:
    """Validate an event body against the model of its type; 422 listing each invalid field."""
    if not isinstance(body, Mapping):
        raise Problem(422, "the body must be a JSON object", errors=[{"field": "body", "message": "not an object"}])
    try:
        return EVENT.validate_python(body)
    except ValidationError as exc:
        raise _invalid("body", [(_event_field(e), _message(e)) for e in exc.errors(include_url=False)]) from None


def validate(model: type[M], values: dict[str, str]) -> M:
    """Validate query parameters against a model; 422 listing each invalid parameter."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = [(".".join(str(p) for p in e["loc"]) or "query", e["msg"]) for e in exc.errors(include_url=False)]
        raise _invalid("query parameters", errors) from None


def _event_field(error: Any) -> str:
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return "type"
    return ".".join(str(p) for p in error["loc"][1:]) or "body"  # the first step is the event type


def _message(error: Any) -> str:
    if error["type"] == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == TEXT_PATTERN:
        return "must hold a visible character and no NUL (\\u0000)"
    return str(error["msg"])


def _invalid(what: str, errors: list[tuple[str, str]]) -> Problem:
    more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
    detail = "; ".join(f"{field}: {message}" for field, message in errors[:10]) + more
    listed = [{"field": field, "message": message} for field, message in errors[:ERRORS_LISTED]]
    return Problem(422, f"invalid {what}: {detail}", errors=listed)


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


class BacktestHandler(ApiHandler):
    async def get(self) -> None:
        """Get how well the score history foretold churn over a range of days."""
        params = self.query(BacktestQuery)
        work = self.api.run(self.api.service.backtest_report, params.from_, params.to, params.horizon, params.lead)
        body = await self.api.within_deadline(work, share=BACKTEST_SHARE)
        self.send(body)
