"""The dashboard's charts: how scores are distributed, and how customers split into tiers."""

from __future__ import annotations

from typing import Any

from healthdash.api.models.responses import Dashboard
from healthdash.scoring import ScoringConfig, tier_for_score
from healthdash.widgets.charts import Column, column_chart, share_bar
from healthdash.widgets.dashboard_view import DashboardView
from healthdash.widgets.fragments import TIER_LABELS


class DashboardCharts(DashboardView):
    """Two cards side by side: the score distribution (columns in their tier's colour) and the tier split."""

    def __init__(self, config: ScoringConfig | None = None, **kwargs: Any) -> None:
        self.config = config or ScoringConfig()
        super().__init__(**kwargs)

    def html(self, summary: Dashboard) -> str:
        columns = [
            Column(
                label=f"{b.from_}",
                count=b.count,
                css=f"hd-fill-{tier_for_score(float(b.from_), 1.0, self.config)}",
                title=f"score {b.from_}\u2013{b.to}: {b.count} customers",
            )
            for b in summary.distribution
        ]
        scored = sum(b.count for b in summary.distribution)
        distribution = column_chart(columns, "Number of customers per 10-point score band")
        tiers = share_bar(
            [(label, summary.tiers.get(tier, 0), f"hd-fill-{tier}") for tier, label in TIER_LABELS.items()],  # type: ignore[call-overload]
            "Customers per tier",
        )
        return (
            '<div class="hd-grid">'
            f'<section class="hd-card"><h2>Score distribution</h2>{distribution}'
            f'<div class="hd-small hd-muted">{scored} customers with enough data, in 10-point bands</div></section>'
            f'<section class="hd-card"><h2>Tiers</h2>{tiers}</section>'
            "</div>"
        )
