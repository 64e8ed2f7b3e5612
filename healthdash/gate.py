"""What every request must pass before any handler sees it: a Host naming this server, a URL, headers and a query of
bounded size. A request that fails is answered with a problem document and its connection closed.

Tornado itself closes, without an answer, a connection whose request line and headers pass a hard limit (twice
these); between the two, the client is told what was too large.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import dataclass
from http import HTTPStatus

from tornado import httputil

from healthdash.hosts import host_allowed, host_name


@dataclass(frozen=True)
class GateLimits:
    """The sizes a request's head may have."""

    max_url_length: int = 8192
    max_header_size: int = 16384
    max_query_parameters: int = 100

    @property
    def hard_header_size(self) -> int:
        """Return the size of request line plus headers past which Tornado closes the connection unanswered."""
        return 2 * (self.max_url_length + self.max_header_size)


def refusal(
    start_line: httputil.RequestStartLine, headers: httputil.HTTPHeaders, allowed: frozenset[str], limits: GateLimits
) -> tuple[int, str] | None:
    """Return the status and detail to refuse a request with, or None to let it through."""
    host = headers.get("Host")
    if not host_allowed(host, allowed):
        return 400, f"this server does not answer to the host name {host_name(host or '')[:100]!r}"
    if len(start_line.path) > limits.max_url_length:
        return 414, f"the URL is longer than {limits.max_url_length:,} characters"
    size = sum(len(name) + len(value) + 4 for name, value in headers.get_all())
    if size > limits.max_header_size:
        return 431, f"the headers take more than {limits.max_header_size:,} bytes"
    query = start_line.path.partition("?")[2]
    if query.count("&") + query.count(";") + 1 > limits.max_query_parameters:
        return 400, f"the URL holds more than {limits.max_query_parameters} query parameters"
    return None


class RequestGate(httputil.HTTPServerConnectionDelegate):
    """Put in front of an application: refuse every request that fails `refusal`, pass the others on."""

    def __init__(
        self, application: httputil.HTTPServerConnectionDelegate, allowed: frozenset[str], limits: GateLimits
    ) -> None:
        self.application = application
        self.allowed = allowed
        self.limits = limits

    def start_request(self, server_conn: object, request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:
        return _GatedRequest(self, self.application.start_request(server_conn, request_conn), request_conn)

    def on_close(self, server_conn: object) -> None:
        self.application.on_close(server_conn)


class _GatedRequest(httputil.HTTPMessageDelegate):
    def __init__(
        self, gate: RequestGate, inner: httputil.HTTPMessageDelegate, connection: httputil.HTTPConnection
    ) -> None:
        self.gate = gate
        self.inner = inner
        self.connection = connection
        self.refused = False

    def headers_received(
        self, start_line: httputil.RequestStartLine | httputil.ResponseStartLine, headers: httputil.HTTPHeaders
    ) -> Awaitable[None] | None:
        assert isinstance(start_line, httputil.RequestStartLine)
        refused = refusal(start_line, headers, self.gate.allowed, self.gate.limits)
        if refused is None:
            return self.inner.headers_received(start_line, headers)
        self.refused = True
        status, detail = refused
        phrase = HTTPStatus(status).phrase
        body = json.dumps({"type": "about:blank", "title": phrase, "status": status, "detail": detail}).encode()
        answer = httputil.HTTPHeaders(
            {"Content-Type": "application/problem+json", "Content-Length": str(len(body)), "Connection": "close"}
        )
        self.connection.write_headers(httputil.ResponseStartLine("HTTP/1.1", status, phrase), answer, body)
        self.connection.finish()
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return None if self.refused else self.inner.data_received(chunk)

    def finish(self) -> None:
        if not self.refused:
            self.inner.finish()

    def on_connection_close(self) -> None:
        if not self.refused:
            self.inner.on_connection_close()
