"""The dashboard's history: customers per tier over the last 90 closed days, and the biggest drops this week."""

from __future__ import annotations

from healthdash.api.models.responses import Dashboard
from healthdash.scoring import TIERS
from healthdash.widgets.charts import stacked_columns_svg
from healthdash.widgets.dashboard_view import DashboardView, LinkedDashboardView
from healthdash.widgets.fragments import factor_label, score_html, text, tier_badge, tier_label
from healthdash.widgets.styles import TIER_COLOURS

STACK = ("critical", "at_risk", "healthy", "insufficient_data")  # bottom first


class TierHistoryChart(DashboardView):
    """Stacked columns: each closed day's customers per tier."""

    def html(self, summary: Dashboard) -> str:
        days = summary.tier_history or []
        if not days:
            return (
                '<section class="hd-card"><h2>Tiers over time</h2><p class="hd-muted">No closed day yet.</p></section>'
            )
        columns = [
            (d.day.isoformat(), [(getattr(d, tier), TIER_COLOURS[tier], tier_label(tier)) for tier in STACK])
            for d in days
        ]
        legend = "".join(
            f'<span><span class="hd-swatch" style="background:{TIER_COLOURS[t]}"></span>{text(tier_label(t))}</span>'
            for t in TIERS
        )
        axis = (
            '<div class="hd-series-head hd-small hd-muted">'
            f"<span>{text(days[0].day.isoformat())}</span><span>{text(days[-1].day.isoformat())}</span></div>"
        )
        chart = stacked_columns_svg(columns, f"Customers per tier, {days[0].day} to {days[-1].day}")
        return (
            f'<section class="hd-card hd-tier-history"><h2>Tiers over time</h2>{chart}{axis}'
            f'<div class="hd-legend">{legend}</div></section>'
        )


class BiggestDrops(LinkedDashboardView):
    """The customers whose score fell most over the last 7 days, each linking to its page."""

    def html(self, summary: Dashboard) -> str:
        falls = summary.movers["7"].falls if summary.movers and "7" in summary.movers else []
        rows = "".join(
            '<tr class="hd-row hd-drop">'
            f'<td><a class="hd-name" href="{text(self.links.customer(m.id))}">{text(m.name)}</a></td>'
            f'<td class="hd-num">{score_html(m.score, m.tier)}</td><td>{tier_badge(m.tier)}</td>'
            f'<td class="hd-num hd-change"><span>{m.change:+.1f}</span></td>'
            f"<td><span>{text(factor_label(m.factor))} ({m.factor_points:+.1f})</span></td></tr>"
            for m in falls
        )
        body = rows or '<tr><td colspan="5"><span class="hd-muted">No score fell this week.</span></td></tr>'
        return (
            '<section class="hd-card hd-drops"><h2>Biggest drops this week</h2><table class="hd-table">'
            '<thead><tr><th>Customer</th><th class="hd-num">Score</th><th>Tier</th><th class="hd-num">7 days</th>'
            "<th>Moved most</th></tr></thead>"
            f"<tbody>{body}</tbody></table></section>"
        )
