"""A page's kernel reads its request: from its environment, or, preheated, by waiting for the visitor."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator

from websockets.sync.server import ServerConnection, serve

from healthdash.widgets.request import ATTEMPTS, page_query_string, wait_for_page_request


class Server:
    """Stands in for the server's request websocket: delivers the request's details on the n-th call."""

    def __init__(self, environ: dict[str, str], delivers_on: int, query: str = "id=7") -> None:
        self.environ = environ
        self.delivers_on = delivers_on
        self.query = query
        self.calls = 0

    def wait(self) -> None:
        self.calls += 1
        if self.calls == self.delivers_on:
            self.environ["QUERY_STRING"] = self.query

    def get(self) -> str | None:
        self.wait()
        return self.environ.get("QUERY_STRING")


def test_a_kernel_started_for_the_request_has_it_in_its_environment() -> None:
    environ = {"VOILA_PREHEAT": "False", "QUERY_STRING": "id=3"}
    server = Server(environ, delivers_on=1)
    assert page_query_string(environ, server.get) == "id=3"
    wait_for_page_request(environ, server.wait)
    assert server.calls == 0


def test_outside_voila_there_is_no_query_string() -> None:
    assert page_query_string({}) is None
    wait_for_page_request({})


def test_a_preheated_kernel_waits_for_its_visitor() -> None:
    environ = {"VOILA_PREHEAT": "True"}
    server = Server(environ, delivers_on=1, query="")
    assert page_query_string(environ, server.get) == ""
    assert server.calls == 1


def test_a_preheated_kernel_tries_again_when_the_server_was_too_busy_to_answer() -> None:
    environ = {"VOILA_PREHEAT": "True"}
    server = Server(environ, delivers_on=2)
    assert page_query_string(environ, server.get) == "id=7"
    assert server.calls == 2
    environ = {"VOILA_PREHEAT": "True"}
    server = Server(environ, delivers_on=ATTEMPTS)
    wait_for_page_request(environ, server.wait)
    assert environ["QUERY_STRING"] == "id=7"


def test_a_preheated_kernel_gives_up_after_a_few_tries() -> None:
    environ = {"VOILA_PREHEAT": "True"}
    server = Server(environ, delivers_on=ATTEMPTS + 1)
    assert page_query_string(environ, server.get) is None
    assert server.calls == ATTEMPTS
    wait_for_page_request(environ, server.wait)
    assert server.calls == ATTEMPTS + 1


@contextlib.contextmanager
def request_server(details: object) -> Iterator[tuple[int, list[str]]]:
    """A websocket server on a free port that sends `details` (as JSON) to each kernel that connects."""
    paths: list[str] = []

    def answer(socket: ServerConnection) -> None:
        paths.append(socket.request.path if socket.request else "")
        socket.send(json.dumps(details))

    with serve(answer, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.socket.getsockname()[1], paths
        finally:
            server.shutdown()
            thread.join(timeout=5)


def kernel_environ(port: int) -> dict[str, str]:
    return {
        "VOILA_PREHEAT": "True",
        "VOILA_APP_IP": "127.0.0.1",
        "VOILA_APP_PORT": str(port),
        "VOILA_SERVER_URL": "/",
        "VOILA_KERNEL_ID": "0b3c5f0e-1111-4222-8333-944455556666",
    }


def test_a_preheated_kernel_asks_the_server_for_its_request_on_its_own_websocket() -> None:
    with request_server({"QUERY_STRING": "id=42", "SERVER_NAME": "example"}) as (port, paths):
        environ = kernel_environ(port)
        assert page_query_string(environ) == "id=42"
    assert environ["SERVER_NAME"] == "example"
    assert paths == ["/voila/query/0b3c5f0e-1111-4222-8333-944455556666"]


def test_a_preheated_kernel_that_cannot_reach_the_server_gives_up() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens there
        environ = kernel_environ(port)
        assert page_query_string(environ) is None
        wait_for_page_request(environ)
    assert "QUERY_STRING" not in environ


def test_a_preheated_kernel_ignores_an_answer_that_is_no_request() -> None:
    with request_server(["not", "a", "request"]) as (port, paths):
        environ = kernel_environ(port)
        assert page_query_string(environ) is None
    assert len(paths) == ATTEMPTS
