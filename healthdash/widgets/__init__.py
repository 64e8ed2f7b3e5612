"""The web app's widgets: one composite widget per module; the notebooks only build, link and display them."""

from healthdash.widgets.customer_page import CustomerPage
from healthdash.widgets.customers_page import CustomersPage
from healthdash.widgets.dashboard_page import DashboardPage
from healthdash.widgets.explore_page import ExplorePage
from healthdash.widgets.request import page_query_string, wait_for_page_request

__all__ = [
    "CustomerPage",
    "CustomersPage",
    "DashboardPage",
    "ExplorePage",
    "page_query_string",
    "wait_for_page_request",
]
