"""A page's kernel reads its request: from its environment, or, preheated, by waiting for the visitor."""

from __future__ import annotations

import pytest

from healthdash.widgets.request import ATTEMPTS, page_query_string, wait_for_page_request


class Server:
    """Stands in for voila.utils: delivers the request's details on the n-th call."""

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


def test_voila_utils_is_what_a_preheated_kernel_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    import voila.utils

    environ = {"VOILA_PREHEAT": "True", "QUERY_STRING": "id=9"}
    calls: list[str] = []
    monkeypatch.setattr(voila.utils, "get_query_string", lambda: calls.append("get") or "id=9")
    monkeypatch.setattr(voila.utils, "wait_for_request", lambda: calls.append("wait"))
    assert page_query_string(environ) == "id=9"
    wait_for_page_request(environ)
    assert calls == ["get", "wait"]
