"""A customer's support tickets, newest first."""

from __future__ import annotations

from traitlets import Instance

from healthdash.api.models.responses import CustomerHealth
from healthdash.widgets.fragments import day, text
from healthdash.widgets.model_view import ModelView

PRIORITY_CSS = {"urgent": "hd-tier-critical", "high": "hd-tier-critical", "medium": "hd-tier-at_risk", "low": ""}


class TicketsTable(ModelView[CustomerHealth]):
    """Subject, priority, status and dates of each ticket."""

    model_trait = "health"
    health = Instance(CustomerHealth, allow_none=True, help="the customer's health (its `tickets`) shown")

    def html(self, health: CustomerHealth) -> str:
        rows = "".join(
            "<tr>"
            f'<td><span class="hd-muted">#{t.id}</span></td>'
            f"<td><span>{text(t.subject)}</span></td>"
            f'<td><span class="{PRIORITY_CSS.get(t.priority, "")}">{text(t.priority)}</span></td>'
            f"<td><span>{text(t.status)}</span></td>"
            f'<td class="hd-wide"><span>{day(t.opened_at)}</span></td>'
            f'<td class="hd-wide"><span>{day(t.closed_at)}</span></td>'
            "</tr>"
            for t in health.tickets
        )
        if not rows:
            rows = '<tr><td colspan="6"><span class="hd-muted">No support tickets.</span></td></tr>'
        open_count = sum(1 for t in health.tickets if t.status == "open")
        return (
            '<section class="hd-card"><h2>Support tickets '
            f'<span class="hd-muted hd-small">{open_count} open</span></h2>'
            '<div class="hd-table-wrap"><table class="hd-table"><thead><tr><th>#</th><th>Subject</th><th>Priority</th>'
            '<th>Status</th><th class="hd-wide">Opened</th><th class="hd-wide">Closed</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></div></section>"
        )
