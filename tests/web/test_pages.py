"""The app in a real browser: every page shows its data without errors, offline, and safely."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.web.conftest import HOSTILE_NAME, HOSTILE_TEXT, WebApp
from tests.web.pages import expect, visit

pytestmark = [pytest.mark.browser, pytest.mark.slow]


PAGES = {  # query, what each page shows n times, where the hostile customer's name appears
    "dashboard": ("", ".hd-tile", 6, ".hd-table a.hd-name"),
    "customers": ("", "tr.hd-row", 25, "tr.hd-row a.hd-name"),
    "customer": ("?id={hostile}", ".hd-factor", 5, ".hd-customer-name"),
    "explore": ("", "tr.hd-row", 15, "tr.hd-row a.hd-name"),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_shows_its_data_safely_without_errors_or_the_internet(app: WebApp, context: Any, name: str) -> None:
    query, item, count, hostile = PAGES[name]
    seen = visit(context, app.page(name, query.format(hostile=app.hostile_id)))
    page = seen.page
    expect(page.locator(item)).to_have_count(count)
    expect(page.locator("nav.hd-nav a")).to_have_count(5)
    expect(page.locator(".hd-heading")).to_contain_text("as of ")
    # the customer named <img src=x onerror=alert(1)> is among the most at risk: shown as text, never run
    expect(page.locator(hostile, has_text=HOSTILE_NAME).first).to_be_visible()
    time.sleep(1.0)  # late console errors and requests, and an injected onerror handler, would have come by now
    assert page.locator("img[src='x']").count() == 0
    assert seen.dialogs == []
    assert seen.problems() == []


def test_the_root_address_opens_the_dashboard(app: WebApp, context: Any) -> None:
    seen = visit(context, app.url + "/")
    assert seen.page.url.endswith("/voila/render/dashboard.ipynb")
    expect(seen.page.locator("h1")).to_have_text("Customer health")


def test_a_click_on_a_row_of_the_list_opens_that_customer(app: WebApp, context: Any) -> None:
    seen = visit(context, app.page("customers"))
    row = seen.page.locator("tr.hd-row").nth(2)
    name = row.locator("a.hd-name").inner_text()
    customer_id = row.get_attribute("data-customer-id")
    row.locator("td").nth(3).click()  # the score cell: anywhere on the row opens the detail page
    seen.page.wait_for_url(re.compile(rf"customer\.ipynb\?id={customer_id}$"))
    seen.page.wait_for_selector(".hd-page", state="visible", timeout=90_000)
    expect(seen.page.locator(".hd-customer-name")).to_have_text(name)


def test_the_dashboard_links_the_most_at_risk_to_their_pages(app: WebApp, context: Any) -> None:
    seen = visit(context, app.page("dashboard"))
    first = seen.page.locator(".hd-table a.hd-name").first
    name = first.inner_text()
    first.click()
    seen.page.wait_for_url(re.compile(r"customer\.ipynb\?id=\d+$"))
    seen.page.wait_for_selector(".hd-page", state="visible", timeout=90_000)
    expect(seen.page.locator(".hd-customer-name")).to_have_text(name)


def expected_names(app: WebApp, query: str) -> list[str]:
    _, _, body = app.server.get(f"/api/customers?limit=25&{query}")
    return [c["name"] for c in body["customers"]]


def test_sorting_filtering_searching_and_paging_the_list(app: WebApp, context: Any) -> None:
    seen = visit(context, app.page("customers"))
    page = seen.page
    names = page.locator("tr.hd-row a.hd-name")
    expect(names).to_have_text(expected_names(app, "sort=score"))
    scores = [float(s) for s in page.locator("tr.hd-row .hd-score").all_inner_texts() if s != "\u2013"]
    assert scores == sorted(scores)

    page.locator("select").nth(3).select_option(label="Name: A to Z")
    expect(names).to_have_text(expected_names(app, "sort=name"))
    assert names.first.inner_text() == HOSTILE_NAME  # "<" sorts before letters
    shown = names.all_inner_texts()
    assert shown == sorted(shown, key=str.casefold)

    page.locator("select").nth(0).select_option(label="Critical")
    expect(names).to_have_text(expected_names(app, "sort=name&tier=critical"))
    assert set(page.locator("tr.hd-row .hd-badge").all_inner_texts()) == {"Critical"}

    page.locator("select").nth(0).select_option(label="All tiers")
    page.get_by_placeholder("Search by name").fill("valley")
    expect(names).to_have_text(expected_names(app, "sort=name&q=valley"))
    assert all("valley" in n.casefold() for n in names.all_inner_texts())

    page.get_by_placeholder("Search by name").fill("")
    expect(names).to_have_text(expected_names(app, "sort=name"))
    page.get_by_role("button", name="Next \u203a").click()
    expect(names).to_have_text(expected_names(app, "sort=name&offset=25"))
    expect(page.get_by_text(re.compile(r"^26\u2013"))).to_be_visible()


def test_the_list_exports_the_current_filter_as_csv(app: WebApp, context: Any) -> None:
    seen = visit(context, app.page("customers", "?tier=critical"))
    page = seen.page
    expect(page.locator("select").nth(0)).to_have_value(re.compile(".+"))
    page.get_by_role("button", name="\u2913 Export CSV").click()
    link = page.get_by_role("link", name=re.compile(r"^Download customers-critical\.csv"))
    with page.expect_download() as download:
        link.click()
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    status, _, body = app.server.get("/api/customers?tier=critical&limit=1")
    assert status == 200
    assert lines[0] == "id,name,segment,plan,score,tier,trend"
    assert len(lines) == 1 + body["total"]
    assert all(line.split(",")[-2] == "critical" for line in lines[1:])


def test_recording_an_event_changes_the_score_shown(app: WebApp, context: Any) -> None:
    _, _, listing = app.server.get("/api/customers?tier=healthy&sort=score&order=desc&limit=1")
    customer = listing["customers"][0]
    seen = visit(context, app.page("customer", f"?id={customer['id']}"))
    page = seen.page
    score = page.locator(".hd-big")
    before = score.inner_text()
    page.locator(".hd-form select").first.select_option(label="Ticket opened")
    page.locator(".hd-form select").nth(1).select_option("urgent")
    page.get_by_placeholder("what the customer reports").fill("Nothing loads since the update")
    page.get_by_role("button", name="Record event").click()
    expect(page.locator(".hd-form .hd-notice")).to_contain_text("Recorded ticket opened")
    expect(score).not_to_have_text(before)
    _, _, health = app.server.get(f"/api/customers/{customer['id']}/health")
    expect(score).to_have_text(f"{health['score']:.1f}")
    page.get_by_role("tab", name=re.compile("^Tickets")).click()
    expect(page.get_by_text("Nothing loads since the update").first).to_be_visible()
    assert seen.problems() == []


def test_hostile_text_in_the_evidence_is_shown_as_text(app: WebApp, context: Any) -> None:
    seen = visit(context, app.page("customer", f"?id={app.hostile_id}"))
    page = seen.page
    for tab in ("Tickets", "Recent events"):
        page.get_by_role("tab", name=re.compile(f"^{tab}")).click()
        expect(page.get_by_text(HOSTILE_TEXT).first).to_be_visible()
    page.locator(".hd-form select").first.select_option(label="Ticket closed")
    expect(page.locator(".hd-form select").nth(1)).to_contain_text(HOSTILE_TEXT)
    time.sleep(1.0)
    assert page.locator("script", has_text="alert(").count() == 0
    assert seen.problems() == []


def kernel_exists(app: WebApp, kernel_id: str) -> bool:
    try:
        request = urllib.request.Request(f"{app.url}/api/kernels/{kernel_id}", headers=app.server.authorization)
        with urllib.request.urlopen(request, timeout=5):
            return True
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise


def test_closing_a_page_shuts_its_kernel_down(app: WebApp, context: Any) -> None:
    seen = visit(context, app.page("dashboard"))
    config = json.loads(seen.page.locator("#jupyter-config-data").inner_text())
    kernel_id = config["kernelId"]
    assert kernel_exists(app, kernel_id)
    seen.page.goto("about:blank")  # leaving the page sends the shutdown request
    deadline = time.monotonic() + 15
    while kernel_exists(app, kernel_id) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not kernel_exists(app, kernel_id)
    assert "403 POST /voila/api/shutdown" not in app.server.log.read_text(errors="replace")


@pytest.mark.parametrize("name", ["dashboard", "customers", "customer", "validation"])
def test_a_narrow_screen_shows_the_page_without_sideways_scrolling(app: WebApp, browser: Any, name: str) -> None:
    ctx = browser.new_context(viewport={"width": 420, "height": 900})
    app.sign_in(ctx)
    try:
        seen = visit(ctx, app.page(name, "?id=1" if name == "customer" else ""))
        width = seen.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1]
        nav = seen.page.locator("nav.hd-nav").bounding_box()
        assert nav is not None and nav["x"] >= 0 and nav["x"] + nav["width"] <= 420
        for card in seen.page.locator(".hd-card").all():
            box = card.bounding_box()
            if box is not None:
                assert box["x"] >= 0 and box["x"] + box["width"] <= 420 + 0.5, card.inner_text()[:80]
        assert seen.problems() == []
    finally:
        ctx.close()
