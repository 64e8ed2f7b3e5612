"""Anonymous visitors cannot exhaust the kernels: caps per server and per client, none left by a request that went
away, and idle kernels culled even while their page holds its websocket open."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from tests.api.client import Reply, call
from tests.conftest import TEST_TOKEN
from tests.databases import sample_data_copy
from tests.raw import connect, head
from tests.servers import RunningServer, start_server

pytestmark = [pytest.mark.slow]
IDLE = 30  # seconds after which the server culls an idle kernel
CAPS = {
    "HEALTHDASH_MAX_PAGE_KERNELS": "3",
    "HEALTHDASH_MAX_KERNELS_PER_CLIENT": "2",
    "HEALTHDASH_KERNEL_IDLE_TIMEOUT": str(IDLE),
}
PAGE = "/voila/render/dashboard.ipynb"


@pytest.fixture(scope="module")
def server(admin_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = Path(tmp_path_factory.mktemp("kernels"))
    with (
        sample_data_copy(admin_url, template_db, "hd_kernels") as url,
        start_server(url, folder, TEST_TOKEN, CAPS) as running,
    ):
        yield running


def kernel_of(page: Reply) -> str:
    config = re.search(rb'id="jupyter-config-data"[^>]*>\s*(\{.*?\})\s*</script>', page.body, re.S)
    assert page.status == 200 and config, page.body[:300]
    return str(json.loads(config[1])["kernelId"])


def test_a_client_over_its_cap_gets_a_clear_503_and_a_request_that_went_away_keeps_no_kernel(
    server: RunningServer,
) -> None:
    first = kernel_of(call(server, "GET", PAGE))
    with connect(server) as sock:  # a visitor who leaves after 0.2 s
        sock.sendall(head("GET", PAGE, {}))
        time.sleep(0.2)
    deadline = time.monotonic() + 60
    while (second := call(server, "GET", PAGE)).status == 503:  # its kernel is shut down once it has started
        assert time.monotonic() < deadline, "the kernel of the request that went away was kept"
        time.sleep(1)
    kernel_of(second)
    refused = call(server, "GET", PAGE)  # two pages open: this client's cap
    assert refused.status == 503
    assert refused.headers["Retry-After"].isdigit()
    assert refused.content_type == "text/html"
    assert b"busy" in refused.body and b"Traceback" not in refused.body
    assert call(server, "GET", f"/api/kernels/{first}").status == 200  # the open pages keep theirs


async def hold_websocket(url: str, headers: dict[str, str], seconds: float) -> bool:
    """Keep a kernel's websocket open (sending nothing) for `seconds`; return whether the server closed it first."""
    connection = await websocket_connect(HTTPRequest(url, headers=headers))
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            if await asyncio.wait_for(connection.read_message(), left) is None:
                return True
        except TimeoutError:
            break
    connection.close()
    return False


def test_an_idle_kernel_is_culled_while_its_page_holds_the_websocket_open(server: RunningServer) -> None:
    deadline = time.monotonic() + IDLE * 3
    while (page := call(server, "GET", PAGE)).status == 503:  # the pages of the test before are culled first
        assert time.monotonic() < deadline, "no kernel was culled"
        time.sleep(2)
    kernel = kernel_of(page)
    url = server.url.replace("http://", "ws://") + f"/api/kernels/{kernel}/channels"
    with ThreadPoolExecutor(1) as thread:  # an event loop of its own
        thread.submit(
            lambda: asyncio.run(hold_websocket(url, {"Origin": server.url, **server.authorization}, IDLE * 2 + 20))
        ).result()
    assert call(server, "GET", f"/api/kernels/{kernel}").status == 404
