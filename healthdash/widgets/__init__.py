"""The web app's widgets: one composite widget per module; the notebooks only build, link and display them.

The pages are imported on first use, so that a page's kernel loads its own widgets only (Explore's need pandas;
the dashboard, list and customer pages do not).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from healthdash.widgets.customer_page import CustomerPage
    from healthdash.widgets.customers_page import CustomersPage
    from healthdash.widgets.dashboard_page import DashboardPage
    from healthdash.widgets.explore_page import ExplorePage
    from healthdash.widgets.request import page_query_string, wait_for_page_request
    from healthdash.widgets.validation_page import ValidationPage

_HOMES = {
    "CustomerPage": "customer_page",
    "CustomersPage": "customers_page",
    "DashboardPage": "dashboard_page",
    "ExplorePage": "explore_page",
    "ValidationPage": "validation_page",
    "page_query_string": "request",
    "wait_for_page_request": "request",
}

__all__ = [
    "CustomerPage",
    "CustomersPage",
    "DashboardPage",
    "ExplorePage",
    "ValidationPage",
    "page_query_string",
    "wait_for_page_request",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'healthdash.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"healthdash.widgets.{home}"), name)
    globals()[name] = value
    return value
