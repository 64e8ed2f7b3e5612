"""What a connection may cost: bodies judged before they are read, limits on what is kept, timeouts on the slow.

The server of this module closes idle and slow connections after 2 seconds, so that the tests can watch it happen.
"""

from __future__ import annotations

import json

import pytest

from tests.api.client import get
from tests.api.roster import Roster
from tests.raw import closed_within, connect, head, read_reply
from tests.servers import RunningServer

PRIVATE_DATABASE = True
TIMEOUT = 2.0  # seconds, both idle and body
SERVER_ENVIRONMENT = {"HEALTHDASH_IDLE_TIMEOUT": str(TIMEOUT), "HEALTHDASH_BODY_TIMEOUT": str(TIMEOUT)}
BATCH = "/api/events/batch"
HUGE = 95_000_000  # bytes declared by the abusive clients


def events_of(server: RunningServer, customer_id: int) -> int:
    return int(get(server, f"/api/customers/{customer_id}/health")["events"]["total"])


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def test_an_anonymous_huge_body_is_refused_before_it_is_sent(server: RunningServer) -> None:
    with connect(server) as sock:
        sock.sendall(head("POST", BATCH, {"Content-Type": "application/json", "Content-Length": str(HUGE)}))
        sock.sendall(b'{"events": [' + b" " * 4096)  # and then holds back the rest
        reply = read_reply(sock, timeout=5)
    assert reply.status == 401
    assert reply.headers["content-type"] == "application/problem+json"
    assert "token" in reply.json()["detail"]


def test_a_refusal_does_not_wait_for_a_body_announced_with_expect(server: RunningServer, roster: Roster) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": "1000", "Expect": "100-continue"}
    with connect(server) as sock:
        sock.sendall(head("POST", f"/api/customers/{roster['ember']}/events", headers))
        reply = read_reply(sock, timeout=5)
    assert reply.status == 401  # not "100 Continue", then a wait for a body that the server would throw away


@pytest.mark.parametrize(
    ("path", "declared", "expect", "limit"),
    [
        (BATCH, 20 * 1024 * 1024, {}, "8 MiB"),
        ("/api/customers/1/events", 65537, {"Expect": "100-continue"}, "64 KiB"),
    ],
    ids=["batch", "event-expecting-100-continue"],
)
def test_an_authorised_body_over_its_limit_is_refused_by_its_length(
    server: RunningServer, path: str, declared: int, expect: dict[str, str], limit: str
) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(declared), **expect}
    headers["Authorization"] = f"Bearer {server.token}"
    with connect(server) as sock:
        sock.sendall(head("POST", path, headers))  # no body at all: the length is enough to refuse
        reply = read_reply(sock, timeout=5)
    assert reply.status == 413
    assert limit in reply.json()["detail"]


def test_a_body_over_its_limit_that_is_sent_anyway_gets_its_answer(server: RunningServer, roster: Roster) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(1024 * 1024)}
    headers["Authorization"] = f"Bearer {server.token}"
    with connect(server) as sock:
        sock.sendall(head("POST", f"/api/customers/{roster['ember']}/events", headers) + b" " * (1024 * 1024))
        reply = read_reply(sock)  # the body was read and dropped: the client reads the answer, not a reset
    assert reply.status == 413 and "64 KiB" in reply.json()["detail"]


def test_a_chunked_body_past_its_limit_is_answered_413_and_not_stored(server: RunningServer, roster: Roster) -> None:
    customer = roster["ember"]
    before = events_of(server, customer)
    body = json.dumps({"type": "login", "data": {"user": "x" * 70_000}}).encode()
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    headers["Authorization"] = f"Bearer {server.token}"
    with connect(server) as sock:
        sock.sendall(head("POST", f"/api/customers/{customer}/events", headers))
        for start in range(0, len(body), 8192):
            sock.sendall(chunk(body[start : start + 8192]))
        sock.sendall(b"0\r\n\r\n")
        reply = read_reply(sock)
    assert reply.status == 413 and "64 KiB" in reply.json()["detail"]
    assert events_of(server, customer) == before


def test_an_endless_chunked_body_is_cut_off(server: RunningServer, roster: Roster) -> None:
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    headers["Authorization"] = f"Bearer {server.token}"
    piece = chunk(b" " * 65536)
    sent = 0
    with connect(server) as sock:
        sock.sendall(head("POST", f"/api/customers/{roster['ember']}/events", headers))
        with pytest.raises(OSError):  # the server stops reading and closes: the send fails
            while sent < 64 * 1024 * 1024:
                sock.sendall(piece)
                sent += len(piece)
    assert sent < 32 * 1024 * 1024


def test_a_chunked_batch_within_its_limit_is_stored(server: RunningServer, roster: Roster) -> None:
    customer = roster["harbor"]
    before = events_of(server, customer)
    body = json.dumps({"events": [{"customer_id": customer, "type": "login"}] * 2000}).encode()
    assert len(body) > 64 * 1024  # more than any other route takes
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    headers["Authorization"] = f"Bearer {server.token}"
    with connect(server) as sock:
        sock.sendall(head("POST", BATCH, headers))
        for start in range(0, len(body), 16384):
            sock.sendall(chunk(body[start : start + 16384]))
        sock.sendall(b"0\r\n\r\n")
        reply = read_reply(sock, timeout=30)
    assert reply.status == 201, reply.body[:300]
    assert events_of(server, customer) == before + 2000


def test_a_stalled_body_is_timed_out(server: RunningServer, roster: Roster) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": "100"}
    headers["Authorization"] = f"Bearer {server.token}"
    with connect(server) as sock:
        sock.sendall(head("POST", f"/api/customers/{roster['ember']}/events", headers) + b'{"type": ')
        assert closed_within(sock, TIMEOUT + 5) is not None


def test_slow_headers_are_timed_out(server: RunningServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /api/dashboard HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert closed_within(sock, TIMEOUT + 5) is not None


def test_an_idle_connection_is_closed(server: RunningServer) -> None:
    with connect(server) as sock:
        sock.sendall(head("GET", "/api/healthz", {}))
        assert read_reply(sock).status == 200
        assert closed_within(sock, TIMEOUT + 5) is not None


def test_a_page_route_takes_no_large_body(server: RunningServer) -> None:
    with connect(server) as sock:
        sock.sendall(head("POST", "/voila/render/dashboard.ipynb", {"Content-Length": str(HUGE)}))
        sock.sendall(b"x" * 65536)
        assert closed_within(sock, 5) is not None  # refused on its length; nothing like 95 MB is read
