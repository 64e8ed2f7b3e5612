"""The dashboard's tiles: how many customers, their average score, and how many are in each tier."""

from __future__ import annotations

from healthdash.api.models.responses import Dashboard
from healthdash.widgets.dashboard_view import LinkedDashboardView
from healthdash.widgets.fragments import TIER_LABELS, score_number, text, tier_class
from healthdash.widgets.styles import TIER_COLOURS


class SummaryTiles(LinkedDashboardView):
    """One tile per number; a tier's tile opens the customer list filtered to that tier."""

    def html(self, summary: Dashboard) -> str:
        tiles = [
            _tile("Customers", str(summary.customer_count), self.links.page("customers"), "#0969da"),
            _tile("Average score", score_number(summary.average_score), None, "#0969da"),
        ]
        for tier, label in TIER_LABELS.items():
            count = summary.tiers.get(tier, 0)  # type: ignore[call-overload]
            value = f'<span class="{tier_class(tier)}">{count}</span>'
            tiles.append(_tile(label, value, self.links.page("customers", tier=tier), TIER_COLOURS[tier], raw=True))
        return f'<div class="hd-tiles">{"".join(tiles)}</div>'


def _tile(label: str, value: str, href: str | None, colour: str, raw: bool = False) -> str:
    shown = value if raw else text(value)
    inner = f'<div class="hd-value">{shown}</div><div class="hd-label">{text(label)}</div>'
    style = f'style="border-top-color:{colour}"'
    if href is None:
        return f'<div class="hd-tile" {style}>{inner}</div>'
    return f'<a class="hd-tile" {style} href="{text(href)}">{inner}</a>'
