"""The dashboard's average score of each factor over the customers with enough data."""

from __future__ import annotations

from typing import Any

import ipywidgets as ipw
from traitlets import Instance

from healthdash.api.models import Dashboard
from healthdash.widgets.charts import BarRow, Segment, bar_rows
from healthdash.widgets.fragments import factor_label, score_number


class FactorAverages(ipw.HTML):  # type: ignore[misc]
    """One bar per factor from 0 to 100."""

    dashboard = Instance(Dashboard, allow_none=True, help="the dashboard summary shown")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("hd-html")
        self.observe(self._render, names="dashboard")
        self._render()

    def _render(self, change: Any = None) -> None:
        summary = self.dashboard
        if summary is None:
            self.value = ""
            return
        rows = [
            BarRow(
                label=factor_label(key),
                segments=[
                    Segment((average or 0.0) / 100, "hd-fill-accent", f"{factor_label(key)}: {score_number(average)}")
                ],
                value=score_number(average),
            )
            for key, average in summary.factor_averages.items()
        ]
        chart = bar_rows(rows, "Average score of each factor, 0 to 100")
        self.value = f'<section class="hd-card"><h2>Average score per factor</h2>{chart}</section>'
