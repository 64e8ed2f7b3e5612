"""The navigation bar at the top of every page."""

from __future__ import annotations

from typing import Any

import ipywidgets as ipw
from traitlets import Unicode

from healthdash.widgets.fragments import text
from healthdash.widgets.links import PageLinks

ENTRIES = (
    ("dashboard", "Dashboard"),
    ("customers", "Customers"),
    ("explore", "Explore"),
    ("validation", "Validation"),
)


class NavBar(ipw.HTML):  # type: ignore[misc]
    """Links to the app's pages; the current one is marked."""

    current = Unicode("", help="name of the page shown: dashboard, customers, customer, explore or validation")

    def __init__(self, links: PageLinks | None = None, **kwargs: Any) -> None:
        self.links = links or PageLinks.from_environment()
        super().__init__(**kwargs)
        self.add_class("hd-html")
        self.observe(self._render, names="current")
        self._render()

    def _render(self, change: Any = None) -> None:
        current = "customers" if self.current == "customer" else self.current
        items = []
        for name, label in ENTRIES:
            marker = ' class="hd-current" aria-current="page"' if name == current else ""
            items.append(f'<a href="{text(self.links.page(name))}"{marker}>{text(label)}</a>')
        brand = f'<a class="hd-brand" href="{text(self.links.page("dashboard"))}">\u25c9 healthdash</a>'
        self.value = f'<nav class="hd-nav" aria-label="pages">{brand}{"".join(items)}</nav>'
