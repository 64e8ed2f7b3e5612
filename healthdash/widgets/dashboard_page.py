"""The dashboard page: tiles, charts, the customers most at risk and the factor averages."""

from __future__ import annotations

from typing import Any

import ipywidgets as ipw

from healthdash.client import ApiClient
from healthdash.scoring import ScoringConfig
from healthdash.widgets.arr_by_tier import ArrByTier
from healthdash.widgets.at_risk_table import AtRiskTable
from healthdash.widgets.dashboard_charts import DashboardCharts
from healthdash.widgets.factor_averages import FactorAverages
from healthdash.widgets.history_charts import BiggestDrops, TierHistoryChart
from healthdash.widgets.links import PageLinks
from healthdash.widgets.page import Page
from healthdash.widgets.summary_tiles import SummaryTiles


class DashboardPage(Page):
    """What a customer-success manager reads first every morning."""

    def __init__(
        self,
        client: ApiClient | None = None,
        links: PageLinks | None = None,
        config: ScoringConfig | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__("dashboard", "Customer health", client, links, **kwargs)
        self.config = config  # the scoring configuration that colours the charts: the server's unless given
        self.tiles = SummaryTiles(self.links)
        self.charts = DashboardCharts(config)
        self.at_risk = AtRiskTable(self.links)
        self.factor_averages = FactorAverages()
        self.revenue = ArrByTier(self.links)
        lower = ipw.Box([self.at_risk, self.factor_averages, self.revenue])
        lower.add_class("hd-grid")
        self.tier_history = TierHistoryChart()
        self.drops = BiggestDrops(self.links)
        history = ipw.Box([self.tier_history, self.drops])
        history.add_class("hd-grid")
        self.scope = ipw.ToggleButtons(options=[("Everyone", "everyone"), ("My customers", "mine")], value="everyone")
        self.scope.add_class("hd-scope")
        self._landed = False
        self.body.children = [self.scope, self.tiles, self.charts, history, lower]
        self.scope.observe(lambda _: self.load() if self._landed else None, names="value")

    def fetch(self) -> None:
        if not self._landed:  # the visitor is known once the page's request has come: a csm lands on their own book
            if self.client.role == "csm":
                self.scope.value = "mine"
            self._landed = True
        dashboard = self.client.dashboard(self.scope.value)
        self.charts.config = self.config or self.client.scoring_config()
        views = (
            self.tiles,
            self.charts,
            self.tier_history,
            self.drops,
            self.at_risk,
            self.factor_averages,
            self.revenue,
        )
        for widget in views:
            widget.dashboard = dashboard
        self.as_of = dashboard.as_of
