"""The customer detail page (?id=N): header, why the score, activity, tickets, invoices, events and the form."""

from __future__ import annotations

import urllib.parse
from typing import Any

import ipywidgets as ipw
from traitlets import Int

from healthdash.client import ApiClient
from healthdash.vocabulary import MAX_ID
from healthdash.widgets.activity_timeline import ActivityTimeline
from healthdash.widgets.customer_header import CustomerHeader
from healthdash.widgets.event_form import EventForm
from healthdash.widgets.events_table import EventsTable
from healthdash.widgets.factor_breakdown import FactorBreakdownView
from healthdash.widgets.invoices_table import InvoicesTable
from healthdash.widgets.links import PageLinks
from healthdash.widgets.page import Page
from healthdash.widgets.score_history import ScoreHistoryView
from healthdash.widgets.tickets_table import TicketsTable
from healthdash.widgets.what_changed import WhatChanged


class CustomerPage(Page):
    """One customer's health; `customer_id` chooses whom (None shows a message and a link back)."""

    customer_id = Int(None, allow_none=True, help="the customer shown")

    def __init__(self, client: ApiClient | None = None, links: PageLinks | None = None, **kwargs: Any) -> None:
        super().__init__("customer", "Customer health", client, links, **kwargs)
        self.header = CustomerHeader()
        self.breakdown = FactorBreakdownView()
        self.activity = ActivityTimeline()
        self.tickets = TicketsTable()
        self.invoices = InvoicesTable()
        self.events = EventsTable()
        self.evidence = ipw.Tab([self.activity, self.tickets, self.invoices, self.events])
        self.evidence.titles = ("Activity", "Tickets", "Invoices", "Recent events")
        self.form = EventForm(self.client)
        self.views = (self.header, self.breakdown, self.activity, self.tickets, self.invoices, self.events, self.form)
        self.evidence_and_form = ipw.VBox([self.evidence, self.form])
        self.evidence_and_form.layout.grid_gap = "16px"
        columns = ipw.Box([self.breakdown, self.evidence_and_form])
        columns.add_class("hd-grid")
        columns.add_class("hd-grid-even")
        self.history = ScoreHistoryView()
        self.what_changed = WhatChanged()
        history = ipw.Box([self.history, self.what_changed])
        history.add_class("hd-grid")
        self.body.children = [self.header, history, columns]
        self.body.layout.display = "none"
        self.form.observe(lambda _: self.load(), names="recorded")
        self.history.observe(lambda _: self._fetch_history(), names="days")
        self.observe(lambda _: self.load(), names="customer_id")

    def show_query_string(self, query_string: str | None) -> None:
        """Show the customer named by `id=N` in a page address's query string."""
        given = urllib.parse.parse_qs(query_string or "").get("id", [""])[-1].strip()
        customer_id = int(given) if given.isascii() and given.isdigit() and 0 < int(given) <= MAX_ID else None
        if customer_id is None:
            self.body.layout.display = "none"
            message = "Which customer? This page needs a customer id, e.g. customer.ipynb?id=1."
            if given:
                message = f"{given[:40]!r} is not a customer id: ids are positive whole numbers."
            self.show_notice(message, link=(self.links.page("customers"), "Choose one from the customer list \u203a"))
            return
        if customer_id == self.customer_id:
            self.load()
        else:
            self.customer_id = customer_id

    def fetch(self) -> None:
        if self.customer_id is None:
            return
        health = self.client.health(self.customer_id)
        if health is None:
            self.body.layout.display = "none"
            self.show_notice(
                f"There is no customer with id {self.customer_id}.",
                link=(self.links.page("customers"), "Back to the customer list \u203a"),
            )
            return
        # the form only for those who may record events (the API refuses the others all the same)
        self.evidence_and_form.children = [self.evidence, self.form] if self.client.may_record else [self.evidence]
        for view in self.views:
            view.health = health
        self.evidence.titles = (
            "Activity",
            f"Tickets ({len(health.tickets)})",
            f"Invoices ({len(health.invoices)})",
            f"Recent events ({health.events.total:,})",
        )
        self._fetch_history()
        self.what_changed.changes = self.client.changes(self.customer_id)
        self.as_of = health.as_of
        self.body.layout.display = None

    def _fetch_history(self) -> None:
        if self.customer_id is None:
            return
        self.history.chart.config = self.client.scoring_config()
        self.history.chart.history = self.client.history(self.customer_id, self.history.days)
