"""Open the app's pages in Chromium and watch for everything a visitor should never meet."""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

FIRST_WIDGET = ".hd-page"
PAGE_TIMEOUT_MS = 90_000  # a page whose preheated kernel is still being replaced waits for a fresh one
BROKEN = ("Error loading widget", "There was an error when executing cell", "Traceback")


@dataclass
class Visit:
    """A browser tab on the app, with what went wrong in it."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    seconds_to_first_widget: float = 0.0

    def problems(self) -> list[str]:
        """Everything that went wrong, as text (empty when nothing did)."""
        body = self.page.inner_text("body")
        broken = [f"page says {phrase!r}" for phrase in BROKEN if phrase in body]
        return [
            *broken,
            *(f"console error: {e}" for e in self.console_errors),
            *(f"failed request: {r}" for r in self.failed_requests),
            *(f"request to the internet: {r}" for r in self.outside_requests),
            *(f"dialog opened: {d}" for d in self.dialogs),
        ]


def visit(context: Any, url: str) -> Visit:
    """Open `url` in a new tab of `context` and wait for the page's first widget to be visible."""
    page = context.new_page()
    seen = Visit(page)
    local = urllib.parse.urlsplit(url).hostname
    page.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.console_errors.append(str(e)))
    page.on("requestfailed", lambda r: seen.failed_requests.append(f"{r.url} ({r.failure})"))
    page.on(
        "request",
        lambda r: (
            seen.outside_requests.append(r.url)
            if urllib.parse.urlsplit(r.url).hostname not in (local, None) and not r.url.startswith("data:")
            else None
        ),
    )

    def dismiss(dialog: Any) -> None:
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    started = time.monotonic()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(FIRST_WIDGET, state="visible", timeout=PAGE_TIMEOUT_MS)
    seen.seconds_to_first_widget = time.monotonic() - started
    return seen


def expect(locator: Any) -> Any:
    """Playwright's assertions on a locator (imported here: Playwright is needed by the browser tests only)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)
