"""Pages render under a real Content-Security-Policy: only the server's own scripts and the page's nonce run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.api.client import call
from tests.web.conftest import WebApp
from tests.web.pages import visit

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SCREENSHOTS = Path("/tmp/healthdash-csp-screenshots")


def test_a_page_names_a_fresh_nonce_and_nothing_else_inline(app: WebApp) -> None:
    first = call(app.server, "GET", "/voila/render/dashboard.ipynb")
    second = call(app.server, "GET", "/voila/render/dashboard.ipynb")
    policies = [reply.headers["Content-Security-Policy"] for reply in (first, second)]
    nonces = [re.search(r"'nonce-([^']+)'", policy) for policy in policies]
    assert nonces[0] and nonces[1] and nonces[0][1] != nonces[1][1]
    for directive in ("default-src 'none'", "connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
        assert directive in policies[0]
    assert "unsafe-eval" not in policies[0] and "report-uri" not in policies[0]
    scripts = re.findall(rb"<script[^>]*>", first.body)
    assert scripts and all(f'nonce="{nonces[0][1]}"'.encode() in tag for tag in scripts)
    assert first.headers["Referrer-Policy"] == "no-referrer"


def test_cookies_last_the_session_and_stay_on_this_site(app: WebApp) -> None:
    reply = call(app.server, "GET", "/voila/render/dashboard.ipynb")
    cookies = reply.headers.get_all("Set-Cookie") or []
    assert cookies, "the page sets its identity and _xsrf cookies"
    for cookie in cookies:
        assert "SameSite=Lax" in cookie
        assert "expires" not in cookie.lower() and "max-age" not in cookie.lower()


@pytest.mark.parametrize("name", ["dashboard", "customers", "customer", "explore", "validation"])
def test_every_page_renders_its_widgets_under_the_policy(app: WebApp, context: Any, name: str) -> None:
    query = f"?id={app.hostile_id}" if name == "customer" else ""
    seen = visit(context, app.page(name, query))
    page = seen.page
    page.wait_for_selector(".hd-body .widget-html, .hd-body table, .hd-body svg", state="visible")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert not [e for e in seen.console_errors if "Content Security Policy" in e], seen.console_errors
    assert seen.problems() == []
    injected = "() => { const s = document.createElement('script'); s.textContent = 'window.hdRan = 1';"
    injected += " document.head.appendChild(s); return window.hdRan === 1; }"
    assert page.evaluate(injected) is False  # a script the server did not send does not run
