"""Voila's routes as this app serves them: only those the pages use, each answering its errors cleanly."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from jupyter_server.base.handlers import FileFindHandler
from tornado.web import HTTPError, RequestHandler
from voila.request_info_handler import RequestInfoSocketHandler
from voila.static_file_handler import TemplateStaticFileHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler

from healthdash.api.context import ApiContext
from healthdash.error_pages import CleanErrors
from healthdash.identity import principal_of
from healthdash.kernel_caps import KernelCaps
from healthdash.page_kernels import PageKernels
from healthdash.page_tokens import HEADER, ROLE_HEADER, PageTokens
from healthdash.security_headers import SecurityHeaders, new_nonce, page_policy, with_nonce


class PageHandler(TornadoVoilaHandler):  # type: ignore[misc]
    """Voila's page handler, also setting the `_xsrf` cookie.

    A page asks to shut its kernel down when it is closed, with a POST that echoes the `_xsrf` cookie. Standalone
    Voila never sets that cookie, so the POST fails the XSRF check and kernels linger (voila#1458). Setting the
    cookie on the page keeps the check and lets the shutdown through.

    The page's inline scripts carry a nonce drawn for it, which its Content-Security-Policy names.

    A page's kernel counts against the caps (`KernelCaps`, in the `healthdash_kernel_caps` setting): over them the
    request is answered 503 with Retry-After before any kernel starts; a kernel whose request went away before its
    page was delivered is shut down.

    A page's kernel calls the API as its visitor: with a page token made for them (bound to their session), which
    reaches the kernel's environment with the request (Voila's `http_header_envs`) and is revoked once the kernel is
    gone (`PageTokens`).
    """

    reservation: int | None = None
    page_token: int | None = None
    kernel_id: str | None = None
    gone = False
    shutting_down: asyncio.Future[Any] | None = None

    @property
    def nonce(self) -> str:
        if not hasattr(self, "_nonce"):
            self._nonce = new_nonce()
        return self._nonce

    @property
    def content_security_policy(self) -> str:
        return page_policy(self.nonce)

    @property
    def caps(self) -> KernelCaps | None:
        caps = self.settings.get("healthdash_kernel_caps")
        return caps if isinstance(caps, KernelCaps) else None

    @property
    def page_tokens(self) -> PageTokens | None:
        tokens = self.settings.get("healthdash_page_tokens")
        return tokens if isinstance(tokens, PageTokens) else None

    async def prepare(self) -> None:
        for name in (HEADER, ROLE_HEADER):  # only the server says these
            self.request.headers.pop(name, None)
        await super().prepare()
        if self._finished:  # sent to the sign-in page
            return
        self.xsrf_token  # noqa: B018  (reading it sets the cookie)
        if self.caps is not None and self.request.method == "GET":
            self.reservation = self.caps.reserve(self.request.remote_ip or "", self.kernel_manager.list_kernel_ids())
            if self.reservation is None:
                raise HTTPError(503, "the page kernels are at their cap")
        await self._hand_over_identity()

    async def _hand_over_identity(self) -> None:
        """Give the page's kernel a token of its visitor, and the role the page is shown for."""
        principal = principal_of(self.current_user)
        api = self.settings.get("healthdash_api")
        if principal is None:
            return
        self.request.headers[ROLE_HEADER] = principal.role
        if principal.user_id is None or not isinstance(api, ApiContext) or api.people is None:
            return
        if self.page_tokens is None:
            return
        self.page_token, secret = await api.run(api.people.page_token, principal)
        self.request.headers[HEADER] = secret

    def write(self, chunk: str | bytes | dict[str, Any]) -> None:
        if isinstance(chunk, bytes):
            chunk = chunk.decode("utf-8")
        if isinstance(chunk, str):
            chunk = with_nonce(chunk, self.nonce)
            if self.kernel_id is None and (named := _KERNEL_ID.search(chunk)):
                self._kernel_named(named[1])
        super().write(chunk)

    def _kernel_named(self, kernel_id: str) -> None:
        self.kernel_id = kernel_id
        principal = principal_of(self.current_user)
        if principal is not None and self.page_tokens is not None:
            self.page_tokens.owned(kernel_id, principal.actor)
        if self.page_token is not None and self.page_tokens is not None:
            self.page_tokens.held(kernel_id, self.page_token)
        if self.caps is not None and self.reservation is not None:
            self.caps.started(self.reservation, kernel_id)
            self.reservation = None
        if self.gone:
            self._shut_down()

    def on_connection_close(self) -> None:
        super().on_connection_close()
        if not self._finished:
            self.gone = True
            self._shut_down()

    def on_finish(self) -> None:
        if self.page_token is not None and self.kernel_id is None and self.page_tokens is not None:
            self.page_tokens.unused(self.page_token)
        if self.caps is not None and self.reservation is not None:
            self.caps.release(self.reservation)
            self.reservation = None

    def _shut_down(self) -> None:
        """Shut down the kernel of a page that its visitor left before it was delivered."""
        if self.kernel_id is not None and self.kernel_id in self.kernel_manager.list_kernel_ids():
            self.log.info("shutting down kernel %s: its page request went away", self.kernel_id)
            self.shutting_down = asyncio.ensure_future(self.kernel_manager.shutdown_kernel(self.kernel_id))


_KERNEL_ID = re.compile(r'"kernelId": ?"([0-9a-f-]{36})"')


class TemplateFiles(TemplateStaticFileHandler):  # type: ignore[misc]
    """Voila's template static files, answering 404 for a path not of the form `<template>/static/<file>`."""

    def parse_url_path(self, path: str) -> str:
        parts = path.split("/", 2)
        if len(parts) != 3 or parts[1] != "static" or not parts[0] or ".." in parts:
            raise HTTPError(404)
        return str(super().parse_url_path(path))


class RequestSocket(RequestInfoSocketHandler):  # type: ignore[misc]
    """Voila's websocket on which a preheated kernel waits for its page's request, also telling the pool so."""

    def open(self, kernel_id: str) -> None:
        super().open(kernel_id)
        kernels = self.settings.get("kernel_manager")
        if isinstance(kernels, PageKernels):
            kernels.asking(kernel_id)  # the kernel is ready for a visitor


class KernelSocket(VoilaKernelWebsocketHandler):  # type: ignore[misc]
    """Voila's kernel websocket, sending each message as soon as it is written.

    A kernel answers a request with several small messages (busy, the reply, idle), each a frame of its own. With
    Nagle's algorithm on, every frame after the first waited for the browser to acknowledge the one before, which
    it delays up to 40 ms: each of a page's round trips to its kernel took 40-50 ms instead of about 2.
    """

    async def open(self, kernel_id: str) -> None:
        self.set_nodelay(True)
        await super().open(kernel_id)


class ExtensionFiles(FileFindHandler):
    """Voila's files of the page's JupyterLab extensions, those named by their content kept by the browser.

    Voila has the browser ask again for every extension file on every page view (`no-cache`): some twenty requests
    a page, each answered 304, in turns, while the page waits for its widgets. A file whose name carries the hash
    of its content (`remoteEntry.c8c9eed2cdefdeac.js`), or that is asked for with one (`?v=`), never changes under
    that name: the browser may keep it.
    """

    def set_headers(self) -> None:
        super().set_headers()
        if "v" in self.request.arguments or _CONTENT_NAMED.search(self.request.path):
            self.set_header("Cache-Control", "public, max-age=31536000, immutable")


_CONTENT_NAMED = re.compile(r"/static/[^/]*\.[0-9a-f]{16,}\.js$")

REPLACED: dict[type[RequestHandler], type[RequestHandler]] = {
    TornadoVoilaHandler: PageHandler,
    TemplateStaticFileHandler: TemplateFiles,
    FileFindHandler: ExtensionFiles,
    RequestInfoSocketHandler: RequestSocket,
    VoilaKernelWebsocketHandler: KernelSocket,
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
