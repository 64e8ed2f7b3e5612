"""The dashboard's revenue: ARR per tier, the ARR at risk, and the renewals due in the next 90 days per tier."""

from __future__ import annotations

from healthdash.api.models.responses import Dashboard
from healthdash.widgets.dashboard_view import LinkedDashboardView
from healthdash.widgets.fragments import TIER_LABELS, text, tier_class


class ArrByTier(LinkedDashboardView):
    """One row per tier: its ARR and the renewals due soon; a tier opens the customer list filtered to it."""

    def html(self, summary: Dashboard) -> str:
        arr = summary.arr
        if arr is None:
            return ""
        rows = "".join(
            f'<tr><td><a class="{tier_class(tier)}" href="{text(self.links.page("customers", tier=tier))}">'
            f"{text(label)}</a></td>"
            f'<td class="hd-num">{money(arr.by_tier.get(tier, 0.0))}</td>'  # type: ignore[call-overload]
            f'<td class="hd-num">{arr.renewals_due.get(tier, 0)}</td>'  # type: ignore[call-overload]
            f'<td class="hd-num">{money(arr.renewals_due_arr.get(tier, 0.0))}</td></tr>'  # type: ignore[call-overload]
            for tier, label in TIER_LABELS.items()
        )
        return (
            '<section class="hd-card"><h2>Revenue</h2>'
            f'<p>ARR at risk (at risk or critical): <strong class="hd-arr-at-risk">{money(arr.at_risk)}</strong> '
            f"of {money(arr.total)}</p>"
            '<table class="hd-table"><thead><tr><th>Tier</th><th>ARR</th><th>Renewals in 90 days</th>'
            f"<th>Their ARR</th></tr></thead><tbody>{rows}</tbody></table></section>"
        )


def money(amount: float) -> str:
    """Write an amount of money for the page: whole units with thousands separators."""
    return f"{amount:,.0f}"
