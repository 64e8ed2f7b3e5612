"""Single sign-on as the compose profile `proxy` wires it: an authenticating proxy in front of deploy/haproxy.cfg in
front of an instance with HEALTHDASH_AUTH=proxy that trusts HAProxy's address only (needs haproxy).

oauth2-proxy cannot run here (it needs an identity provider), so a second HAProxy frontend stands in for it and does
what it does to each request: drops any X-Forwarded-Email the browser sent, and sets it to the person it signed in
(here named by the test in X-Signed-In-As, as oauth2-proxy's own session cookie would). HAProxy connects to the
instance from 127.0.0.2, as from its fixed address on the compose file's internal network; the test's own requests
come from 127.0.0.1, an address the instance does not trust.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from tests.api.client import call, problem
from tests.conftest import TEST_TOKEN
from tests.deploy.conftest import ROOT
from tests.deploy.haproxy import local_config
from tests.people import people_of
from tests.servers import RunningServer, loopback_socket, start_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (apt-get install haproxy)"),
]
HAPROXY_ADDRESS = "127.0.0.2"
HEADER = "X-Forwarded-Email"
SIGNED_IN_AS = "X-Signed-In-As"  # the stand-in's session: whom oauth2-proxy would have signed in
STAND_IN = """
frontend sso
    bind fd@{fd}
    http-request del-header X-Forwarded-Email
    http-request set-header X-Forwarded-Email %[req.hdr(X-Signed-In-As)] if {{ req.hdr(X-Signed-In-As) -m found }}
    http-request del-header X-Signed-In-As
    default_backend balancer

backend balancer
    server haproxy 127.0.0.1:{port}
"""


@dataclass
class SignOn:
    url: str  # the stand-in's: what people open
    instance: RunningServer


@pytest.fixture(scope="module")
def sign_on(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignOn]:
    """The stand-in for oauth2-proxy in front of deploy/haproxy.cfg in front of one instance in proxy mode."""
    folder = tmp_path_factory.mktemp("sso")
    environment = {"HEALTHDASH_AUTH": "proxy", "HEALTHDASH_TRUSTED_PROXIES": HAPROXY_ADDRESS}
    with (
        start_server(module_db_url, tmp_path_factory.mktemp("replica"), TEST_TOKEN, environment) as instance,
        loopback_socket() as balancer,
        loopback_socket() as front,
    ):
        shipped = (ROOT / "deploy" / "haproxy.cfg").read_text()
        config = local_config(shipped, balancer.fileno(), [instance], source=HAPROXY_ADDRESS)
        config += STAND_IN.format(fd=front.fileno(), port=balancer.getsockname()[1])
        (folder / "haproxy.cfg").write_text(config)
        with (folder / "haproxy.log").open("wb") as log:
            fds = (balancer.fileno(), front.fileno())
            process = subprocess.Popen(
                ["haproxy", "-f", str(folder / "haproxy.cfg")], stdout=log, stderr=subprocess.STDOUT, pass_fds=fds
            )
        try:
            url = f"http://127.0.0.1:{front.getsockname()[1]}"
            wait_until_answering(url, process)
            yield SignOn(url, instance)
        finally:
            process.terminate()
            process.wait(timeout=10)


def wait_until_answering(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "haproxy exited"
        try:
            with urllib.request.urlopen(url + "/api/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        assert time.monotonic() < deadline, "the proxies never answered"
        time.sleep(0.2)


def through(sign_on: SignOn, path: str, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    """Send a GET through the stand-in (no bearer token), following no redirect."""
    front = RunningServer(sign_on.url, "", sign_on.instance.process, sign_on.instance.log)
    reply = call(front, "GET", path, headers=headers, token=None)
    return reply.status, reply.body, dict(reply.headers)


def role_of(database_url: str, email: str) -> str | None:
    with people_of(database_url) as people:
        found = [u["role"] for u in people.users() if u["email"] == email]
    return found[0] if found else None


def test_a_person_the_proxy_signed_in_is_let_in_with_the_default_role(sign_on: SignOn, module_db_url: str) -> None:
    assert role_of(module_db_url, "first.visit@example.com") is None
    status, body, _ = through(sign_on, "/api/me", {SIGNED_IN_AS: "first.visit@example.com"})
    assert status == 200, body[:300]
    assert b'"via":"proxy"' in body.replace(b" ", b"") and b'"role":"viewer"' in body.replace(b" ", b"")
    assert role_of(module_db_url, "first.visit@example.com") == "viewer"


def test_the_same_header_sent_to_the_instance_directly_is_refused(sign_on: SignOn) -> None:
    forged = {HEADER: "first.visit@example.com"}
    reply = call(sign_on.instance, "GET", "/api/me", headers=forged, token=None)
    assert "trusted proxies" in problem(reply, 403)["detail"]
    page = call(sign_on.instance, "GET", "/voila/render/dashboard.ipynb", headers=forged, token=None)
    assert page.status == 403


def test_a_header_the_browser_forges_does_not_pass_the_proxy(sign_on: SignOn) -> None:
    status, _, _ = through(sign_on, "/api/me", {HEADER: "admin@example.com"})  # not signed in at the proxy
    assert status == 401
    status, body, _ = through(sign_on, "/api/me", {HEADER: "admin@example.com", SIGNED_IN_AS: "ana@example.com"})
    assert b"ana@example.com" in body and b"admin@example.com" not in body


def test_a_page_and_its_kernel_websocket_work_through_the_proxies(sign_on: SignOn) -> None:
    person = {SIGNED_IN_AS: "reads.pages@example.com"}
    status, page, headers = through(sign_on, "/voila/render/dashboard.ipynb", person)
    assert status == 200, page[:300]
    kernel = re.search(rb'"kernelId": ?"([0-9a-f-]{36})"', page)
    assert kernel, "the page names its kernel"
    cookies = "; ".join(c.split(";", 1)[0] for c in [headers.get("Set-Cookie", "")] if c)

    async def channels(who: dict[str, str]) -> int:
        url = sign_on.url.replace("http://", "ws://") + f"/api/kernels/{kernel[1].decode()}/channels"
        request = HTTPRequest(url, headers={**who, "Origin": sign_on.url, "Cookie": cookies})
        try:
            connection = await websocket_connect(request)
        except HTTPClientError as exc:
            return exc.code
        connection.close()
        return 101

    assert asyncio.run(channels(person)) == 101
    assert asyncio.run(channels({SIGNED_IN_AS: "someone.else@example.com"})) == 403  # another person's kernel
    assert asyncio.run(channels({})) == 403  # nobody
