"""Requests at the edges of HTTP: each answered with a problem document, and every value in one canonical form."""

from __future__ import annotations

import pytest

from tests.api.client import call, get, problem
from tests.api.roster import Roster
from tests.raw import connect, head, read_reply
from tests.servers import RunningServer


def test_an_over_long_url_is_414(server: RunningServer) -> None:
    reply = call(server, "GET", "/api/dashboard?as_of=" + "2" * 20_000)
    assert "URL" in problem(reply, 414)["detail"]


def test_over_large_headers_are_431(server: RunningServer) -> None:
    padding = {f"X-Pad-{i}": "x" * 1000 for i in range(20)}
    reply = call(server, "GET", "/api/dashboard", headers=padding)
    assert "headers" in problem(reply, 431)["detail"]


def test_a_head_beyond_any_limit_closes_the_connection(server: RunningServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /api/dashboard HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"x" * 200_000 + b"\r\n\r\n")
        with pytest.raises(ConnectionError):
            read_reply(sock)


@pytest.mark.parametrize("count", [101, 3000])
def test_too_many_query_parameters_are_400(server: RunningServer, count: int) -> None:
    query = "&".join("a" for _ in range(count))  # short enough for the URL limit
    reply = call(server, "GET", f"/api/customers?{query}")
    assert "query parameters" in problem(reply, 400)["detail"]


def test_the_list_of_unknown_parameters_is_capped(server: RunningServer) -> None:
    query = "&".join(f"unknown_parameter_{i}=1" for i in range(99))
    reply = call(server, "GET", f"/api/customers?{query}")
    document = problem(reply, 422)
    assert "(and 89 more)" in document["detail"]
    assert len(document["detail"]) < 1000 and len(reply.body) < 16_000


@pytest.mark.parametrize("path", ["/api/dashboard", "/api/customers?limit=2", "/api/scoring", "/api/healthz"])
def test_head_answers_like_get_without_a_body(server: RunningServer, path: str) -> None:
    got = call(server, "GET", path)
    headed = call(server, "HEAD", path)
    assert headed.status == 200 and headed.body == b""
    assert headed.content_type == got.content_type
    assert headed.headers["Content-Length"] == str(len(got.body))


def test_head_on_a_write_is_405(server: RunningServer) -> None:
    reply = call(server, "HEAD", "/api/events/batch")
    assert reply.status == 405 and reply.headers["Allow"] == "POST"


def test_a_search_for_nul_is_refused(server: RunningServer) -> None:
    reply = call(server, "GET", "/api/customers?q=%00")
    assert "NUL" in problem(reply, 422)["detail"]


@pytest.mark.parametrize("written", ["1.0", "01", "+1", " 1", "1e0", "0x1", "-0"])
def test_a_count_has_one_written_form(server: RunningServer, written: str) -> None:
    reply = call(server, "GET", "/api/customers", params={"limit": written})
    assert "limit" in problem(reply, 422)["detail"]
    assert get(server, "/api/customers", limit="1")["limit"] == 1


def test_an_id_has_one_written_form(server: RunningServer, roster: Roster) -> None:
    customer = roster["ember"]
    assert call(server, "GET", f"/api/customers/{customer}/health").status == 200
    reply = call(server, "GET", f"/api/customers/0{customer}/health")
    assert "leading zeros" in problem(reply, 404)["detail"]


def test_a_raw_request_without_a_query_is_answered(server: RunningServer) -> None:
    with connect(server) as sock:
        sock.sendall(head("GET", "/api/healthz", {}))
        assert read_reply(sock).status == 200
