"""Previous / next through a list the server pages: it never holds more than one page."""

from __future__ import annotations

from typing import Any

import ipywidgets as ipw
from traitlets import Int

from healthdash.widgets.fragments import text


class Pager(ipw.HBox):  # type: ignore[misc]
    """Moves `offset` by `limit` within `total`, and says which rows are shown."""

    offset = Int(0, help="index of the first row shown")
    limit = Int(50, help="rows per page")
    total = Int(0, help="rows in the whole list")

    def __init__(self, limit: int = 50, **kwargs: Any) -> None:
        self.previous = ipw.Button(description="\u2039 Previous", tooltip="previous page", layout={"width": "auto"})
        self.next = ipw.Button(description="Next \u203a", tooltip="next page", layout={"width": "auto"})
        self.position = ipw.HTML()
        self.position.add_class("hd-html")
        super().__init__([self.previous, self.position, self.next], limit=limit, **kwargs)
        self.add_class("hd-toolbar")
        self.previous.on_click(lambda _: self.go(self.offset - self.limit))
        self.next.on_click(lambda _: self.go(self.offset + self.limit))
        self.observe(self._render, names=["offset", "limit", "total"])
        self._render()

    def go(self, offset: int) -> None:
        """Move to the page that starts at `offset` (kept within the list)."""
        last_page_start = max(0, (self.total - 1) // self.limit * self.limit)
        self.offset = max(0, min(offset, last_page_start))

    def _render(self, change: Any = None) -> None:
        if self.total == 0:
            shown = "no customers"
        else:
            shown = f"{self.offset + 1:,}\u2013{min(self.offset + self.limit, self.total):,} of {self.total:,}"
        self.position.value = f'<span class="hd-muted">{text(shown)}</span>'
        self.previous.disabled = self.offset <= 0
        self.next.disabled = self.offset + self.limit >= self.total
