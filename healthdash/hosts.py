"""The names this server answers to: a request for any other Host is refused before any handler sees it.

A page in a browser can be made to talk to this server under a name an attacker controls (DNS rebinding): the
browser then sends that name as Host, and the same-origin checks (the kernel websocket's included) compare with it.
Answering only to the names the server is known by closes that door. Requests without a Host header (HTTP/1.0
health checks) come from no browser and are answered.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Iterable
from urllib.parse import urlsplit

from tornado import httputil

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
ANY = "*"


def host_name(header: str) -> str:
    """Return the name in a Host header, without port, brackets or a final dot, in lower case."""
    text = header.strip().lower()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    name = text.rsplit(":", 1)[0] if text.count(":") == 1 else text
    return name.rstrip(".")


def allowed_hosts(public_url: str | None, bound_host: str, configured: Iterable[str]) -> frozenset[str]:
    """Return the names to answer to: loopback, the public URL's host, the address bound to and the configured ones."""
    names = set(LOOPBACK_NAMES)
    if public_url:
        names.add(host_name(urlsplit(public_url).netloc.rsplit("@", 1)[-1]))
    if bound_host not in ("", "0.0.0.0", "::", "*"):
        names.add(host_name(f"[{bound_host}]" if ":" in bound_host else bound_host))
    names.update(ANY if name.strip() == ANY else host_name(name) for name in configured if name.strip())
    return frozenset(names)


class HostCheck(httputil.HTTPServerConnectionDelegate):
    """Put in front of an application: refuse with 400 every request whose Host is not an allowed name."""

    def __init__(self, application: httputil.HTTPServerConnectionDelegate, allowed: frozenset[str]) -> None:
        self.application = application
        self.allowed = allowed

    def start_request(self, server_conn: object, request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:
        return _CheckedRequest(self.application.start_request(server_conn, request_conn), request_conn, self.allowed)

    def on_close(self, server_conn: object) -> None:
        self.application.on_close(server_conn)


class _CheckedRequest(httputil.HTTPMessageDelegate):
    def __init__(
        self, inner: httputil.HTTPMessageDelegate, connection: httputil.HTTPConnection, allowed: frozenset[str]
    ) -> None:
        self.inner = inner
        self.connection = connection
        self.allowed = allowed
        self.refused = False

    def headers_received(
        self, start_line: httputil.RequestStartLine | httputil.ResponseStartLine, headers: httputil.HTTPHeaders
    ) -> Awaitable[None] | None:
        host = headers.get("Host")
        if host is None or ANY in self.allowed or host_name(host) in self.allowed:
            return self.inner.headers_received(start_line, headers)
        self.refused = True
        detail = f"this server does not answer to the host name {host_name(host)[:100]!r} (HEALTHDASH_ALLOWED_HOSTS)"
        body = json.dumps({"type": "about:blank", "title": "Bad Request", "status": 400, "detail": detail}).encode()
        answer = httputil.HTTPHeaders(
            {"Content-Type": "application/problem+json", "Content-Length": str(len(body)), "Connection": "close"}
        )
        self.connection.write_headers(httputil.ResponseStartLine("HTTP/1.1", 400, "Bad Request"), answer, body)
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
