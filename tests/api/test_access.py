"""Who may do what: every API route and a page against anonymous visitors, each role, a revoked token and an ended
session; writes attributed and audited; tokens kept only as hashes; the proxy's header trusted from nowhere else."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.access import SESSION_COOKIE
from healthdash.access.credentials import secret_hash
from tests.api.client import Reply, call, problem
from tests.api.roster import Roster
from tests.people import email_of, people_of, person_token, service_token, session_secret
from tests.servers import RunningServer

PRIVATE_DATABASE = True
LOGIN = {"type": "login", "data": {"user": "matrix"}}
ROLES = ("viewer", "csm", "admin")

# (method, path, body, the least role that may)
ROUTES: list[tuple[str, str, Any, str]] = [
    ("GET", "/api/dashboard", None, "viewer"),
    ("GET", "/api/customers", None, "viewer"),
    ("GET", "/api/scores", None, "viewer"),
    ("GET", "/api/scoring", None, "viewer"),
    ("GET", "/api/customers/1/health", None, "viewer"),
    ("GET", "/api/customers/1/history", None, "viewer"),
    ("GET", "/api/customers/1/changes", None, "viewer"),
    ("GET", "/api/openapi.json", None, "viewer"),
    ("GET", "/api/me", None, "viewer"),
    ("POST", "/api/customers/1/events", LOGIN, "csm"),
    ("POST", "/api/events/batch", {"events": [{**LOGIN, "customer_id": 1}]}, "csm"),
    ("GET", "/api/audit", None, "admin"),
]
IDS = [f"{method} {path}" for method, path, _, _ in ROUTES]


@pytest.fixture(scope="module")
def tokens(database_url: str, server: RunningServer) -> dict[str, str]:
    """An API token of a person of each role, one revoked before it was ever used, and an admin's expired session."""
    made = {role: person_token(database_url, role) for role in ROLES}
    token_id, secret = service_token(database_url, "admin", "revoked at once")
    with people_of(database_url) as people:
        people.revoke_token(token_id, "tests")
    made["revoked"] = secret
    expired = session_secret(database_url, "admin")  # never used before it expired: no answer kept anywhere
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE secret_hash = :h"),
                         {"h": secret_hash(expired)})  # fmt: skip
    finally:
        engine.dispose()
    made["expired session"] = expired
    return made


def send(server: RunningServer, method: str, path: str, body: Any, token: str | None) -> Reply:
    return call(server, method, path, json_body=body, token=token)


@pytest.mark.parametrize(("method", "path", "body", "needed"), ROUTES, ids=IDS)
def test_each_route_answers_each_role_as_it_may(
    server: RunningServer, tokens: dict[str, str], method: str, path: str, body: Any, needed: str
) -> None:
    problem(send(server, method, path, body, None), 401)
    assert "sign in" in problem(send(server, method, path, body, None), 401)["detail"]
    problem(send(server, method, path, body, tokens["revoked"]), 401)
    expired = {"Cookie": f"{SESSION_COOKIE}={tokens['expired session']}"}
    problem(call(server, method, path, json_body=body, headers=expired, token=None), 401)
    for role in ROLES:
        reply = send(server, method, path, body, tokens[role])
        if ROLES.index(role) >= ROLES.index(needed):
            assert reply.status in (200, 201), (role, reply.status, reply.body[:300])
        else:
            assert needed in problem(reply, 403)["detail"]


def test_healthz_answers_anyone(server: RunningServer) -> None:
    assert call(server, "GET", "/api/healthz", token=None).status == 200


def test_a_session_reads_but_does_not_write(server: RunningServer, database_url: str) -> None:
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_secret(database_url, 'admin')}"}
    me = call(server, "GET", "/api/me", headers=cookie, token=None)
    assert me.status == 200
    assert me.json() == {"name": "Admin Tester", "email": email_of("admin"), "role": "admin", "via": "session"}
    refused = call(server, "POST", "/api/customers/1/events", json_body=LOGIN, headers=cookie, token=None)
    assert "a signed-in browser only reads" in problem(refused, 401)["detail"]


def test_an_ended_or_idle_session_is_refused(server: RunningServer, database_url: str) -> None:
    expired, idle = session_secret(database_url, "viewer"), session_secret(database_url, "viewer")
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            for secret, column in ((expired, "expires_at"), (idle, "last_seen_at")):
                conn.execute(
                    text(f"UPDATE sessions SET {column} = now() - interval '1 day' WHERE secret_hash = :h"),
                    {"h": secret_hash(secret)},
                )
    finally:
        engine.dispose()
    for secret in (expired, idle):
        reply = call(server, "GET", "/api/dashboard", headers={"Cookie": f"{SESSION_COOKIE}={secret}"}, token=None)
        problem(reply, 401)


def test_a_revoked_token_stops_working_within_seconds(server: RunningServer, database_url: str) -> None:
    token_id, secret = service_token(database_url, "viewer", "soon revoked")
    assert call(server, "GET", "/api/me", token=secret).json()["name"] == "soon revoked"
    with people_of(database_url) as people:
        people.revoke_token(token_id, "tests")
    deadline = time.monotonic() + 5.5
    while call(server, "GET", "/api/me", token=secret).status == 200:
        assert time.monotonic() < deadline, "a revoked token still worked after 5 s"
        time.sleep(0.2)


def test_tokens_and_sessions_are_kept_only_as_hashes(database_url: str, tokens: dict[str, str]) -> None:
    secret = session_secret(database_url, "csm")
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            stored = " ".join(
                str(row)
                for table in ("api_tokens", "sessions", "users")
                for row in conn.execute(text(f"SELECT * FROM {table}"))
            )
            hashes = {row[0] for row in conn.execute(text("SELECT token_hash FROM api_tokens"))}
            passwords = [
                row[0] for row in conn.execute(text("SELECT password_hash FROM users WHERE password_hash <> ''"))
            ]
    finally:
        engine.dispose()
    for token in [*tokens.values(), secret]:
        assert token not in stored
    assert secret_hash(tokens["csm"]) in hashes
    assert passwords and all(p.startswith("$argon2id$") for p in passwords)


def test_writes_say_who_made_them_in_the_event_and_the_audit_log(
    server: RunningServer, database_url: str, roster: Roster, tokens: dict[str, str]
) -> None:
    customer = roster["ember"]
    one = send(server, "POST", f"/api/customers/{customer}/events", LOGIN, tokens["csm"])
    assert one.status == 201
    assert one.json()["event"]["recorded_by"] == email_of("csm")
    ticket = {"type": "ticket_opened", "data": {"priority": "low", "subject": "audited"}}
    two = send(server, "POST", f"/api/customers/{customer}/events", ticket, tokens["admin"])
    assert two.json()["event"]["recorded_by"] == email_of("admin")
    batch = send(server, "POST", "/api/events/batch", {"events": [{**LOGIN, "customer_id": customer}]}, tokens["csm"])
    assert batch.status == 201
    stored = call(server, "GET", f"/api/customers/{customer}/events/{one.json()['event']['id']}").json()
    assert stored["recorded_by"] == email_of("csm")

    log = call(server, "GET", "/api/audit", params={"user": email_of("csm").upper()}, token=tokens["admin"]).json()
    actions = [(e["action"], e["target"], e["address"]) for e in log["entries"]]
    assert ("event.record", f"customer {customer}", "127.0.0.1") in actions
    assert ("events.batch", None, "127.0.0.1") in actions
    assert all(e["actor"] == email_of("csm") for e in log["entries"])
    admin = call(server, "GET", "/api/audit", params={"user": email_of("admin")}, token=tokens["admin"]).json()
    recorded = [e for e in admin["entries"] if e["action"] == "event.record"]
    assert recorded[0]["detail"] == {"event_id": two.json()["event"]["id"], "type": "ticket_opened"}


def test_the_audit_log_pages_and_filters_by_time(server: RunningServer, tokens: dict[str, str]) -> None:
    everything = call(server, "GET", "/api/audit", params={"limit": 500}, token=tokens["admin"]).json()
    assert everything["total"] >= 5
    first = call(server, "GET", "/api/audit", params={"limit": 2}, token=tokens["admin"]).json()
    second = call(server, "GET", "/api/audit", params={"limit": 2, "offset": 2}, token=tokens["admin"]).json()
    assert [e["id"] for e in first["entries"] + second["entries"]] == [e["id"] for e in everything["entries"][:4]]
    future = call(server, "GET", "/api/audit", params={"since": "2199-01-01"}, token=tokens["admin"]).json()
    assert future == {"total": 0, "limit": 100, "offset": 0, "entries": []}
    newest = everything["entries"][0]["at"]
    before = call(server, "GET", "/api/audit", params={"until": newest, "limit": 500}, token=tokens["admin"]).json()
    assert before["total"] < everything["total"]
    assert all(e["at"] < newest for e in before["entries"])
    bad = call(server, "GET", "/api/audit", params={"limit": 0}, token=tokens["admin"])
    assert "limit" in problem(bad, 422)["detail"]
    nul = call(server, "GET", "/api/audit", params={"user": "a\x00b"}, token=tokens["admin"])
    assert "user" in problem(nul, 422)["detail"]  # no actor holds a NUL: refused, not a database error


def test_a_page_needs_a_signed_in_visitor(server: RunningServer, database_url: str, tokens: dict[str, str]) -> None:
    page = "/voila/render/dashboard.ipynb"
    anonymous = call(server, "GET", page, token=None)
    assert anonymous.status == 302
    assert anonymous.headers["Location"].startswith("/login?next=")
    revoked = call(server, "GET", page, token=tokens["revoked"])
    assert revoked.status == 302
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_secret(database_url, 'viewer')}"}
    shown = call(server, "GET", page, headers=cookie, token=None)
    assert shown.status == 200
    kernel = re.search(rb'"kernelId": ?"([0-9a-f-]{36})"', shown.body)
    assert kernel, "the page names its kernel"
    # the page's kernel is its visitor's (and an admin's): nobody else reaches it
    assert call(server, "GET", f"/api/kernels/{kernel[1].decode()}", token=tokens["viewer"]).status == 200
    assert call(server, "GET", f"/api/kernels/{kernel[1].decode()}", token=tokens["csm"]).status == 403
    assert call(server, "GET", f"/api/kernels/{kernel[1].decode()}", token=tokens["admin"]).status == 200


def test_a_kernel_websocket_is_refused_without_a_session(server: RunningServer) -> None:
    kernel = "00000000-0000-4000-8000-000000000000"
    reply = call(
        server,
        "GET",
        f"/api/kernels/{kernel}/channels",
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
        token=None,
    )
    assert reply.status == 403
