"""The customer detail page: who, why this score, the evidence, and recording an event."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from healthdash.client import ApiClient
from healthdash.widgets import CustomerPage
from healthdash.widgets.activity_timeline import ActivityTimeline, daily_series
from healthdash.widgets.customer_header import CustomerHeader
from healthdash.widgets.events_table import EventsTable, event_details
from healthdash.widgets.factor_breakdown import FactorBreakdownView, raw_text
from healthdash.widgets.invoices_table import InvoicesTable
from healthdash.widgets.links import PageLinks
from healthdash.widgets.tickets_table import TicketsTable
from tests.servers import RunningServer
from tests.widgets import samples

LINKS = PageLinks("/voila/render/")


@pytest.mark.parametrize(
    ("query_string", "message"),
    [
        (None, "This page needs a customer id"),
        ("", "This page needs a customer id"),
        ("id=", "This page needs a customer id"),
        ("id=abc", "&#x27;abc&#x27; is not a customer id"),
        ("id=-3", "&#x27;-3&#x27; is not a customer id"),
        ("id=0", "&#x27;0&#x27; is not a customer id"),
        ("id=99999999999999999999", "is not a customer id"),
        ("id=%3Cimg%20src%3Dx%3E", "&#x27;&lt;img src=x&gt;&#x27; is not a customer id"),
    ],
)
def test_a_missing_or_invalid_id_shows_a_message_and_a_way_back(
    client: ApiClient, query_string: str | None, message: str
) -> None:
    page = CustomerPage(client, LINKS)
    page.show_query_string(query_string)
    assert message in page.notice.value
    assert '<a href="/voila/render/customers.ipynb">' in page.notice.value
    assert page.body.layout.display == "none"
    assert client.requests_sent == 0


def test_an_unknown_id_shows_a_message_and_a_way_back(client: ApiClient) -> None:
    page = CustomerPage(client, LINKS)
    page.show_query_string("id=987654321")
    assert "There is no customer with id 987654321." in page.notice.value
    assert "Back to the customer list" in page.notice.value
    assert page.body.layout.display == "none"


def test_shows_the_customer_the_api_describes(client: ApiClient, widgets_server: RunningServer) -> None:
    page = CustomerPage(client, LINKS)
    page.show_query_string("id=5&other=1")
    _, _, body = widgets_server.get("/api/customers/5/health")
    assert page.customer_id == 5
    assert page.body.layout.display is None
    assert page.notice.value == ""
    header = page.header.value
    assert re.search(r'data-score="([^"]*)"', header).group(1) == f"{body['score']:.1f}"  # type: ignore[union-attr]
    assert f"hd-tier-{body['tier']}" in header
    for factor in body["factors"]:
        assert f'data-factor="{factor["key"]}"' in page.breakdown.value
    assert page.activity.value.count("<svg") == 3
    assert page.evidence.titles[1] == f"Tickets ({len(body['tickets'])})"
    assert page.evidence.titles[2] == f"Invoices ({len(body['invoices'])})"
    assert page.form.health is not None and page.form.health.customer.id == 5
    sent = client.requests_sent  # the health, the scoring configuration, the history and the changes
    assert sent == 4
    page.show_query_string("id=5")  # the same customer again: shown from the cache
    assert client.requests_sent == sent


def test_shows_the_history_and_what_changed_as_the_api_does(client: ApiClient, widgets_server: RunningServer) -> None:
    page = CustomerPage(client, LINKS)
    page.customer_id = 3
    first = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=90)).isoformat()
    _, _, history = widgets_server.get(f"/api/customers/3/history?from={first}")
    _, _, changes = widgets_server.get("/api/customers/3/changes")

    chart = page.history.chart.value
    assert chart.count('class="hd-point"') == len([d for d in history["days"] if d["score"] is not None]) >= 89
    assert f"{history['days'][-1]['day']}: {history['days'][-1]['score']:.1f}" in chart  # the hover text
    assert chart.count("hd-config-change") == 0
    shown = re.findall(r'<li class="hd-change"[^>]*>([^<]*)</li>', page.what_changed.value)
    assert shown == [line["sentence"] for line in changes["lines"] if line["points"] != 0]

    page.history.range.value = 180
    assert page.history.chart.value.count('class="hd-point"') >= 179


def test_recording_an_event_shows_the_new_score(client: ApiClient, widgets_server: RunningServer) -> None:
    page = CustomerPage(client, LINKS)
    page.customer_id = 6
    before = page.header.value
    page.form.event_type.value = "ticket_opened"
    page.form.priority.value = "urgent"
    page.form.subject.value = "Export to CSV fails"
    page.form.submit.click()
    assert "hd-ok" in page.form.result.value
    assert "Recorded ticket opened" in page.form.result.value
    _, _, body = widgets_server.get("/api/customers/6/health")
    assert f'data-score="{body["score"]:.1f}"' in page.header.value
    assert page.header.value != before
    assert "Export to CSV fails" in page.tickets.value
    assert page.form.subject.value == ""
    assert f"#{body['tickets'][0]['id']}" in page.form.ticket.options[0][0]


def test_a_rejected_event_says_which_field_and_why(client: ApiClient) -> None:
    page = CustomerPage(client, LINKS)
    page.customer_id = 6
    page.form.event_type.value = "feature_use"
    page.form.feature.value = "Not A Key"
    page.form.submit.click()
    assert "hd-error" in page.form.result.value
    assert "Not recorded (data.feature)" in page.form.result.value
    assert not page.form.submit.disabled


def test_refresh_without_a_customer_asks_nothing(client: ApiClient) -> None:
    page = CustomerPage(client, LINKS)
    page.refresh()
    assert client.requests_sent == 0
    assert page.notice.value == ""


def test_the_form_does_nothing_without_a_customer(client: ApiClient) -> None:
    page = CustomerPage(client, LINKS)
    page.form.record()
    assert page.form.result.value == ""
    assert client.requests_sent == 0


def test_the_form_sends_each_type_s_data(client: ApiClient) -> None:
    form = CustomerPage(client, LINKS).form
    form.health = samples.health()
    expected = {
        "login": {},
        "feature_use": {"feature": "reports"},
        "api_call": {"count": 100},
        "ticket_opened": {"priority": "high", "subject": ""},
        "ticket_closed": {"ticket_id": 21},
        "invoice_issued": {"amount": 1000.0, "due_at": (dt.date.today() + dt.timedelta(days=30)).isoformat()},
        "invoice_paid": {"invoice_id": 31},
    }
    form.feature.value = "reports"
    for kind, data in expected.items():
        form.event_type.value = kind
        assert form.data() == data, kind
        assert list(form.fields.children) == form.fields_by_type[kind]
    form.event_type.value = "login"
    form.user.value = " ana "
    assert form.data() == {"user": "ana"}
    assert form.feature.options == ("reports",)
    assert [label for label, _ in form.invoice.options] == [
        "#31 \u00b7 1,250.50 due 2026-12-01",
        "#30 \u00b7 99.00 due 2026-10-01",
    ]


def test_the_form_forgets_its_message_for_another_customer(client: ApiClient) -> None:
    form = CustomerPage(client, LINKS).form
    form.health = samples.health()
    form.result.value = "done"
    form.health = samples.health(tier="at_risk")
    assert form.result.value == "done"
    other = samples.health()
    other.customer.id = 4
    form.health = other
    assert form.result.value == ""


def test_header_escapes_the_profile() -> None:
    header = CustomerHeader(health=samples.health())
    assert "&lt;img src=x onerror=alert(1)&gt;" in header.value
    assert "retail &lt;script&gt;" in header.value
    assert "<script" not in header.value
    assert "no owner" in header.value
    assert "(was 40.0)" in header.value
    assert "1,200 seats" in header.value
    header.health = samples.health(trend={"previous_score": None, "delta": None})
    assert "was" not in header.value
    header.health = None
    assert header.value == ""


def test_breakdown_chains_raw_values_to_points_lost_with_the_reason() -> None:
    view = FactorBreakdownView(health=samples.health())
    html = view.value
    assert "active days 0 \u00b7 target days 16 \u2192 factor score <strong>0.0</strong>" in html
    assert "<strong>35.7</strong> lost" in html
    assert "does not apply" in html
    assert "Login frequency explained &lt;b&gt;plainly&lt;/b&gt;." in html
    assert "width:50.00%" in html  # half of the largest share
    view.health = samples.health(factors=[], score=None, tier="insufficient_data")
    assert "No score yet" in view.value
    view.health = None
    assert view.value == ""


def test_raw_values_read_as_a_line() -> None:
    assert raw_text({"share": 0.3, "catalogue_size": 12}) == "share 30% \u00b7 catalogue size 12"
    assert raw_text({"change": -0.25, "calls": 12000}) == "change -25% \u00b7 calls 12,000"
    assert raw_text({"tickets": {"low": 0, "urgent": 1}, "ok": True, "late": None}) == (
        "tickets low 0, urgent 1 \u00b7 ok yes \u00b7 late \u2013"
    )
    assert raw_text({"note": "<b>"}) == "note <b>"  # escaped where it is shown
    assert raw_text({}) == "no raw values"


def test_timeline_fills_the_90_days_with_zeros() -> None:
    health = samples.health()
    series = daily_series(health.activity, dt.date(2026, 11, 25))
    assert len(series) == 90
    assert series[0].day == dt.date(2026, 8, 28)
    assert series[-1].logins == 2
    assert sum(d.logins for d in series) == 3  # 2026-08-01 is outside the window
    timeline = ActivityTimeline(health=health)
    assert "3 in 90 days \u00b7 peak 2 a day" in timeline.value
    assert "2026-08-28" in timeline.value
    timeline.health = None
    assert timeline.value == ""


def test_evidence_tables_escape_what_customers_wrote() -> None:
    health = samples.health()
    tickets = TicketsTable(health=health)
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in tickets.value
    assert "1 open" in tickets.value
    invoices = InvoicesTable(health=health)
    assert "1,250.50" in invoices.value
    assert "paid on time" in invoices.value and "overdue" in invoices.value
    events = EventsTable(health=health)
    assert "priority urgent \u00b7 subject &lt;script&gt;" in events.value
    assert "3 of 3" in events.value
    for table in (tickets, invoices, events):
        assert "<script" not in table.value
        table.health = samples.health(
            tickets=[], invoices=[], events={"items": [], "total": 0, "limit": 20, "offset": 0}
        )
        assert "No " in table.value
        table.health = None
        assert table.value == ""


def test_event_details() -> None:
    assert event_details({}) == "\u2013"
    assert event_details({"count": 5}) == "count 5"
