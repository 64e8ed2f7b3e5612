"""The dashboard's average score of each factor over the customers with enough data."""

from __future__ import annotations

from healthdash.api.models.responses import Dashboard
from healthdash.widgets.charts import BarRow, Segment, bar_rows
from healthdash.widgets.dashboard_view import DashboardView
from healthdash.widgets.fragments import factor_label, score_number


class FactorAverages(DashboardView):
    """One bar per factor from 0 to 100."""

    def html(self, summary: Dashboard) -> str:
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
        return f'<section class="hd-card"><h2>Average score per factor</h2>{chart}</section>'
