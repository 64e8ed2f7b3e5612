"""Clean error answers for the routes Voila and Jupyter serve: a short HTML page, or a problem document under /api/.

Their own error pages need a static setup that standalone Voila lacks (an empty 500 and a logged traceback), load
a stylesheet from a CDN, or show an exception's message. These say the status and where to go, and nothing about
the server's inside.
"""

from __future__ import annotations

import html
import json
from http import HTTPStatus
from typing import Any

from tornado.web import HTTPError, RequestHandler

from healthdash.security_headers import SecurityHeaders

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{status} {phrase} · healthdash</title>
<style>body{{font-family:system-ui,sans-serif;margin:4rem auto;max-width:36rem;color:#222}}</style></head>
<body><h1>{phrase}</h1><p>{sentence}</p><p><a href="/">Go to the dashboard</a></p></body></html>
"""
RETRY_AFTER_SECONDS = 30
SENTENCES = {
    400: "The request could not be understood.",
    403: "This address is not served.",
    404: "There is no page at this address.",
    405: "This address does not take that kind of request.",
    503: "The server is busy; try again in a moment.",
}


def phrase_of(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class CleanErrors(RequestHandler):
    """Mixed in before a Voila or Jupyter handler: its errors answer a page (or a problem document), no internals."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code >= 500 and status_code != 503:
            status_code = 500
        phrase = phrase_of(status_code)
        self.clear()
        self.set_status(status_code)
        self.set_header("Cache-Control", "no-store")
        if status_code == 503:
            self.set_header("Retry-After", str(RETRY_AFTER_SECONDS))
        if self.request.path.startswith("/api/"):
            document = {"type": "about:blank", "title": phrase, "status": status_code, "detail": phrase.lower()}
            self.set_header("Content-Type", "application/problem+json")
            RequestHandler.finish(self, json.dumps(document))  # not Jupyter's finish, which would label it JSON
            return
        sentence = SENTENCES.get(status_code, "Something went wrong on our side; it has been logged.")
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        RequestHandler.finish(self, PAGE.format(status=status_code, phrase=html.escape(phrase), sentence=sentence))


class NotFoundPage(CleanErrors, SecurityHeaders):
    """Every address no route serves."""

    def prepare(self) -> None:
        raise HTTPError(404)
