"""The frame every page shares: stylesheet, navigation bar, heading with the as-of time and Refresh, notices."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ipywidgets as ipw
from IPython import get_ipython
from traitlets import Instance, Unicode

from healthdash.client import ApiClient, ApiError
from healthdash.widgets.fragments import moment, notice, text
from healthdash.widgets.kernel_errors import hide_tracebacks
from healthdash.widgets.links import PageLinks
from healthdash.widgets.navbar import NavBar
from healthdash.widgets.styles import PageStyle


class Page(ipw.VBox):  # type: ignore[misc]
    """A page of the app; subclasses fill `body` from the API in `fetch()`."""

    title = Unicode("", help="the page's heading")
    as_of = Instance(dt.datetime, allow_none=True, help="the moment the numbers shown were computed for")

    def __init__(
        self,
        current: str,
        title: str,
        client: ApiClient | None = None,
        links: PageLinks | None = None,
        **kwargs: Any,
    ) -> None:
        hide_tracebacks(get_ipython())  # in a page's kernel: the browser learns nothing of the server's inside
        self.client = client or ApiClient.from_environment()
        self.links = links or PageLinks.from_environment()
        self.navbar = NavBar(self.links, current=current)
        self.heading = ipw.HTML()
        self.heading.add_class("hd-html")
        self.refresh_button = ipw.Button(description="\u21bb Refresh", tooltip="Fetch the latest numbers")
        self.refresh_button.layout.width = "auto"
        self.refresh_button.on_click(lambda _: self.refresh())
        self.notice = ipw.HTML()
        self.notice.add_class("hd-html")
        self.body = ipw.VBox()
        self.body.add_class("hd-body")
        self.body.layout.grid_gap = "16px"
        header = ipw.HBox([self.heading, self.refresh_button])
        header.add_class("hd-toolbar")
        header.layout.justify_content = "space-between"
        super().__init__([PageStyle(), self.navbar, header, self.notice, self.body], title=title, **kwargs)
        self.add_class("hd-page")
        self.observe(self._render_heading, names=["title", "as_of"])
        self._render_heading()

    def load(self) -> None:
        """Fetch what the page shows and show it; a failing API becomes a notice, never a traceback."""
        self.refresh_button.disabled = True
        self.show_notice("")
        try:
            self.fetch()
        except ApiError as exc:
            self.show_notice(problem_message(exc), "error")
        finally:
            self.refresh_button.disabled = False

    def refresh(self) -> None:
        """Forget what was fetched and load again."""
        self.client.invalidate()
        self.load()

    def fetch(self) -> None:
        """Fetch the page's data through the client and hand it to the widgets (raise ApiError on failure)."""
        raise NotImplementedError

    def show_notice(self, message: str, kind: str = "warning", link: tuple[str, str] | None = None) -> None:
        """Show a plain-text notice above the body, optionally with a link (address, label); empty hides it."""
        if not message:
            self.notice.value = ""
            self.notice.layout.display = "none"
            return
        self.notice.value = notice(message, kind, link)
        self.notice.layout.display = None

    def _render_heading(self, change: Any = None) -> None:
        as_of = f'<span class="hd-muted">as of {moment(self.as_of)}</span>' if self.as_of else ""
        self.heading.value = f'<div class="hd-heading"><h1>{text(self.title)}</h1>{as_of}</div>'


def problem_message(error: ApiError) -> str:
    """Say in plain words what went wrong with the API."""
    if error.unavailable:
        return f"The data cannot be loaded right now: {error.detail}. Try Refresh in a moment."
    return f"The server refused the request ({error.status}): {error.detail}"
