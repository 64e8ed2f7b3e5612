"""The validation page: how well the score foretold churn on this data (the backtest), and the weights the churns
suggest, with a link that tries them in Explore."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any

import ipywidgets as ipw
from traitlets import Int

from healthdash.client import ApiClient
from healthdash.vocabulary import VALIDATION_DAYS, VALIDATION_HORIZON, VALIDATION_LEAD
from healthdash.widgets.backtest_views import Calibration, ConfusionTable, FactorSignal, Headline, RocCurve
from healthdash.widgets.links import PageLinks
from healthdash.widgets.page import Page
from healthdash.widgets.suggested_weights import SuggestedWeights

HORIZONS = (30, 60, 90, 180)  # days after a day in which a churn counts against it
LEADS = (0, 7, 14, 30, 60)  # days ahead of a churn a flag must come to count as in time
SPANS = (60, 90, 120, 180)  # the days judged start this many days ago


class ValidationPage(Page):
    """The backtest of the days from `days` ago for a `horizon` and a `lead`, drawn by one view per figure."""

    horizon = Int(VALIDATION_HORIZON, help="days after a day in which a churn counts against it")
    lead = Int(VALIDATION_LEAD, help="days ahead of a churn that a flag counts as in time")
    days = Int(VALIDATION_DAYS, help="the days judged start this many days ago (and end where the horizon has passed)")

    def __init__(self, client: ApiClient | None = None, links: PageLinks | None = None, **kwargs: Any) -> None:
        super().__init__("validation", "Does the score foretell churn?", client, links, **kwargs)
        self.horizon_choice = ipw.Dropdown(
            options=[(f"{d} days", d) for d in HORIZONS], value=self.horizon, description="Churn within"
        )
        self.lead_choice = ipw.Dropdown(
            options=[(f"{d} days", d) for d in LEADS], value=self.lead, description="Flagged ahead"
        )
        self.days_choice = ipw.Dropdown(
            options=[(f"{d} days ago", d) for d in SPANS], value=self.days, description="Days from"
        )
        for choice in (self.horizon_choice, self.lead_choice, self.days_choice):
            choice.layout.width = "auto"
            choice.style.description_width = "initial"
        ipw.link((self.horizon_choice, "value"), (self, "horizon"))
        ipw.link((self.lead_choice, "value"), (self, "lead"))
        ipw.link((self.days_choice, "value"), (self, "days"))
        explain = ipw.HTML(
            '<span class="hd-muted hd-small">A customer is flagged on a day when its tier is at risk or critical; '
            "a flag is right when the customer churned within the horizon after that day.</span>"
        )
        explain.add_class("hd-html")
        controls = ipw.HBox([self.days_choice, self.horizon_choice, self.lead_choice, explain])
        controls.add_class("hd-toolbar")
        self.headline = Headline()
        self.calibration = Calibration()
        self.roc = RocCurve()
        self.confusion = ConfusionTable()
        self.factors = FactorSignal()
        self.suggested = SuggestedWeights(self.links)
        self.views = (self.headline, self.calibration, self.roc, self.confusion, self.factors, self.suggested)
        charts = ipw.Box([self.calibration, self.roc])
        charts.add_class("hd-grid")
        tables = ipw.Box([self.confusion, self.factors])
        tables.add_class("hd-grid")
        self.results = ipw.VBox([self.headline, charts, tables, self.suggested])
        self.results.layout.grid_gap = "16px"
        self.body.children = [controls, self.results]
        self._choosing = False  # while the address's choices are set: one load for them all
        self.observe(self._chosen, names=["horizon", "lead", "days"])

    def show_query_string(self, query_string: str | None) -> None:
        """Show the backtest for the choices a page address names (`days=90&horizon=30&lead=7`; each left out keeps
        its default); a choice that is not offered is named in a notice and its default kept."""
        given = urllib.parse.parse_qs(query_string or "")
        problems = []
        chosen = {}
        for name, offered in (("days", SPANS), ("horizon", HORIZONS), ("lead", LEADS)):
            text = given.get(name, [""])[-1].strip()
            if not text:
                continue
            if text.isascii() and text.isdigit() and int(text) in offered:
                chosen[name] = int(text)
            else:
                problems.append(f"{name}={text[:20]!r} is not offered ({', '.join(str(v) for v in offered)})")
        self._choosing = True
        try:
            self.set_trait("horizon", chosen.get("horizon", self.horizon))
            self.set_trait("lead", chosen.get("lead", self.lead))
            self.set_trait("days", chosen.get("days", self.days))
        finally:
            self._choosing = False
        self.load()
        if problems and not self.notice.value:  # a failing API says more
            self.show_notice(f"The address asks for what this page does not offer: {'; '.join(problems)}.")

    def _chosen(self, change: Any) -> None:
        if not self._choosing:
            self.load()

    def fetch(self) -> None:
        if self.lead > self.horizon:
            self.results.layout.display = "none"
            self.show_notice(
                f"A flag {self.lead} days ahead cannot fall within a horizon of {self.horizon} days: "
                "choose a longer horizon or a shorter lead."
            )
            return
        first = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=self.days)
        backtest = self.client.backtest(self.horizon, self.lead, first)
        for view in self.views:
            view.backtest = backtest
        self.results.layout.display = None
        self.as_of = dt.datetime.now(dt.UTC)
