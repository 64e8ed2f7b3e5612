"""Addresses of the app's pages, for links inside widgets.

In Voila the kernel knows the server's base URL (VOILA_BASE_URL), so links are absolute paths that work from any
page. In Jupyter, links point at the running healthdash server (HEALTHDASH_API_URL) when one is known.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

PAGES = {
    "dashboard": "dashboard.ipynb",
    "customers": "customers.ipynb",
    "customer": "customer.ipynb",
    "explore": "explore.ipynb",
    "validation": "validation.ipynb",
}
WEIGHT_PARAMETER = "w_"  # Explore's address names a factor's weight w_<factor key>: explore.ipynb?w_api_usage=10


@dataclass(frozen=True)
class PageLinks:
    """Build the URL of each page; `prefix` is what comes before `dashboard.ipynb`."""

    prefix: str = ""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> PageLinks:
        """Links for the kernel's context: the Voila server it runs in, or the healthdash server, or relative."""
        voila_base = environ.get("VOILA_BASE_URL", "").strip()
        if voila_base:
            return cls(voila_base.rstrip("/") + "/voila/render/")
        server = environ.get("HEALTHDASH_API_URL", "").strip()
        if server:
            return cls(server.rstrip("/") + "/voila/render/")
        return cls()

    def page(self, name: str, **params: str | int | None) -> str:
        """Return the address of a page with query parameters (None values left out)."""
        query = urllib.parse.urlencode({k: str(v) for k, v in params.items() if v is not None})
        return self.prefix + PAGES[name] + (f"?{query}" if query else "")

    def customer(self, customer_id: int) -> str:
        """Return the address of a customer's detail page."""
        return self.page("customer", id=int(customer_id))

    def explore(self, weights: Mapping[str, float]) -> str:
        """Return the address of Explore with its sliders set to these weights (factor key -> weight)."""
        return self.page("explore", **{f"{WEIGHT_PARAMETER}{key}": f"{value:g}" for key, value in weights.items()})
