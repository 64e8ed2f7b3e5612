"""The server answers only to its own names: a request for another Host (DNS rebinding) is refused, websocket too."""

from __future__ import annotations

import base64
import json
import os
import re

import pytest

from healthdash.hosts import allowed_hosts, host_name
from tests.api.client import call, problem
from tests.raw import connect, head, read_reply
from tests.servers import RunningServer

PRIVATE_DATABASE = True
SERVER_ENVIRONMENT = {"HEALTHDASH_ALLOWED_HOSTS": "dash.example.org, Other.Example.org."}
REBIND = "rebind.attacker.example"


@pytest.mark.parametrize("path", ["/api/dashboard", "/api/customers", "/voila/render/dashboard.ipynb", "/", "/nope"])
def test_a_request_for_a_foreign_host_is_refused(server: RunningServer, path: str) -> None:
    reply = call(server, "GET", path, headers={"Host": f"{REBIND}:{server.port}"})
    assert REBIND in problem(reply, 400)["detail"]


def test_a_write_for_a_foreign_host_is_refused_and_not_stored(server: RunningServer) -> None:
    reply = call(
        server,
        "POST",
        "/api/customers/1/events",
        json_body={"type": "login"},
        token=server.token,
        headers={"Host": REBIND},
    )
    problem(reply, 400)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}", "dash.example.org", "other.example.org"],
)
def test_the_servers_own_names_are_answered(server: RunningServer, host: str) -> None:
    assert call(server, "GET", "/api/dashboard", headers={"Host": host.format(port=server.port)}).status == 200


def test_a_request_without_a_host_is_answered(server: RunningServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /api/healthz HTTP/1.0\r\n\r\n")  # as a load balancer's health check sends it
        assert read_reply(sock).status == 200


def upgrade(server: RunningServer, path: str, host: str) -> int:
    """Ask for a websocket at `path` from a page served under `host`; return the answer's status."""
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Origin": f"http://{host}",
        **server.authorization,
    }
    with connect(server) as sock:
        sock.sendall(head("GET", path, headers, host=host))
        return read_reply(sock, timeout=20).status


def test_the_kernel_websocket_refuses_a_foreign_host(server: RunningServer) -> None:
    page = call(server, "GET", "/voila/render/dashboard.ipynb")
    assert page.status == 200
    config = re.search(rb'id="jupyter-config-data"[^>]*>\s*(\{.*?\})\s*</script>', page.body, re.S)
    assert config, "the page carries its kernel's id"
    channels = f"/api/kernels/{json.loads(config[1])['kernelId']}/channels"
    host = f"127.0.0.1:{server.port}"
    assert upgrade(server, channels, f"{REBIND}:{server.port}") == 400
    assert upgrade(server, channels, host) == 101  # the same request under the server's own name is let through


def test_host_names_are_compared_without_port_case_or_final_dot() -> None:
    assert host_name("Example.ORG.:8000") == "example.org"
    assert host_name("[::1]:8000") == "::1"
    assert host_name("::1") == "::1"


def test_the_allowed_names_hold_the_public_url_and_a_specific_bound_address() -> None:
    names = allowed_hosts("https://user@health.example.com:8443/base", "10.0.0.5", ["a.example", " "])
    assert {"health.example.com", "10.0.0.5", "a.example", "localhost", "127.0.0.1", "::1"} == names
    assert allowed_hosts(None, "0.0.0.0", []) == {"localhost", "127.0.0.1", "::1"}
