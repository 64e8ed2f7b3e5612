"""A page's kernel over its websocket: it answers a malformed widget message without telling the browser about its
inside, and the state of all its widgets in one message, sent without delay."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
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


def comm_message(
    comm_id: str, data: Any, kind: str = "comm_msg", metadata: dict[str, Any] | None = None, **content: Any
) -> dict[str, Any]:
    header = {
        "msg_id": uuid.uuid4().hex,
        "msg_type": kind,
        "username": "test",
        "session": uuid.uuid4().hex,
        "date": "2026-01-01T00:00:00Z",
        "version": "5.3",
    }
    return {
        "header": header,
        "parent_header": {},
        "metadata": metadata or {},
        "content": {"comm_id": comm_id, "data": data, **content},
        "channel": "shell",
        "buffers": [],
    }


async def exchange(
    url: str,
    headers: dict[str, str],
    messages: list[dict[str, Any]],
    seconds: float,
    connected: Callable[[tuple[str, int]], None] = lambda address: None,
) -> list[dict[str, Any]]:
    """Send messages over a kernel's websocket; return what comes back within `seconds`. `connected` is told the
    websocket's local address first."""
    connection = await websocket_connect(HTTPRequest(url, headers=headers))
    stream = connection.protocol.stream if connection.protocol else None
    assert stream is not None
    connected(stream.socket.getsockname())
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


def opened_page(server: RunningServer) -> tuple[str, list[str]]:
    """Open the dashboard; return the address of its kernel's websocket and the widgets the page names."""
    page = call(server, "GET", "/voila/render/dashboard.ipynb")
    assert page.status == 200
    config = re.search(rb'id="jupyter-config-data"[^>]*>\s*(\{.*?\})\s*</script>', page.body, re.S)
    models = re.findall(rb'"model_id": ?"([0-9a-f]{32})"', page.body)
    assert config and models, "the page names its kernel and its widgets"
    kernel = json.loads(config[1])["kernelId"]
    return server.url.replace("http://", "ws://") + f"/api/kernels/{kernel}/channels", [m.decode() for m in models]


def test_a_malformed_widget_message_streams_no_traceback(server: RunningServer) -> None:
    url, models = opened_page(server)
    malformed = [
        comm_message(models[0], {"method": "update", "state": 5}),
        comm_message(models[-1], {"method": "update", "state": {"layout": "IPY_MODEL_nope"}}),
        comm_message(models[0], {"method": "custom", "content": {"event": 1}}),
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


def server_socket_nodelay(server: RunningServer, client: tuple[str, int]) -> bool:
    """Whether the server's end of the TCP connection from `client` has TCP_NODELAY set, read from a copy of the
    server's socket (pidfd_getfd: the tests run as the server's parent, or as root)."""
    peer = f"{socket.inet_aton(client[0])[::-1].hex().upper()}:{client[1]:04X}"
    with open("/proc/net/tcp") as table:
        inodes = [line.split()[9] for line in table.readlines()[1:] if line.split()[2] == peer]
    pid = server.process.pid
    links: dict[str, int] = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(FileNotFoundError):  # closed by the server since it was listed
            links[os.readlink(f"/proc/{pid}/fd/{fd}")] = int(fd)
    fds = [links[f"socket:[{inode}]"] for inode in inodes if f"socket:[{inode}]" in links]
    assert len(fds) == 1, "the server's end of the websocket"
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = libc.syscall(434, pid, 0)  # pidfd_open
    copy = libc.syscall(438, pidfd, fds[0], 0)  # pidfd_getfd
    assert pidfd >= 0 and copy >= 0, os.strerror(ctypes.get_errno())
    try:
        with socket.socket(fileno=copy) as copied:
            return bool(copied.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    finally:
        os.close(pidfd)


def test_a_page_gets_every_widgets_state_in_one_message_sent_at_once(server: RunningServer) -> None:
    """A page's widget manager asks its kernel for all states over the control comm: one answer holding every
    widget the page names (its kernel was forked from the zygote, which imported ipywidgets before any kernel
    existed). The server writes the kernel's frames without waiting for the browser's acknowledgements (Nagle's
    algorithm and delayed ACKs made each round trip 40 ms)."""
    url, models = opened_page(server)
    control = uuid.uuid4().hex
    from ipywidgets._version import __control_protocol_version__

    version = {"version": __control_protocol_version__}
    asked = [
        comm_message(control, {}, kind="comm_open", metadata=version, target_name="jupyter.widget.control"),
        comm_message(control, {"method": "request_states"}, metadata=version),
    ]
    nodelay: list[bool] = []
    with ThreadPoolExecutor(1) as thread:
        received = thread.submit(
            lambda: asyncio.run(
                exchange(
                    url,
                    {"Origin": server.url, **server.authorization},
                    asked,
                    seconds=5,
                    connected=lambda address: nodelay.append(server_socket_nodelay(server, address)),
                )
            )
        ).result()
    assert nodelay == [True]
    answers = [
        m["content"]["data"] for m in received if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == control
    ]
    assert [a["method"] for a in answers] == ["update_states"]
    assert set(models) <= set(answers[0]["states"]), "every widget of the page, in the one answer"
