"""A page records only what its visitor may: driving the event form over the kernel's websocket, as any visitor
could, stores a csm's event under their name and nothing of a viewer's."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from healthdash.access import SESSION_COOKIE
from tests.api.client import call
from tests.people import email_of, session_secret
from tests.web.conftest import WebApp

pytestmark = [pytest.mark.slow]
CUSTOMER = 3


def message(msg_type: str, content: dict[str, Any]) -> dict[str, Any]:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "visitor", "session": uuid.uuid4().hex,
              "date": "2026-01-01T00:00:00Z", "version": "5.3"}  # fmt: skip
    return {
        "header": header,
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": "shell",
        "buffers": [],
    }


async def click_record(url: str, headers: dict[str, str]) -> bool:
    """Find the event form's button among the page's widgets and click it; return whether it was found."""
    connection = await websocket_connect(HTTPRequest(url, headers=headers))
    try:
        await connection.write_message(json.dumps(message("comm_info_request", {"target_name": "jupyter.widget"})))
        comms: list[str] = []
        states: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text_ = await asyncio.wait_for(connection.read_message(), deadline - time.monotonic())
            if not isinstance(text_, str):
                break
            reply = json.loads(text_)
            kind = reply["header"]["msg_type"]
            if kind == "comm_info_reply":
                comms = list(reply["content"]["comms"])
                for comm in comms:
                    request = message("comm_msg", {"comm_id": comm, "data": {"method": "request_state"}})
                    await connection.write_message(json.dumps(request))
            elif kind == "comm_msg" and reply["content"]["data"].get("method") == "update":
                states[reply["content"]["comm_id"]] = reply["content"]["data"]["state"]
                if comms and len(states) >= len(comms):
                    break
        buttons = [c for c, s in states.items() if s.get("description") == "Record event"]
        for comm in buttons:
            click = message("comm_msg", {"comm_id": comm, "data": {"method": "custom", "content": {"event": "click"}}})
            await connection.write_message(json.dumps(click))
        await asyncio.sleep(3)  # the kernel calls the API meanwhile
        return bool(buttons)
    finally:
        connection.close()


def recorded_by(database_url: str, email: str) -> int:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            query = "SELECT count(*) FROM events WHERE customer_id = :c AND recorded_by = :e"
            return int(conn.execute(text(query), {"c": CUSTOMER, "e": email}).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize(("role", "stored"), [("csm", 1), ("viewer", 0)])
def test_driving_the_form_over_the_websocket_records_only_what_the_visitor_may(
    app: WebApp, role: str, stored: int
) -> None:
    cookie = f"{SESSION_COOKIE}={session_secret(app.database_url, role)}"
    page = call(app.server, "GET", f"/voila/render/customer.ipynb?id={CUSTOMER}", headers={"Cookie": cookie},
                token=None)  # fmt: skip
    assert page.status == 200
    kernel = re.search(rb'"kernelId": ?"([0-9a-f-]{36})"', page.body)
    assert kernel
    url = app.url.replace("http://", "ws://") + f"/api/kernels/{kernel[1].decode()}/channels"
    before = recorded_by(app.database_url, email_of(role))
    with ThreadPoolExecutor(1) as thread:  # an event loop of its own
        found = thread.submit(lambda: asyncio.run(click_record(url, {"Cookie": cookie, "Origin": app.url}))).result()
    assert found, "the page's kernel holds the event form, shown or not"
    assert recorded_by(app.database_url, email_of(role)) - before == stored
