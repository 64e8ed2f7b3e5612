"""What a page's kernel learns of the request that opened its page.

Voila starts a kernel for a page view with the request's details in its environment (QUERY_STRING and others),
or hands out a preheated kernel that has run its notebook up to here: that one asks the server for the request
over the websocket Voila serves for it (`/voila/query/<kernel id>`) and waits there until a visitor opens the page.
It asks with `websockets` alone, not `voila.utils.wait_for_request`: importing voila.utils loads Voila's server
side (about 700 modules, a CPU-second and 45 MB in every preheated kernel) for one websocket message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, MutableMapping

ATTEMPTS = 3  # the server may be too busy to answer the websocket in time: three tries
OPEN_TIMEOUT = 5.0  # seconds to reach the server's websocket


def _preheated(environ: MutableMapping[str, str]) -> bool:
    return environ.get("VOILA_PREHEAT") == "True"


def _arrived(environ: MutableMapping[str, str]) -> bool:
    return "QUERY_STRING" in environ  # Voila sets it (maybe empty) with the rest of the request's details


def request_url(environ: MutableMapping[str, str]) -> str:
    """The websocket on which the server sends a preheated kernel its page's request (Voila's variables name it)."""
    host = environ.get("VOILA_APP_IP", "127.0.0.1")
    port = environ.get("VOILA_APP_PORT", "8866")
    base = environ.get("VOILA_WS_BASE_URL", environ.get("VOILA_SERVER_URL", "/"))
    protocol = environ.get("VOILA_WS_PROTOCOL", "ws")
    return f"{protocol}://{host}:{port}{base}voila/query/{environ.get('VOILA_KERNEL_ID', '')}"


def receive_request(environ: MutableMapping[str, str]) -> None:
    """Wait on the server's websocket for the page's request; put its details into `environ`."""
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    try:
        with connect(request_url(environ), open_timeout=OPEN_TIMEOUT) as socket:
            details = json.loads(socket.recv())
    except (OSError, TimeoutError, WebSocketException, ValueError):
        return
    if isinstance(details, dict):
        environ.update({str(k): str(v) for k, v in details.items()})


def wait_for_page_request(
    environ: MutableMapping[str, str] = os.environ, wait: Callable[[], object] | None = None
) -> None:
    """In a preheated kernel, wait for the page request, so that what is fetched next is fresh; else return."""
    if not _preheated(environ):
        return
    for _ in range(ATTEMPTS):
        if wait is not None:
            wait()
        else:
            receive_request(environ)
        if _arrived(environ):
            return


def page_query_string(
    environ: MutableMapping[str, str] = os.environ, wait: Callable[[], object] | None = None
) -> str | None:
    """Return the query string of the page's address (None outside Voila), waiting for it in a preheated kernel."""
    wait_for_page_request(environ, wait)
    return environ.get("QUERY_STRING")
