"""Each page rendered once before the server says it is serving, so that its first visitor is served like the next.

A page's first view after a start pays for more than its kernel: the server imports and sets up Voila's rendering
of a page request, and the API builds its score board on the first dashboard read. Rendering every page once,
internally and over the server's own HTTP (the whole path a visitor's request takes), pays for all that before the
address is printed. The kernels these views took are shut down; the pools then fill again.

The views are anonymous: they render the pages when the server asks nobody to sign in (HEALTHDASH_AUTH=none);
otherwise each is answered with the sign-in page. What the pages' kernels read first is asked for apart, with one of
the server's bootstrap tokens (`warm_api`): the dashboard (at 100,000 customers its body takes a good part of a
second to build from a new score board), the list's first page and the validation page's default backtest (seconds
at that scale), which the server then keeps until its inputs change.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPResponse

PAGE_TIMEOUT = 120.0  # seconds a page may take to render
KERNEL_ID = re.compile(r'"kernelId": ?"([0-9a-f-]{36})"')
log = logging.getLogger("healthdash")


async def warm_api(base_url: str, paths: Iterable[str], token: str) -> dict[str, int]:
    """GET each API path (`<base_url><path>`) as the bootstrap token `token`; return the statuses (a failure is
    logged, never raised: the server serves regardless)."""
    statuses: dict[str, int] = {}
    for path in paths:
        response = await _get(base_url + path, f"read {path}", {"Authorization": f"Bearer {token}"})
        statuses[path] = response.code if response is not None else 0
        if response is not None and response.code != 200:
            log.warning("could not read %s before serving: HTTP %s", path, response.code)
    return statuses


async def warm_pages(
    base_url: str, pages: Iterable[str], shut_down: Callable[[str], Awaitable[object]]
) -> dict[str, int]:
    """GET each page (`<base_url>/voila/render/<page>.ipynb`) to its end; shut its kernel down; return the statuses."""
    statuses: dict[str, int] = {}
    for page in pages:
        response = await _get(f"{base_url}/voila/render/{page}.ipynb", f"render {page}")
        statuses[page] = response.code if response is not None else 0
        body = response.body if response is not None else b""
        kernel = KERNEL_ID.search(body.decode("utf-8", errors="replace")) if body else None
        if kernel is not None:
            await shut_down(kernel[1])
    return statuses


async def _get(url: str, what: str, headers: dict[str, str] | None = None) -> HTTPResponse | None:
    """GET `url` over the server's own HTTP; None (and a line in the log saying what could not be done) on failure."""
    try:
        return await AsyncHTTPClient().fetch(url, headers=headers, request_timeout=PAGE_TIMEOUT, raise_error=False)
    except (HTTPClientError, OSError) as exc:
        log.warning("could not %s before serving: %s", what, exc)
        return None
