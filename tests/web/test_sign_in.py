"""Signing in and out in Chromium, and pages that act as the person who opened them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.access import SESSION_COOKIE
from healthdash.access.credentials import secret_hash
from tests.people import PASSWORD, ensure_person, session_secret
from tests.web.conftest import WebApp
from tests.web.pages import FIRST_WIDGET, visit

pytestmark = pytest.mark.browser


def rows(database_url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


@pytest.fixture
def stranger(browser: Any) -> Any:
    """A browser profile that has not signed in."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


def submit(page: Any, email: str, password: str) -> None:
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_signing_in_with_a_wrong_then_the_right_password_and_out_again(app: WebApp, stranger: Any) -> None:
    email = ensure_person(app.database_url, "csm", "chromium@example.com")
    page = stranger.new_page()
    page.goto(app.page("customers"))
    page.wait_for_url("**/login?next=*")
    submit(page, email, "not my password")
    assert page.locator("[role=alert]").inner_text() == "Wrong email or password."
    submit(page, email, PASSWORD)
    page.wait_for_url("**/voila/render/customers.ipynb")
    page.wait_for_selector(FIRST_WIDGET, state="visible", timeout=90_000)
    cookie = next(c for c in stranger.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("() => document.cookie").find(SESSION_COOKIE) == -1  # scripts never see it
    page.goto(app.url + "/logout")
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url("**/login")
    page.goto(app.page("dashboard"))
    page.wait_for_url("**/login?next=*")


def test_guessing_is_throttled(app: WebApp, stranger: Any) -> None:
    email = ensure_person(app.database_url, "viewer", "guessed.in.chromium@example.com")
    page = stranger.new_page()
    page.goto(app.url + "/login")
    for _ in range(5):
        submit(page, email, "a wrong guess")
    submit(page, email, PASSWORD)
    assert "Too many failed sign-ins" in page.locator("[role=alert]").inner_text()
    assert not [c for c in stranger.cookies() if c["name"] == SESSION_COOKIE]


def test_an_expired_session_is_sent_to_sign_in(app: WebApp, stranger: Any) -> None:
    secret = session_secret(app.database_url, "viewer")
    rows(app.database_url, "UPDATE sessions SET expires_at = now() WHERE secret_hash = :h", h=secret_hash(secret))
    stranger.add_cookies([{"name": SESSION_COOKIE, "value": secret, "url": app.url}])
    page = stranger.new_page()
    page.goto(app.page("dashboard"))
    page.wait_for_url("**/login?next=*")


def test_a_viewer_sees_no_event_form_and_their_page_acts_as_them(app: WebApp, stranger: Any) -> None:
    app.sign_in(stranger, "viewer")
    seen = visit(stranger, app.page("customer", "?id=1"))
    seen.page.get_by_role("tab", name="Activity").wait_for()
    assert seen.page.locator(".hd-form").count() == 0
    assert seen.problems() == []
    kernel = json.loads(seen.page.locator("#jupyter-config-data").inner_text())["kernelId"]
    tokens = rows(
        app.database_url,
        "SELECT t.role, u.email, t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.kind = 'page' AND u.email = 'viewer@example.com'",
    )
    assert tokens and all(role == "viewer" for role, _, _ in tokens)
    live = [t for t in tokens if t.revoked_at is None]
    assert live, "the open page's kernel holds a live token"
    seen.page.goto("about:blank")  # the page asks to shut its kernel down; its token goes with it
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        left = rows(
            app.database_url,
            "SELECT count(*) FROM api_tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.kind = 'page' AND u.email = 'viewer@example.com' AND t.revoked_at IS NULL",
        )[0][0]
        if left < len(live):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the page token of kernel {kernel} outlived it")


@pytest.mark.parametrize("role", ["csm", "admin"])
def test_a_csm_or_an_admin_sees_the_event_form(app: WebApp, stranger: Any, role: str, tmp_path: Path) -> None:
    app.sign_in(stranger, role)
    seen = visit(stranger, app.page("customer", "?id=1"))
    seen.page.locator(".hd-form").first.wait_for()
    assert seen.page.get_by_role("button", name="Record event").is_visible()
    assert seen.problems() == []
    seen.page.locator(".hd-form").first.screenshot(path=str(tmp_path / f"form-as-{role}.png"))
