"""A page of the customer list as a table; a click anywhere on a row opens the customer's detail page."""

from __future__ import annotations

from typing import Any

import ipywidgets as ipw
from traitlets import Instance

from healthdash.api.models.responses import CustomerList
from healthdash.widgets.fragments import plan_label, score_html, segment_label, text, tier_badge, trend_html
from healthdash.widgets.links import PageLinks


class CustomerTable(ipw.HTML):  # type: ignore[misc]
    """Name, segment, plan, score in its tier colour, tier and the 30-day trend, one row per customer."""

    page = Instance(CustomerList, allow_none=True, help="the page of customers shown")

    def __init__(self, links: PageLinks | None = None, **kwargs: Any) -> None:
        self.links = links or PageLinks.from_environment()
        super().__init__(**kwargs)
        self.add_class("hd-html")
        self.observe(self._render, names="page")
        self._render()

    def _render(self, change: Any = None) -> None:
        if self.page is None:
            self.value = ""
            return
        rows = []
        for c in self.page.customers:
            href = text(self.links.customer(c.id))

            def cell(content: str, css: str = "", first: bool = False, href: str = href) -> str:
                focus = "" if first else ' tabindex="-1"'
                link_css = ' class="hd-name"' if first else ""
                return f'<td class="{css}"><a{link_css} href="{href}"{focus}>{content}</a></td>'

            rows.append(
                f'<tr class="hd-row" data-customer-id="{c.id}">'
                + cell(text(c.name), first=True)
                + cell(text(segment_label(c.segment)), "hd-wide")
                + cell(text(plan_label(c.plan)), "hd-wide")
                + cell(score_html(c.score, c.tier), "hd-num")
                + cell(tier_badge(c.tier))
                + cell(trend_html(c.trend), "hd-num")
                + "</tr>"
            )
        if not rows:
            rows.append(
                '<tr><td colspan="6"><span class="hd-muted">No customer matches these filters.</span></td></tr>'
            )
        self.value = (
            '<div class="hd-card hd-table-wrap"><table class="hd-table"><thead><tr>'
            '<th>Customer</th><th class="hd-wide">Segment</th><th class="hd-wide">Plan</th>'
            '<th class="hd-num">Score</th><th>Tier</th><th class="hd-num">Trend (30 d)</th>'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )
