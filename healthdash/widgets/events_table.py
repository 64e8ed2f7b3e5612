"""A customer's most recent events, newest first."""

from __future__ import annotations

from typing import Any

from traitlets import Instance

from healthdash.api.models.responses import CustomerHealth
from healthdash.widgets.fragments import moment, text
from healthdash.widgets.model_view import ModelView

EVENT_LABELS = {
    "login": "Login",
    "feature_use": "Feature use",
    "api_call": "API calls",
    "ticket_opened": "Ticket opened",
    "ticket_closed": "Ticket closed",
    "invoice_issued": "Invoice issued",
    "invoice_paid": "Invoice paid",
    "churned": "Churned",
    "renewed": "Renewed",
    "arr_changed": "ARR changed",
}


class EventsTable(ModelView[CustomerHealth]):
    """When, what and the event's details."""

    model_trait = "health"
    health = Instance(CustomerHealth, allow_none=True, help="the customer's health (its `events`) shown")

    def html(self, health: CustomerHealth) -> str:
        rows = "".join(
            f'<tr data-event-id="{e.id}">'
            f"<td><span>{moment(e.occurred_at)}</span></td>"
            f"<td><span>{text(EVENT_LABELS.get(e.type, e.type))}</span></td>"
            f"<td><span>{text(event_details(e.data))}</span></td>"
            "</tr>"
            for e in health.events.items
        )
        if not rows:
            rows = '<tr><td colspan="3"><span class="hd-muted">No events recorded.</span></td></tr>'
        page = health.events
        return (
            f'<section class="hd-card"><h2>Recent events <span class="hd-muted hd-small">{len(page.items)} of '
            f"{page.total:,}</span></h2>"
            '<div class="hd-table-wrap"><table class="hd-table"><thead><tr><th>When</th><th>Event</th><th>Details</th>'
            f"</tr></thead><tbody>{rows}</tbody></table></div></section>"
        )


def event_details(data: dict[str, Any]) -> str:
    """Describe an event's data in one line: 'priority high \u00b7 subject Export fails'."""
    return " \u00b7 ".join(f"{key.replace('_', ' ')} {value}" for key, value in data.items()) or "\u2013"
