"""Every page and the pages' kernel websockets against each kind of visitor, over real HTTP: nobody, a viewer, a csm,
an admin (each signed in), a revoked token and an expired session. Pages render for people signed in and send
everyone else to the sign-in page; a kernel's websocket opens for its visitor and admins only."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from healthdash.access import SESSION_COOKIE
from healthdash.access.credentials import secret_hash
from tests.api.client import Reply, call
from tests.forms import cookies_of
from tests.people import ensure_person, people_of, session_secret
from tests.web.conftest import WebApp

pytestmark = [pytest.mark.slow]
PAGES = {
    "dashboard": "/voila/render/dashboard.ipynb",
    "customers": "/voila/render/customers.ipynb",
    "customer": "/voila/render/customer.ipynb?id=1",
    "explore": "/voila/render/explore.ipynb",
    "validation": "/voila/render/validation.ipynb",
}
PEOPLE = ("viewer", "csm", "admin")
REFUSED = ("anonymous", "revoked token", "expired session")


@pytest.fixture(scope="module")
def visitors(app: WebApp) -> Iterator[dict[str, dict[str, str]]]:
    """The headers each kind of visitor sends."""
    made = {role: {"Cookie": f"{SESSION_COOKIE}={session_secret(app.database_url, role)}"} for role in PEOPLE}
    made["anonymous"] = {}
    with people_of(app.database_url) as people:  # an admin's own token, revoked
        token_id, revoked = people.create_token("revoked", "admin", ensure_person(app.database_url, "admin"), "tests")
        people.revoke_token(token_id, "tests")
    made["revoked token"] = {"Authorization": f"Bearer {revoked}"}
    expired = session_secret(app.database_url, "admin")  # never used before it expired: no instance kept it
    engine = create_engine(app.database_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE secret_hash = :h"),
                         {"h": secret_hash(expired)})  # fmt: skip
    finally:
        engine.dispose()
    made["expired session"] = {"Cookie": f"{SESSION_COOKIE}={expired}"}
    yield made


def channels(app: WebApp, kernel: str, headers: dict[str, str]) -> int:
    """Open a kernel's websocket with these headers; return 101 when it opened, else the refusal's status."""

    async def connect() -> int:
        url = app.url.replace("http://", "ws://") + f"/api/kernels/{kernel}/channels"
        try:
            connection = await websocket_connect(HTTPRequest(url, headers={**headers, "Origin": app.url}))
        except HTTPClientError as exc:
            return exc.code
        connection.close()
        return 101

    with ThreadPoolExecutor(1) as thread:  # an event loop of its own
        return thread.submit(lambda: asyncio.run(connect())).result()


def kernel_of(page: Reply) -> str:
    found = re.search(rb'"kernelId": ?"([0-9a-f-]{36})"', page.body)
    assert found, "the page names its kernel"
    return found[1].decode()


def close(app: WebApp, page: Reply) -> None:
    """Shut the page's kernel down as the page does when it is closed (echoing its `_xsrf` cookie)."""
    xsrf = cookies_of(page)["_xsrf"].value
    headers = {"X-XSRFToken": xsrf, "Cookie": f"_xsrf={xsrf}"}
    assert call(app.server, "POST", f"/voila/api/shutdown/{kernel_of(page)}", raw=b"", headers=headers).status == 204


@pytest.mark.parametrize("role", PEOPLE)
@pytest.mark.parametrize("page", list(PAGES))
def test_a_page_renders_for_a_signed_in_person_and_its_kernel_is_theirs(
    app: WebApp, visitors: dict[str, dict[str, str]], page: str, role: str
) -> None:
    shown = call(app.server, "GET", PAGES[page], headers=visitors[role], token=None)
    assert shown.status == 200, shown.body[:300]
    assert shown.content_type == "text/html"
    kernel = kernel_of(shown)
    try:
        assert channels(app, kernel, visitors[role]) == 101
        for other in REFUSED:
            assert channels(app, kernel, visitors[other]) == 403, other
        others = [r for r in PEOPLE if r != role]
        expected = [101 if r == "admin" else 403 for r in others]  # an admin reaches any kernel, nobody else
        assert [channels(app, kernel, visitors[r]) for r in others] == expected
    finally:
        close(app, shown)


@pytest.mark.parametrize("visitor", REFUSED)
@pytest.mark.parametrize("page", list(PAGES))
def test_a_page_sends_anyone_else_to_sign_in_and_starts_no_kernel(
    app: WebApp, visitors: dict[str, dict[str, str]], page: str, visitor: str
) -> None:
    kernels = set(call(app.server, "GET", "/api/kernels").json())
    refused = call(app.server, "GET", PAGES[page], headers=visitors[visitor], token=None)
    assert refused.status == 302
    assert refused.headers["Location"] == f"/login?next={quote(PAGES[page], safe='')}"
    assert b"kernelId" not in refused.body
    assert set(call(app.server, "GET", "/api/kernels").json()) <= kernels


@pytest.mark.parametrize("visitor", ("anonymous", *PEOPLE, "revoked token", "expired session"))
def test_the_notebook_tree_is_served_to_nobody_and_the_page_scripts_to_anyone(
    app: WebApp, visitors: dict[str, dict[str, str]], visitor: str
) -> None:
    for path in ("/voila/tree", "/voila/tree/dashboard.ipynb"):
        assert call(app.server, "GET", path, headers=visitors[visitor], token=None).status == 404
    for path in ("/voila/static/voila.js", "/voila/templates/lab/static/voila.js"):
        script = call(app.server, "GET", path, headers=visitors[visitor], token=None)
        assert script.status == 200, path  # the pages' code, the same for everyone, holding no data
        assert script.content_type in ("application/javascript", "text/javascript")
