"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, and the real app over private data.

The browser is /usr/bin/chromium (never a browser Playwright downloads). Without it the tests are skipped, unless
CI=true, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import TEST_TOKEN
from tests.databases import sample_data_copy
from tests.people import sign_in_browser
from tests.servers import PREHEATED, RunningServer, start_server, wait_for_history

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# every page these tests open comes from one address, and a tab closed by the test may keep its kernel until culled
ONE_CLIENT = {"HEALTHDASH_MAX_PAGE_KERNELS": "64", "HEALTHDASH_MAX_KERNELS_PER_CLIENT": "64"}
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_TEXT = "<script>alert(2)</script>"


def launch_chromium(playwright: Any) -> Any:
    """Launch Debian's Chromium headless."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium for the whole session."""
    if not CHROMIUM.exists():
        reason = f"the browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def add_hostile_customer(database_url: str) -> int:
    """Add a customer named like an HTML injection, a customer for 60 days; return its id."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            return int(
                conn.execute(
                    text(
                        "INSERT INTO customers (name, segment, plan, seats, industry, region, owner, created_at) "
                        "VALUES (:name, 'smb', 'starter', 3, :text, 'emea', :text, now() - interval '60 days') "
                        "RETURNING id"
                    ),
                    {"name": HOSTILE_NAME, "text": HOSTILE_TEXT},
                ).scalar_one()
            )
    finally:
        engine.dispose()


@dataclass
class WebApp:
    """The running app and the id of its hostile customer."""

    server: RunningServer
    hostile_id: int
    database_url: str = ""

    @property
    def url(self) -> str:
        return self.server.url

    def page(self, name: str, query: str = "") -> str:
        """Return the address of a page: dashboard, customers, customer or explore."""
        return f"{self.url}/voila/render/{name}.ipynb{query}"

    def sign_in(self, browser_context: Any, role: str = "admin") -> None:
        """Give a browser profile a signed-in session of a person of this role (added to the database if needed)."""
        sign_in_browser(browser_context, self.url, self.database_url, role)


@pytest.fixture(scope="package")
def app(admin_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The real app (preheated kernels and all) over a private copy of the sample data with a hostile customer.

    The hostile customer has a login, an urgent ticket with a hostile subject and a login by a hostile user, which
    puts it among the most at risk.
    """
    with sample_data_copy(admin_url, template_db, "hd_web") as url:
        hostile = add_hostile_customer(url)
        with start_server(
            url, tmp_path_factory.mktemp("web-server"), TEST_TOKEN, {**PREHEATED, **ONE_CLIENT}
        ) as running:
            for body in (
                {"type": "login", "data": {"user": HOSTILE_TEXT}},
                {"type": "ticket_opened", "data": {"priority": "urgent", "subject": HOSTILE_TEXT}},
            ):
                status, _, answer = running.post_event(hostile, body)
                assert status == 201, answer
            wait_for_history(url)  # the pages' history charts show every day
            yield WebApp(running, hostile, url)


@pytest.fixture
def context(browser: Any, app: WebApp) -> Iterator[Any]:
    """A fresh browser profile at 1280 x 800, signed in to the app as an admin."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(30_000)
    app.sign_in(ctx)
    try:
        yield ctx
    finally:
        ctx.close()
