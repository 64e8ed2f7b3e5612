"""A customer's invoices with whether each was paid on time."""

from __future__ import annotations

from traitlets import Instance

from healthdash.api.models.responses import CustomerHealth
from healthdash.widgets.fragments import day, text
from healthdash.widgets.model_view import ModelView

STATUS = {
    "on_time": ("paid on time", "healthy"),
    "late_within_grace": ("paid late, within grace", "at_risk"),
    "late": ("paid late", "critical"),
    "overdue": ("overdue", "critical"),
    "open": ("open, not yet due", "insufficient_data"),
}


class InvoicesTable(ModelView[CustomerHealth]):
    """Amount, dates and on-time status of each invoice, newest due date first."""

    model_trait = "health"
    health = Instance(CustomerHealth, allow_none=True, help="the customer's health (its `invoices`) shown")

    def html(self, health: CustomerHealth) -> str:
        rows = []
        for invoice in health.invoices:
            label, tier = STATUS.get(invoice.status, (invoice.status, "insufficient_data"))
            rows.append(
                "<tr>"
                f'<td><span class="hd-muted">#{invoice.id}</span></td>'
                f'<td class="hd-num"><span>{invoice.amount:,.2f}</span></td>'
                f'<td class="hd-wide"><span>{day(invoice.issued_at)}</span></td>'
                f"<td><span>{day(invoice.due_at)}</span></td>"
                f"<td><span>{day(invoice.paid_at)}</span></td>"
                f'<td><span><span class="hd-badge hd-tier-{tier}">{text(label)}</span></span></td>'
                "</tr>"
            )
        body = "".join(rows) or '<tr><td colspan="6"><span class="hd-muted">No invoices.</span></td></tr>'
        return (
            '<section class="hd-card"><h2>Invoices</h2><div class="hd-table-wrap"><table class="hd-table"><thead><tr>'
            '<th>#</th><th class="hd-num">Amount</th><th class="hd-wide">Issued</th><th>Due</th><th>Paid</th>'
            f"<th>Status</th></tr></thead><tbody>{body}</tbody></table></div></section>"
        )
