"""The security headers of every answer: what a page may load and run, who may frame it, what it tells other sites.

A page's inline scripts (Voila's setup code) run by a nonce drawn for that page alone; everything else a page runs is
a file of this server. Styles may be inline (the widgets set theirs on each element), nothing is loaded from
elsewhere, nothing frames the app, and no address leaks in a Referer header.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from tornado.web import RequestHandler

# everything but a page: nothing to run or load, nothing to frame it
BASE_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": BASE_POLICY,
}
_SCRIPT_TAG = re.compile(r"<script(?=[\s>])")


def page_policy(nonce: str) -> str:
    """Return the Content-Security-Policy of a page whose inline scripts carry `nonce`."""
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        ]
    )


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def with_nonce(html: str, nonce: str) -> str:
    """Give every script tag of a page's markup the page's nonce (customer text reaches the page JSON-escaped)."""
    return _SCRIPT_TAG.sub(f'<script nonce="{nonce}"', html)


class SecurityHeaders(RequestHandler):
    """Mixed in before a handler: the security headers, where the handler sets none of its own."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        for name, value in HEADERS.items():
            if name not in self._headers:
                self.set_header(name, value)


def cookie_options(https: bool) -> dict[str, Any]:
    """Return how the app's cookies are set: for the browser session only, same-site, Secure behind https."""
    options: dict[str, Any] = {"samesite": "Lax", "expires_days": None}
    if https:
        options["secure"] = True
    return options
