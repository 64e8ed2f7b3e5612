"""Every answer carries the security headers: no sniffing, no framing, no referrer, no policy reporting nowhere."""

from __future__ import annotations

import pytest

from tests.api.client import call
from tests.servers import RunningServer


@pytest.mark.parametrize(
    "path",
    [
        "/api/dashboard",
        "/api/nope",
        "/voila/templates/lab/static/voila.js",
        "/voila/static/voila.js",
        "/voila/render/nope.ipynb",
        "/nope",
        "/",
    ],
)
def test_every_answer_carries_the_security_headers(server: RunningServer, path: str) -> None:
    reply = call(server, "GET", path)
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"] == "no-referrer"
    policy = reply.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert "report-uri" not in policy  # no reports sent to a route that does not exist


def test_the_notebook_tree_is_not_served(server: RunningServer) -> None:
    for path in ("/voila/tree", "/voila/tree/", "/voila/tree/dashboard.ipynb"):
        assert call(server, "GET", path).status == 404
