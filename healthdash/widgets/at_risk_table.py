"""The dashboard's list of the customers most at risk, each linking to its detail page."""

from __future__ import annotations

from healthdash.api.models.responses import Dashboard
from healthdash.widgets.dashboard_view import LinkedDashboardView
from healthdash.widgets.fragments import factor_label, score_html, text, tier_badge


class AtRiskTable(LinkedDashboardView):
    """The five lowest scores with their tier and the factor that cost them the most points."""

    def html(self, summary: Dashboard) -> str:
        rows = []
        for customer in summary.top_at_risk:
            href = text(self.links.customer(customer.id))
            score = score_html(customer.score, customer.tier)
            rows.append(
                '<tr class="hd-row">'
                f'<td><a class="hd-name" href="{href}">{text(customer.name)}</a></td>'
                f'<td class="hd-num"><a href="{href}" tabindex="-1">{score}</a></td>'
                f'<td><a href="{href}" tabindex="-1">{tier_badge(customer.tier)}</a></td>'
                f'<td><a href="{href}" tabindex="-1">{text(factor_label(customer.main_reason))}</a></td>'
                "</tr>"
            )
        body = (
            "".join(rows) or '<tr><td colspan="4"><span class="hd-muted">No customer has a score yet.</span></td></tr>'
        )
        return (
            '<section class="hd-card"><h2>Most at risk</h2><div class="hd-table-wrap"><table class="hd-table">'
            '<thead><tr><th>Customer</th><th class="hd-num">Score</th><th>Tier</th><th>Main reason</th></tr></thead>'
            f"<tbody>{body}</tbody></table></div></section>"
        )
