"""The example proxy configuration keeps a browser's page and kernel websocket on one instance (needs haproxy)."""

from __future__ import annotations

import asyncio
import http.cookiejar
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from tests.conftest import TEST_TOKEN
from tests.deploy.conftest import ROOT
from tests.deploy.haproxy import local_config
from tests.people import ensure_person, people_of
from tests.servers import PREHEATED, loopback_socket, start_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (apt-get install haproxy)"),
]
COOKIE = "HDINSTANCE"


@pytest.fixture(scope="module")
def proxy(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """HAProxy with deploy/haproxy.cfg in front of two instances; yields its URL."""
    folder = tmp_path_factory.mktemp("proxy")
    with (
        start_server(module_db_url, tmp_path_factory.mktemp("one"), TEST_TOKEN, PREHEATED) as one,
        start_server(module_db_url, tmp_path_factory.mktemp("two"), TEST_TOKEN, PREHEATED) as two,
        loopback_socket() as sock,  # HAProxy listens on this socket (`bind fd@N`): its port is held from the start
    ):
        config = folder / "haproxy.cfg"
        config.write_text(local_config((ROOT / "deploy" / "haproxy.cfg").read_text(), sock.fileno(), [one, two]))
        with (folder / "haproxy.log").open("wb") as log:
            process = subprocess.Popen(
                ["haproxy", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT, pass_fds=(sock.fileno(),)
            )
        try:
            url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            wait_for_both_instances(url)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def instance_cookie(url: str) -> str:
    """Return the instance cookie the proxy sets for a browser that has none."""
    with urllib.request.urlopen(url + "/api/healthz", timeout=10) as response:
        match = re.search(COOKIE + r"=([0-9a-f]+)", response.headers.get("Set-Cookie", ""))
    assert match, "the proxy set no instance cookie"
    return match[1]


def wait_for_both_instances(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while len(seen) < 2:
        assert time.monotonic() < deadline, f"the proxy did not spread browsers over both instances: {seen}"
        try:
            seen.add(instance_cookie(url))
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)


async def open_channels(url: str, kernel: str, cookies: str) -> int:
    """Open a kernel's websocket through the proxy; return the status (101 when it opened)."""
    request = HTTPRequest(
        url.replace("http://", "ws://") + f"/api/kernels/{kernel}/channels",
        headers={"Cookie": cookies, "Origin": url},
    )
    try:
        connection = await websocket_connect(request)
    except HTTPClientError as exc:
        return exc.code
    connection.close()
    return 101


def test_a_page_and_its_kernel_websocket_reach_the_same_instance(proxy: str, module_db_url: str) -> None:
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with people_of(module_db_url) as people:  # signed in on one instance, known to both (the sessions are shared)
        link = people.sign_in_link(ensure_person(module_db_url, "viewer"), proxy, "tests")
    page = browser.open(link, timeout=120).read().decode()  # on to the dashboard
    kernel = re.search(r'"kernelId": "([0-9a-f-]+)"', page)
    assert kernel, "the page names no kernel"
    cookies = {c.name: c.value for c in jar}
    assert COOKIE in cookies

    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    assert [asyncio.run(open_channels(proxy, kernel[1], header)) for _ in range(3)] == [101, 101, 101]

    # the same browser sent to the other instance would find no kernel there: that is what the cookie prevents
    other = next(c for c in (instance_cookie(proxy) for _ in range(20)) if c != cookies[COOKIE])
    elsewhere = header.replace(f"{COOKIE}={cookies[COOKIE]}", f"{COOKIE}={other}")
    assert asyncio.run(open_channels(proxy, kernel[1], elsewhere)) != 101


def test_the_proxy_configuration_is_valid() -> None:
    result = subprocess.run(
        ["haproxy", "-c", "-f", str(ROOT / "deploy" / "haproxy.cfg")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
