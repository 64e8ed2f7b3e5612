"""Every error the API answers is a problem document saying what is wrong, with the status the contract names."""

from __future__ import annotations

import json

import pytest

from tests.api.client import call, error_fields, get, post_event, problem
from tests.api.roster import Roster
from tests.servers import RunningServer

LOGIN = {"type": "login"}


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"type": "login",}',
        b"not json",
        b'{"type": NaN}',
        b"\xff\xfe{}",
        b'{"type": "login", "x": "\\ud800"}',
        b"[" * 30_000 + b"]" * 30_000,
        b"1" * 5_000,
    ],
    ids=["truncated", "trailing-comma", "text", "nan", "not-utf8", "lone-surrogate", "too-deep", "huge-number"],
)
def test_malformed_json_is_400(server: RunningServer, roster: Roster, raw: bytes) -> None:
    reply = call(
        server,
        "POST",
        f"/api/customers/{roster['ember']}/events",
        raw=raw,
        headers={"Content-Type": "application/json"},
        token=server.token,
    )
    detail = problem(reply, 400)["detail"]
    assert "JSON" in detail or "UTF-8" in detail


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([LOGIN], "body"),
        ("login", "body"),
        ({}, "type"),
        ({"type": "purchase"}, "type"),
        ({"type": "login", "extra": 1}, "extra"),
        ({"type": "login", "data": {"user": "ana", "role": "admin"}}, "data.role"),
        ({"type": "login", "data": {"user": "   "}}, "data.user"),
        ({"type": "login", "data": None}, "data"),
        ({"type": "feature_use"}, "data"),
        ({"type": "feature_use", "data": {"feature": "Not A Key"}}, "data.feature"),
        ({"type": "api_call", "data": {"count": 0}}, "data.count"),
        ({"type": "api_call", "data": {"count": "12"}}, "data.count"),
        ({"type": "api_call", "data": {"count": 1.5}}, "data.count"),
        ({"type": "ticket_opened", "data": {"priority": "critical", "subject": "Down"}}, "data.priority"),
        ({"type": "ticket_opened", "data": {"priority": "low", "subject": ""}}, "data.subject"),
        ({"type": "ticket_opened", "data": {"priority": "low", "subject": "nul \u0000 inside"}}, "data.subject"),
        ({"type": "ticket_closed", "data": {"ticket_id": "7"}}, "data.ticket_id"),
        ({"type": "invoice_issued", "data": {"amount": -5, "due_at": "2026-12-01"}}, "data.amount"),
        ({"type": "invoice_issued", "data": {"amount": 10.005, "due_at": "2026-12-01"}}, "data.amount"),
        ({"type": "invoice_issued", "data": {"amount": "10", "due_at": "2026-12-01"}}, "data.amount"),
        ({"type": "invoice_issued", "data": {"amount": 10, "due_at": "01/12/2026"}}, "data.due_at"),
        ({"type": "invoice_paid", "data": {"invoice_id": 0}}, "data.invoice_id"),
        ({"type": "login", "occurred_at": "yesterday"}, "occurred_at"),
        ({"type": "login", "occurred_at": "2026-11-01T12:00:00"}, "occurred_at"),
        ({"type": "login", "occurred_at": "2199-01-01T00:00:00Z"}, "occurred_at"),
        ({"type": "login", "occurred_at": "1999-12-31T23:59:59Z"}, "occurred_at"),
        ({"type": "login", "occurred_at": "2000-01-01T00:30:00+01:00"}, "occurred_at"),  # 1999 in UTC
        ({"type": "login", "occurred_at": 1767225600}, "occurred_at"),
    ],
)
def test_an_invalid_body_is_422_naming_the_field(
    server: RunningServer, roster: Roster, body: object, field: str
) -> None:
    document = problem(post_event(server, roster["ember"], body), 422)
    assert field in error_fields(document), document
    assert field in document["detail"] or field == "body"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/customers?limit=501", "limit"),
        ("/api/customers?limit=0", "limit"),
        ("/api/customers?limit=ten", "limit"),
        ("/api/customers?offset=-1", "offset"),
        ("/api/customers?sort=revenue", "sort"),
        ("/api/customers?order=up", "order"),
        ("/api/customers?tier=great", "tier"),
        ("/api/customers?segment=giant", "segment"),
        ("/api/customers?plan=free", "plan"),
        ("/api/customers?colour=red", "colour"),
        ("/api/customers?limit=5&limit=6", "limit"),
        ("/api/dashboard?as_of=yesterday", "as_of"),
        ("/api/dashboard?as_of=2026-02-30", "as_of"),
        ("/api/dashboard?as_of=1999-12-31", "as_of"),
        ("/api/customers?as_of=2026-11-01T12:00:00", "as_of"),
        ("/api/healthz?as_of=soon", "as_of"),
        ("/api/customers/1/health?events_limit=501", "events_limit"),
        ("/api/customers/1/health?as_of=", "as_of"),
        ("/api/customers/1/events/1?as_of=never", "as_of"),
    ],
)
def test_an_invalid_parameter_is_422_naming_it(server: RunningServer, path: str, field: str) -> None:
    document = problem(call(server, "GET", path), 422)
    assert error_fields(document) == {field}


@pytest.mark.parametrize(
    "path",
    [
        "/api/customers/999999999/health",
        "/api/customers/abc/health",
        "/api/customers/1.5/health",
        "/api/customers/0/health",
        "/api/customers/-3/health",
        "/api/customers/%D9%A3/health",  # an Arabic-Indic digit three
        "/api/customers/99999999999999999999999/health",
        "/api/customers/1/events/999999999",
        "/api/customers/1/events/abc",
        "/api/whatever",
        "/api/customers/1/health/extra",
    ],
)
def test_an_unknown_customer_id_or_endpoint_is_404(server: RunningServer, path: str) -> None:
    problem(call(server, "GET", path), 404)


def test_recording_for_an_unknown_customer_is_404(server: RunningServer) -> None:
    document = problem(post_event(server, 999_999_999, LOGIN), 404)
    assert "999999999" in document["detail"]
    problem(post_event(server, "x7", LOGIN), 404)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/dashboard", "GET, HEAD"),
        ("POST", "/api/dashboard", "GET, HEAD"),
        ("PUT", "/api/customers", "GET, HEAD, POST"),
        ("PATCH", "/api/customers/1/health", "GET, HEAD"),
        ("GET", "/api/customers/1/events", "POST"),
        ("DELETE", "/api/customers/1/events/1", "GET, HEAD"),
        ("POST", "/api/healthz", "GET, HEAD"),
        ("POST", "/api/openapi.json", "GET, HEAD"),
        ("OPTIONS", "/api/dashboard", "GET, HEAD"),
        ("TRACE", "/api/dashboard", "GET, HEAD"),
    ],
)
def test_a_wrong_method_is_405_with_allow(server: RunningServer, method: str, path: str, allowed: str) -> None:
    reply = call(server, method, path, raw=b"{}" if method in ("POST", "PUT", "PATCH") else None)
    problem(reply, 405)
    assert reply.headers["Allow"] == allowed


def test_a_body_over_64_kib_is_413(server: RunningServer, roster: Roster) -> None:
    padding = "x" * (64 * 1024)
    reply = call(
        server,
        "POST",
        f"/api/customers/{roster['ember']}/events",
        raw=json.dumps({"type": "login", "data": {"user": padding}}).encode(),
        headers={"Content-Type": "application/json"},
        token=server.token,
    )
    assert "64 KiB" in problem(reply, 413)["detail"]
    just_under = b'{"type": "login"}' + b" " * (64 * 1024 - 100)  # JSON may end in any amount of space
    reply = call(
        server,
        "POST",
        f"/api/customers/{roster['harbor']}/events",  # no other module that shares the server looks at harbor
        raw=just_under,
        headers={"Content-Type": "application/json"},
        token=server.token,
    )
    assert reply.status == 201


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}, {}],
    ids=["text", "form", "none"],
)
def test_a_write_that_is_not_json_is_415(server: RunningServer, roster: Roster, headers: dict[str, str]) -> None:
    reply = call(
        server,
        "POST",
        f"/api/customers/{roster['ember']}/events",
        raw=b'{"type": "login"}',
        headers=headers,
        token=server.token,
    )
    assert "application/json" in problem(reply, 415)["detail"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer ", "Bearer wrong-token-0123456789", "Basic dGVzdDp0ZXN0", "test-token-0123456789abcdef"],
    ids=["missing", "empty", "blank", "wrong", "basic", "no-scheme"],
)
def test_a_write_without_a_valid_token_is_401(server: RunningServer, roster: Roster, authorization: str | None) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    before = get(server, f"/api/customers/{roster['ember']}/health")["events"]["total"]
    path = f"/api/customers/{roster['ember']}/events"
    reply = call(server, "POST", path, raw=b'{"type": "login"}', headers=headers, token=None)
    assert "token" in problem(reply, 401)["detail"]
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert get(server, f"/api/customers/{roster['ember']}/health")["events"]["total"] == before


def test_the_token_is_checked_before_the_body(server: RunningServer) -> None:
    headers = {"Content-Type": "text/plain"}
    reply = call(server, "POST", "/api/customers/abc/events", raw=b"{", headers=headers, token=None)
    problem(reply, 401)


def test_reads_need_a_token_or_a_session_too(server: RunningServer) -> None:
    assert call(server, "GET", "/api/dashboard").status == 200
    assert call(server, "GET", "/api/dashboard", token=None).status == 401
