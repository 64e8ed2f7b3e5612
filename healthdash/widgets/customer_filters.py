"""The customer list's controls: name search, tier, segment, plan and status filters, and the sort order."""

from __future__ import annotations

import urllib.parse
from typing import Any, Literal

import ipywidgets as ipw
from pydantic import ValidationError
from traitlets import Instance

from healthdash.api.models.query import CustomerListQuery
from healthdash.widgets.fragments import PLAN_LABELS, SEGMENT_LABELS, TIER_LABELS

ALL = ""
SORTS: dict[str, tuple[Literal["score", "name", "trend"], Literal["asc", "desc"]]] = {
    "Score: lowest first": ("score", "asc"),
    "Score: highest first": ("score", "desc"),
    "Name: A to Z": ("name", "asc"),
    "Name: Z to A": ("name", "desc"),
    "Trend: falling most": ("trend", "asc"),
    "Trend: rising most": ("trend", "desc"),
}
FILTERS = ("tier", "segment", "plan", "status", "q", "owner")
BOOKS = [("Everyone's customers", ALL), ("My customers", "me")]
STATUSES = {"Active customers": "active", "Churned customers": "churned", "All customers": "all"}


class CustomerFilters(ipw.HBox):  # type: ignore[misc]
    """Controls whose combined value is `query` (always at offset 0: a new filter starts at the first page)."""

    query = Instance(CustomerListQuery, help="the filter and sort chosen (limit and offset left at defaults)")

    def __init__(self, **kwargs: Any) -> None:
        self.search = ipw.Text(placeholder="Search by name", continuous_update=True, layout={"width": "220px"})
        self.tier = _choice("All tiers", TIER_LABELS)
        self.segment = _choice("All segments", SEGMENT_LABELS)
        self.plan = _choice("All plans", PLAN_LABELS)
        self.status = ipw.Dropdown(options=list(STATUSES.items()), value="active", layout={"width": "170px"})
        self.sort = ipw.Dropdown(options=list(SORTS), value="Score: lowest first", layout={"width": "190px"})
        self.owner = ipw.Dropdown(options=BOOKS, value=ALL, layout={"width": "190px"})
        for control, label in (
            (self.owner, "whose customers"),
            (self.search, "name search"),
            (self.tier, "tier"),
            (self.segment, "segment"),
            (self.plan, "plan"),
            (self.status, "active or churned customers"),
            (self.sort, "sort order"),
        ):
            control.description_allow_html = False
            control.tooltip = label
        controls = [self.search, self.tier, self.segment, self.plan, self.sort, self.status, self.owner]
        super().__init__(controls, **{"query": CustomerListQuery(), **kwargs})
        self.add_class("hd-toolbar")
        self.add_class("hd-filters")
        for control in self.children:
            control.observe(self._update, names="value")

    def _update(self, change: Any = None) -> None:
        sort, order = SORTS[self.sort.value]
        self.query = CustomerListQuery(
            tier=self.tier.value or None,
            segment=self.segment.value or None,
            plan=self.plan.value or None,
            status=self.status.value,
            q=self.search.value.strip()[:200] or None,
            owner=self.owner.value or None,
            sort=sort,
            order=order,
        )

    def apply_query_string(self, query_string: str | None) -> None:
        """Preset the filters from a page address's query string (tier, segment, plan, status, q, owner); ignore invalid
        values."""
        values = {
            name: given[-1]
            for name, given in urllib.parse.parse_qs(query_string or "").items()
            if name in FILTERS and given
        }
        for name, value in values.items():
            try:
                CustomerListQuery.model_validate({name: value})
            except ValidationError:
                continue
            control = self.search if name == "q" else getattr(self, name)
            control.value = value


def _choice(everything: str, labels: dict[str, str]) -> ipw.Dropdown:
    options = [(everything, ALL), *((label, key) for key, label in labels.items())]
    return ipw.Dropdown(options=options, value=ALL, layout={"width": "150px"})
