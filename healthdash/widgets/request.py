"""What a page's kernel learns of the request that opened its page.

Voila starts a kernel for a page view with the request's details in its environment (QUERY_STRING and others),
or hands out a preheated kernel that has run its notebook up to here: that one asks the server for the request
with `voila.utils.get_query_string` / `wait_for_request`, which wait until a visitor opens the page. voila.utils
is imported only then, since importing it adds a second of start-up to every other kernel.
"""

from __future__ import annotations

import os
from collections.abc import Callable, MutableMapping

ATTEMPTS = 3  # voila.utils gives up reaching the server after 5 seconds; a busy server gets three tries


def _preheated(environ: MutableMapping[str, str]) -> bool:
    return environ.get("VOILA_PREHEAT") == "True"


def _arrived(environ: MutableMapping[str, str]) -> bool:
    return "QUERY_STRING" in environ  # Voila sets it (maybe empty) with the rest of the request's details


def wait_for_page_request(
    environ: MutableMapping[str, str] = os.environ, wait: Callable[[], object] | None = None
) -> None:
    """In a preheated kernel, wait for the page request, so that what is fetched next is fresh; else return."""
    if not _preheated(environ):
        return
    if wait is None:
        from voila.utils import wait_for_request

        wait = wait_for_request
    for _ in range(ATTEMPTS):
        wait()
        if _arrived(environ):
            return


def page_query_string(
    environ: MutableMapping[str, str] = os.environ, get: Callable[[], str | None] | None = None
) -> str | None:
    """Return the query string of the page's address (None outside Voila), waiting for it in a preheated kernel."""
    if not _preheated(environ):
        return environ.get("QUERY_STRING")
    if get is None:
        from voila.utils import get_query_string

        get = get_query_string
    for _ in range(ATTEMPTS):
        query = get()
        if _arrived(environ):
            return query
    return None
