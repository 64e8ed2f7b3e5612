"""A small HTTP client for the API tests: exact control over method, headers and body, and problem checks."""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.servers import RunningServer


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip()

    def json(self) -> Any:
        return json.loads(self.body)


class ServerToken:
    """The default of `call`'s token: the server's own (a bootstrap token, acting as an admin)."""


SERVER_TOKEN = ServerToken()


def call(
    server: RunningServer,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    raw: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    token: str | ServerToken | None = SERVER_TOKEN,
    params: Mapping[str, Any] | None = None,
) -> Reply:
    """Send one request with exactly the given headers (plus Content-Type for a JSON body, and a token: the server's
    unless another is given, none for `token=None`)."""
    if isinstance(token, ServerToken):
        token = server.token
    parts = urlsplit(server.url)
    sent: dict[str, str] = {}
    body = raw
    if json_body is not None:
        body = json.dumps(json_body).encode()
        sent["Content-Type"] = "application/json"
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    if params:
        path = f"{path}?{urlencode(params)}"
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def get(server: RunningServer, path: str, **params: Any) -> Any:
    """GET a path and return its JSON body, which must come with 200."""
    reply = call(server, "GET", path, params=params)
    assert reply.status == 200, reply.body[:500]
    assert reply.content_type == "application/json"
    return reply.json()


def post_event(server: RunningServer, customer_id: int, body: Any) -> Reply:
    """Record an event with the server's write token."""
    return call(server, "POST", f"/api/customers/{customer_id}/events", json_body=body, token=server.token)


def recorded(server: RunningServer, customer_id: int, body: Any) -> Any:
    """Record an event that must be accepted; return the answer's body."""
    reply = post_event(server, customer_id, body)
    assert reply.status == 201, reply.body[:500]
    return reply.json()


def problem(reply: Reply, status: int) -> dict[str, Any]:
    """Check that a reply is a problem document with this status; return it."""
    assert reply.status == status, (reply.status, reply.body[:500])
    assert reply.content_type == "application/problem+json"
    document: dict[str, Any] = reply.json()
    assert document["status"] == status
    assert document["type"] == "about:blank"
    assert document["title"] and document["detail"]
    assert "Traceback" not in document["detail"]
    return document


def error_fields(document: Mapping[str, Any]) -> set[str]:
    """Return the fields a 422 problem names."""
    return {error["field"] for error in document.get("errors", [])}


def factor(health: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Return one factor of a health answer."""
    (found,) = [f for f in health["factors"] if f["key"] == key]
    return dict(found)


def all_customers(server: RunningServer, **params: Any) -> list[dict[str, Any]]:
    """Return every customer of the list (all pages) for the given filters and sort."""
    rows: list[dict[str, Any]] = []
    while True:
        page = get(server, "/api/customers", **params, limit=500, offset=len(rows))
        rows += page["customers"]
        if not page["customers"] or len(rows) >= page["total"]:
            return rows


# What every customer health answer holds, as the contract names it.
HEALTH_FIELDS = frozenset(
    {"customer", "as_of", "score", "tier", "coverage", "trend", "factors", "events", "tickets", "invoices"}
)
