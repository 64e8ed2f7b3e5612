"""Voila's routes as this app serves them: only those the pages use, each answering its errors cleanly."""

from __future__ import annotations

from typing import Any

from tornado.web import HTTPError, RequestHandler
from voila.static_file_handler import TemplateStaticFileHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler

from healthdash.error_pages import CleanErrors
from healthdash.security_headers import SecurityHeaders, new_nonce, page_policy, with_nonce


class PageHandler(TornadoVoilaHandler):  # type: ignore[misc]
    """Voila's page handler, also setting the `_xsrf` cookie.

    A page asks to shut its kernel down when it is closed, with a POST that echoes the `_xsrf` cookie. Standalone
    Voila never sets that cookie, so the POST fails the XSRF check and kernels linger (voila#1458). Setting the
    cookie on the page keeps the check and lets the shutdown through.

    The page's inline scripts carry a nonce drawn for it, which its Content-Security-Policy names.
    """

    @property
    def nonce(self) -> str:
        if not hasattr(self, "_nonce"):
            self._nonce = new_nonce()
        return self._nonce

    @property
    def content_security_policy(self) -> str:
        return page_policy(self.nonce)

    async def prepare(self) -> None:
        await super().prepare()
        self.xsrf_token  # noqa: B018  (reading it sets the cookie)

    def write(self, chunk: str | bytes | dict[str, Any]) -> None:
        if isinstance(chunk, str):
            chunk = with_nonce(chunk, self.nonce)
        elif isinstance(chunk, bytes):
            chunk = with_nonce(chunk.decode("utf-8"), self.nonce).encode("utf-8")
        super().write(chunk)


class TemplateFiles(TemplateStaticFileHandler):  # type: ignore[misc]
    """Voila's template static files, answering 404 for a path not of the form `<template>/static/<file>`."""

    def parse_url_path(self, path: str) -> str:
        parts = path.split("/", 2)
        if len(parts) != 3 or parts[1] != "static" or not parts[0] or ".." in parts:
            raise HTTPError(404)
        return str(super().parse_url_path(path))


REPLACED: dict[type[RequestHandler], type[RequestHandler]] = {
    TornadoVoilaHandler: PageHandler,
    TemplateStaticFileHandler: TemplateFiles,
}


def page_routes(voila_routes: list[Any], unused: set[type[RequestHandler]]) -> list[Any]:
    """Return Voila's routes without the `unused` handlers (and the notebook tree), the others answering cleanly."""
    routes = []
    for pattern, handler, *rest in voila_routes:
        if handler in unused or handler is TornadoVoilaTreeHandler:
            continue
        routes.append((pattern, served(REPLACED.get(handler, handler)), *rest))
    return routes


def served(handler: type[RequestHandler]) -> type[RequestHandler]:
    """Return the handler class answering its errors cleanly and with the security headers."""
    if issubclass(handler, CleanErrors):
        return handler
    bases = (CleanErrors, SecurityHeaders, handler)
    return type(handler.__name__, bases, {"__module__": __name__, "__doc__": handler.__doc__})
