"""A form to record one event for a customer through the API, as the page's visitor (with their page token)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ipywidgets as ipw
from traitlets import Instance

from healthdash.api.models.responses import CustomerHealth, EventCreated
from healthdash.client import ApiClient, ApiError
from healthdash.vocabulary import CHURN_REASONS, MAX_AMOUNT, MAX_API_CALLS, PRIORITIES
from healthdash.widgets.events_table import EVENT_LABELS
from healthdash.widgets.fragments import notice, score_number, tier_label

UNPAID = ("open", "overdue")
WIDE = {"width": "min(100%, 420px)"}


class EventForm(ipw.VBox):  # type: ignore[misc]
    """Choose the event type, fill in its fields, record it; `recorded` holds the server's answer."""

    health = Instance(CustomerHealth, allow_none=True, help="the customer the event is for, with its evidence")
    recorded = Instance(EventCreated, allow_none=True, help="the last event recorded and the updated score")

    def __init__(self, client: ApiClient, **kwargs: Any) -> None:
        self.client = client
        self.event_type = ipw.Dropdown(
            options=[(label, key) for key, label in EVENT_LABELS.items()], value="login", description="Event"
        )
        self.user = ipw.Text(description="User", placeholder="optional, e.g. ana@example.com", layout=WIDE)
        self.feature = ipw.Combobox(description="Feature", placeholder="feature key, e.g. reports", layout=WIDE)
        self.count = ipw.BoundedIntText(value=100, min=1, max=MAX_API_CALLS, description="API calls")
        self.priority = ipw.Dropdown(options=PRIORITIES, value="high", description="Priority")
        self.subject = ipw.Text(description="Subject", placeholder="what the customer reports", layout=WIDE)
        self.ticket = ipw.Dropdown(options=[], description="Ticket", layout=WIDE)
        self.amount = ipw.BoundedFloatText(
            value=1000.0, min=0.01, max=float(MAX_AMOUNT), step=0.01, description="Amount"
        )
        self.due = ipw.DatePicker(description="Due on", value=dt.date.today() + dt.timedelta(days=30))
        self.invoice = ipw.Dropdown(options=[], description="Invoice", layout=WIDE)
        self.reason = ipw.Dropdown(
            options=[(r.replace("_", " ").capitalize(), r) for r in CHURN_REASONS], value="budget", description="Reason"
        )
        self.note = ipw.Text(description="Note", placeholder="optional", layout=WIDE)
        self.renewal = ipw.DatePicker(description="Renews on", value=dt.date.today() + dt.timedelta(days=365))
        self.arr = ipw.BoundedFloatText(value=0.0, min=0.0, max=float(MAX_AMOUNT), step=0.01, description="ARR")
        self.fields_by_type: dict[str, list[ipw.Widget]] = {
            "login": [self.user],
            "feature_use": [self.feature],
            "api_call": [self.count],
            "ticket_opened": [self.priority, self.subject],
            "ticket_closed": [self.ticket],
            "invoice_issued": [self.amount, self.due],
            "invoice_paid": [self.invoice],
            "churned": [self.reason, self.note],
            "renewed": [self.renewal, self.arr],
            "arr_changed": [self.arr],
        }
        self.fields = ipw.VBox()
        self.submit = ipw.Button(description="Record event", button_style="primary", tooltip="record it now")
        self.result = ipw.HTML()
        self.result.add_class("hd-html")
        heading = ipw.HTML("<h2>Record an event</h2>")
        heading.add_class("hd-html")
        super().__init__([heading, self.event_type, self.fields, self.submit, self.result], **kwargs)
        self.add_class("hd-card")
        self.add_class("hd-form")
        self.event_type.observe(self._show_fields, names="value")
        self.observe(self._fill_choices, names="health")
        self.submit.on_click(lambda _: self.record())
        self._show_fields()
        self._fill_choices()

    def data(self) -> dict[str, Any]:
        """Return the event's `data` as the API expects it for the chosen type."""
        kind = self.event_type.value
        if kind == "login":
            return {"user": self.user.value.strip()} if self.user.value.strip() else {}
        if kind == "feature_use":
            return {"feature": self.feature.value.strip()}
        if kind == "api_call":
            return {"count": int(self.count.value)}
        if kind == "ticket_opened":
            return {"priority": self.priority.value, "subject": self.subject.value.strip()}
        if kind == "ticket_closed":
            return {"ticket_id": self.ticket.value}
        if kind == "invoice_issued":
            due = self.due.value
            return {"amount": round(float(self.amount.value), 2), "due_at": due.isoformat() if due else None}
        if kind == "invoice_paid":
            return {"invoice_id": self.invoice.value}
        return self._outcome(kind)

    def _outcome(self, kind: str) -> dict[str, Any]:
        if kind == "churned":
            note = self.note.value.strip()
            return {"reason": self.reason.value, **({"note": note} if note else {})}
        arr = round(float(self.arr.value), 2)
        if kind == "renewed":
            renewal = self.renewal.value
            return {"renewal_date": renewal.isoformat() if renewal else None, "arr": arr}
        return {"arr": arr}

    def record(self) -> None:
        """Record the event now; show the new score, or what the server objected to."""
        health = self.health
        if health is None:
            return
        self.submit.disabled = True
        try:
            created = self.client.record_event(health.customer.id, self.event_type.value, self.data())
        except ApiError as exc:
            fields = ", ".join(str(e.get("field", "")) for e in exc.errors if e.get("field"))
            where = f" ({fields})" if fields else ""
            self.result.value = notice(f"Not recorded{where}: {exc.detail}", "error")
            return
        finally:
            self.submit.disabled = False
        before, after = health.score, created.health.score
        self.result.value = notice(
            f"Recorded {EVENT_LABELS.get(created.event.type, created.event.type).lower()} (event #{created.event.id}). "
            f"Score {score_number(before)} \u2192 {score_number(after)}, {tier_label(created.health.tier)}.",
            "ok",
        )
        self.subject.value = ""
        self.recorded = created

    def _show_fields(self, change: Any = None) -> None:
        self.fields.children = self.fields_by_type[self.event_type.value]

    def _fill_choices(self, change: Any = None) -> None:
        health = self.health
        tickets = [t for t in health.tickets if t.status == "open"] if health else []
        invoices = [i for i in health.invoices if i.status in UNPAID] if health else []
        self.ticket.options = [(f"#{t.id} \u00b7 {t.priority} \u00b7 {t.subject[:60]}", t.id) for t in tickets]
        self.ticket.value = tickets[0].id if tickets else None
        self.invoice.options = [(f"#{i.id} \u00b7 {i.amount:,.2f} due {i.due_at.isoformat()}", i.id) for i in invoices]
        self.invoice.value = invoices[0].id if invoices else None
        self.arr.value = float(health.customer.arr) if health else 0.0
        seen = {str(e.data.get("feature")) for e in health.events.items if e.type == "feature_use"} if health else set()
        self.feature.options = sorted(f for f in seen if f and f != "None")
        old, new = (change.get("old"), change.get("new")) if change is not None else (None, None)
        if old is not None and new is not None and old.customer.id != new.customer.id:
            self.result.value = ""  # the message was about another customer
