"""The customer list page: filters, one page of the table at a time, paging and CSV export."""

from __future__ import annotations

from typing import Any

import ipywidgets as ipw

from healthdash.client import ApiClient
from healthdash.widgets.csv_export import CsvExport
from healthdash.widgets.customer_filters import CustomerFilters
from healthdash.widgets.customer_table import CustomerTable
from healthdash.widgets.links import PageLinks
from healthdash.widgets.page import Page
from healthdash.widgets.pager import Pager

PAGE_SIZE = 25


class CustomersPage(Page):
    """Every customer, filtered and sorted by the server, one page per request (cached by the client)."""

    def __init__(
        self, client: ApiClient | None = None, links: PageLinks | None = None, page_size: int = PAGE_SIZE, **kwargs: Any
    ) -> None:
        super().__init__("customers", "Customers", client, links, **kwargs)
        self.filters = CustomerFilters()
        self.table = CustomerTable(self.links)
        self.pager = Pager(limit=page_size)
        self.export = CsvExport(self.client)
        paging = ipw.HBox([self.pager, self.export])
        paging.add_class("hd-toolbar")
        paging.layout.justify_content = "space-between"
        self.body.children = [self.filters, paging, self.table]
        self._loading = False
        self.filters.observe(self._filter_changed, names="query")
        self.pager.observe(lambda _: self._reload(), names="offset")

    def apply_query_string(self, query_string: str | None) -> None:
        """Preset the filters from the page address (as the dashboard's tier tiles link here); then call load()."""
        self._loading = True
        try:
            if self.client.role == "csm":  # a csm lands on their own book
                self.filters.owner.value = "me"
            self.filters.apply_query_string(query_string)
        finally:
            self._loading = False

    def fetch(self) -> None:
        query = self.filters.query.model_copy(update={"limit": self.pager.limit, "offset": self.pager.offset})
        page = self.client.customers(query)
        self.pager.total = page.total
        self.table.page = page
        self.as_of = page.as_of

    def _filter_changed(self, change: Any) -> None:
        self.export.query = self.filters.query
        if self._loading:
            return
        if self.pager.offset:
            self.pager.offset = 0  # reloads through the pager
        else:
            self._reload()

    def _reload(self) -> None:
        if not self._loading:
            self.load()
