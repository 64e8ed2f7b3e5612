"""Export of the current filter of the customer list as a CSV file, fetched page by page through the API."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterable
from typing import Any

import ipywidgets as ipw
from traitlets import Instance

from healthdash.api.models.query import CustomerListQuery
from healthdash.api.models.responses import CustomerRow
from healthdash.client import ApiClient, ApiError
from healthdash.spreadsheet import defused
from healthdash.widgets.fragments import notice, text

COLUMNS = ("id", "name", "segment", "plan", "score", "tier", "trend")


class CsvExport(ipw.HBox):  # type: ignore[misc]
    """A button that gathers every customer of `query` and offers the CSV as a download link."""

    query = Instance(CustomerListQuery, help="the filter and sort to export (all pages)")

    def __init__(self, client: ApiClient, **kwargs: Any) -> None:
        self.client = client
        self.button = ipw.Button(description="\u2913 Export CSV", tooltip="all customers of this filter, as CSV")
        self.button.layout.width = "auto"
        self.download = ipw.HTML()
        self.download.add_class("hd-html")
        super().__init__([self.button, self.download], **{"query": CustomerListQuery(), **kwargs})
        self.add_class("hd-toolbar")
        self.button.on_click(lambda _: self.export())
        self.observe(lambda _: setattr(self.download, "value", ""), names="query")

    def export(self) -> None:
        """Fetch every page of the filter and put a download link (a data: URI) next to the button."""
        self.button.disabled = True
        self.download.value = '<span class="hd-muted">Preparing the file\u2026</span>'
        try:
            rows = list(self.client.all_customers(self.query))
        except ApiError as exc:
            self.download.value = notice(f"The export failed: {exc.detail}", "error")
            return
        finally:
            self.button.disabled = False
        payload = base64.b64encode(customers_csv(rows).encode("utf-8")).decode("ascii")
        name = export_file_name(self.query)
        self.download.value = (
            f'<a class="hd-link-button" download="{text(name)}" href="data:text/csv;charset=utf-8;base64,{payload}">'
            f"Download {text(name)}</a> "
            f'<span class="hd-muted">{len(rows):,} customers</span>'
        )


def customers_csv(rows: Iterable[CustomerRow]) -> str:
    """Return the customers as CSV with a header; text that a spreadsheet would run as a formula is quoted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        values = row.model_dump()
        writer.writerow([_cell(values[column]) for column in COLUMNS])
    return out.getvalue()


def export_file_name(query: CustomerListQuery) -> str:
    """Name the file after the filter: customers-at_risk-smb.csv."""
    parts: list[str] = [value for value in (query.tier, query.segment, query.plan) if value]
    if query.q:
        parts.append("".join(ch for ch in query.q.lower() if ch.isalnum())[:20] or "search")
    return "-".join(["customers", *parts]) + ".csv"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return defused(value)  # keeps a name such as "=HYPERLINK(...)" from running in a spreadsheet
    return value
