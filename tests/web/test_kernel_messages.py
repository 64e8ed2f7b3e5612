"""A page's kernel answers a malformed widget message without telling the browser about its inside."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from tests.api.client import call
from tests.conftest import TEST_TOKEN
from tests.databases import sample_data_copy
from tests.servers import RunningServer, start_server

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def server(admin_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of its own: what its kernels log about the malformed messages stays out of the other tests' log."""
    folder = tmp_path_factory.mktemp("messages")
    with (
        sample_data_copy(admin_url, template_db, "hd_messages") as url,
        start_server(url, folder, TEST_TOKEN) as running,
    ):
        yield running


INTERNALS = ("Traceback", "site-packages", 'File "', ".py", "/work/", "AttributeError", "TypeError")


def comm_message(comm_id: str, data: Any) -> dict[str, Any]:
    header = {
        "msg_id": uuid.uuid4().hex,
        "msg_type": "comm_msg",
        "username": "test",
        "session": uuid.uuid4().hex,
        "date": "2026-01-01T00:00:00Z",
        "version": "5.3",
    }
    content = {"comm_id": comm_id, "data": data}
    return {
        "header": header,
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": "shell",
        "buffers": [],
    }


async def exchange(
    url: str, headers: dict[str, str], messages: list[dict[str, Any]], seconds: float
) -> list[dict[str, Any]]:
    """Send messages over a kernel's websocket; return what comes back within `seconds`."""
    connection = await websocket_connect(HTTPRequest(url, headers=headers))
    for message in messages:
        await connection.write_message(json.dumps(message))
    received = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            text = await asyncio.wait_for(connection.read_message(), left)
        except TimeoutError:
            break
        if text is None:
            break
        if isinstance(text, str):
            received.append(json.loads(text))
    connection.close()
    return received


def test_a_malformed_widget_message_streams_no_traceback(server: RunningServer) -> None:
    page = call(server, "GET", "/voila/render/dashboard.ipynb")
    assert page.status == 200
    config = re.search(rb'id="jupyter-config-data"[^>]*>\s*(\{.*?\})\s*</script>', page.body, re.S)
    models = re.findall(rb'"model_id": ?"([0-9a-f]{32})"', page.body)
    assert config and models, "the page names its kernel and its widgets"
    kernel = json.loads(config[1])["kernelId"]
    url = server.url.replace("http://", "ws://") + f"/api/kernels/{kernel}/channels"
    malformed = [
        comm_message(models[0].decode(), {"method": "update", "state": 5}),
        comm_message(models[-1].decode(), {"method": "update", "state": {"layout": "IPY_MODEL_nope"}}),
        comm_message(models[0].decode(), {"method": "custom", "content": {"event": 1}}),
        comm_message("0" * 32, {"method": "update", "state": {}}),
    ]
    with ThreadPoolExecutor(1) as thread:  # an event loop of its own (the browser tests' may be running here)
        received = thread.submit(
            lambda: asyncio.run(exchange(url, {"Origin": server.url, **server.authorization}, malformed, seconds=5))
        ).result()
    assert any("could not handle" in json.dumps(m["content"]) for m in received), "the failures were noticed"
    told = [
        m
        for m in received
        if m.get("msg_type") in ("stream", "error") or m["header"]["msg_type"] in ("stream", "error")
    ]
    shown = json.dumps([m["content"] for m in told])
    for internal in INTERNALS:
        assert internal not in shown, shown[:2000]
