"""Every address of the server answers cleanly: no 5xx, no empty error, no traceback, no internal detail, no CDN."""

from __future__ import annotations

import pytest

from tests.api.client import call
from tests.servers import RunningServer

ODD_PATHS = [
    "/voila/tree",
    "/voila/tree/dashboard.ipynb",
    "/voila/templates/lab/x.js",
    "/voila/templates/../../etc/passwd",
    "/voila/templates/lab/static/nope.js",
    "/voila/templates/lab",
    "/voila/render/nope.ipynb",
    "/voila/static/x.js",
    "/voila/files/x",
    "/voila/labextensions/x",
    "/voila/api/themes/x",
    "/voila/api/shutdown/abc",
    "/voila/query/abc",
    "/api/kernels",
    "/api/kernels/abc",
    "/api/kernels/abc/channels",
    "/api/nope",
    "/nope",
    "/favicon.ico",
    "/%2e%2e/etc/passwd",
]


def clean(reply_body: bytes) -> None:
    text = reply_body.decode("utf-8", errors="replace")
    assert text.strip(), "an error answer says what it is"
    for internal in ("Traceback", "site-packages", "/work/", "Exception", "cdn.", "jsdelivr"):
        assert internal not in text


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ODD_PATHS)
def test_an_address_the_app_does_not_serve_answers_cleanly(server: RunningServer, path: str, method: str) -> None:
    reply = call(server, method, path, raw=b"{}" if method in ("POST", "PUT") else None)
    assert reply.status in (400, 403, 404, 405), (reply.status, reply.body[:300])
    expected = "application/problem+json" if path.startswith("/api/") else "text/html"
    assert reply.content_type == expected
    clean(reply.body)


def test_the_server_logs_no_traceback_for_them(server: RunningServer) -> None:
    for path in ODD_PATHS:
        call(server, "GET", path)
    assert "Traceback" not in server.log.read_text(errors="replace")
