"""The validation page in a real browser: the backtest's figures and charts, its choices, and the suggested weights
opened in Explore."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest

from healthdash.scoring import DEFAULT_FACTORS, ScoringConfig
from healthdash.vocabulary import VALIDATION_DAYS
from tests.web.conftest import WebApp
from tests.web.pages import expect, visit

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SCREENSHOTS = Path("/tmp/healthdash-validation-screenshots")


def choose(page: Any, label: str, option: str) -> None:
    """Choose an option of the page's dropdown with this label, as a visitor does."""
    page.locator(".widget-dropdown", has_text=label).locator("select").select_option(label=option)


def slider_readouts(page: Any) -> dict[str, float]:
    """The weight each of Explore's sliders shows, by factor key."""
    found = {}
    for factor in DEFAULT_FACTORS:
        slider = page.locator(".widget-slider", has_text=factor.label)
        found[factor.key] = float(slider.locator(".widget-readout").inner_text())
    return found


def test_the_page_shows_the_backtest_without_errors_or_the_internet(app: WebApp, context: Any) -> None:
    seen = visit(context, app.page("validation"))
    page = seen.page
    expect(page.locator(".hd-headline .hd-tile")).to_have_count(6)
    expect(page.locator("nav.hd-nav a.hd-current")).to_have_text("Validation")
    expect(page.locator("nav.hd-nav a")).to_have_count(5)
    expect(page.locator(".hd-heading")).to_contain_text("as of ")
    expect(page.locator(".hd-calibration svg text.hd-axis-label")).to_have_count(10)
    expect(page.locator(".hd-roc svg polyline")).to_have_count(1)
    expect(page.locator(".hd-confusion tbody tr")).to_have_count(2)
    expect(page.locator(".hd-factor-signal .hd-bar")).to_have_count(5)
    # the days the page judges start VALIDATION_DAYS before today's date, as the page asks (the API's own default
    # counts from the newest day of the score history, which the keeper writes a minute after midnight)
    first = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=VALIDATION_DAYS)
    _, _, answer = app.server.get(f"/api/backtest?from={first}")
    observations = answer["figures"]["observations"]
    expect(page.locator(".hd-headline + p")).to_contain_text(f"{observations:,} customer-days from {answer['from']}")
    time.sleep(1.0)  # late console errors and requests would have come by now
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "validation.png"), full_page=True)
    assert seen.problems() == []


def test_the_suggested_weights_open_in_explore_on_its_sliders(app: WebApp, context: Any) -> None:
    seen = visit(context, app.page("validation"))
    page = seen.page
    expect(page.locator(".hd-headline .hd-tile")).to_have_count(6)
    choose(page, "Days from", "90 days ago")
    choose(page, "Churn within", "30 days")
    choose(page, "Flagged ahead", "7 days")
    first = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=90)
    _, _, answer = app.server.get(f"/api/backtest?horizon=30&lead=7&from={first}")
    suggested = answer["suggested"]
    assert suggested is not None, "the sample data's last 90 days have churns enough to suggest weights"
    expect(page.locator(".hd-headline + p")).to_contain_text(f"from {answer['from']} to {answer['to']}")
    expect(page.locator(".hd-headline + p")).to_contain_text("flagged 7 or more days ahead")
    expect(page.locator(".hd-weights tbody tr")).to_have_count(5)
    for key, weight in suggested["weights"].items():
        expect(page.locator(f'.hd-weights tr[data-factor="{key}"] td').nth(2)).to_have_text(str(weight))
    SCREENSHOTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 1800})
    page.screenshot(path=str(SCREENSHOTS / "validation-suggested.png"))
    assert seen.problems() == []
    page.get_by_role("link", name="Try them in Explore").click()
    page.wait_for_url("**/explore.ipynb?w_*")
    page.wait_for_selector(".hd-page", state="visible", timeout=90_000)
    expect(page.locator(".widget-slider")).to_have_count(5)
    expect(page.locator("tr.hd-row")).to_have_count(15)  # the ranking under those weights
    assert slider_readouts(page) == {key: float(weight) for key, weight in suggested["weights"].items()}
    assert page.locator(".hd-notice").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "explore-suggested.png"), full_page=True)
    left = "/voila/api/shutdown/"  # the validation page, left, shuts its kernel down as the browser moves on
    assert [p for p in seen.problems() if left not in p] == []


def test_explore_names_a_bad_weight_in_its_address_and_keeps_the_configured_ones(app: WebApp, context: Any) -> None:
    seen = visit(context, app.page("explore", "?w_api_usage=lots&w_login_frequency=10"))
    page = seen.page
    expect(page.locator(".hd-notice")).to_contain_text(
        "The weights in the address were not used: 'lots' is not a weight for w_api_usage"
    )
    expect(page.locator("tr.hd-row")).to_have_count(15)
    assert slider_readouts(page) == dict(ScoringConfig().weights)
    assert seen.problems() == []


def test_a_viewer_sees_the_page_and_a_stranger_is_asked_to_sign_in(app: WebApp, browser: Any) -> None:
    stranger = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = stranger.new_page()
        page.goto(app.page("validation"))
        page.wait_for_url("**/login?next=*")
        assert page.locator(".hd-page").count() == 0
    finally:
        stranger.close()
    viewer = browser.new_context(viewport={"width": 1280, "height": 800})
    viewer.set_default_timeout(30_000)
    app.sign_in(viewer, "viewer")
    try:
        seen = visit(viewer, app.page("validation", "?days=90&horizon=30&lead=7"))
        expect(seen.page.locator(".hd-headline .hd-tile")).to_have_count(6)
        expect(seen.page.locator(".hd-headline + p")).to_contain_text("flagged 7 or more days ahead")
        expect(seen.page.get_by_role("link", name="Try them in Explore")).to_be_visible()
        assert seen.problems() == []
    finally:
        viewer.close()
