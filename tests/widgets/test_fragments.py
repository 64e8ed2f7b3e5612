"""The shared fragments escape what they show and colour by fixed tables, never by data."""

from __future__ import annotations

import datetime as dt

import pytest

from healthdash.widgets import fragments as f
from tests.widgets.samples import HOSTILE


def test_text_escapes_markup_and_quotes() -> None:
    assert f.text(HOSTILE) == "&lt;img src=x onerror=alert(1)&gt;"
    assert f.text("\"a\" & 'b'") == "&quot;a&quot; &amp; &#x27;b&#x27;"
    assert f.text(None) == ""


def test_tier_badge_names_the_tier_and_unknown_tiers_stay_plain() -> None:
    assert f.tier_badge("at_risk") == '<span class="hd-badge hd-tier-at_risk">At risk</span>'
    odd = f.tier_badge('x" onmouseover="alert(1)')
    assert "hd-tier-insufficient_data" in odd
    assert 'onmouseover="' not in odd


@pytest.mark.parametrize(
    ("score", "shown"), [(None, "\u2013"), (float("nan"), "\u2013"), (0.0, "0.0"), (71.25, "71.2"), (100, "100.0")]
)
def test_score_number(score: float | None, shown: str) -> None:
    assert f.score_number(score) == shown


def test_score_html_is_coloured_by_its_tier() -> None:
    assert f.score_html(35.0, "critical") == '<span class="hd-score hd-tier-critical">35.0</span>'


@pytest.mark.parametrize(
    ("delta", "arrow", "css", "shown"),
    [
        (12.34, "\u25b2", "hd-up", "+12.3"),
        (1.0, "\u25b2", "hd-up", "+1.0"),
        (0.9, "\u25ac", "hd-flat", "+0.9"),
        (-0.4, "\u25ac", "hd-flat", "-0.4"),
        (-1.0, "\u25bc", "hd-down", "-1.0"),
        (-47.0, "\u25bc", "hd-down", "-47.0"),
    ],
)
def test_trend_arrows(delta: float, arrow: str, css: str, shown: str) -> None:
    html = f.trend_html(delta)
    assert f"{arrow} {shown}" in html
    assert css in html


@pytest.mark.parametrize("delta", [None, float("nan")])
def test_no_trend_without_a_score_a_window_ago(delta: float | None) -> None:
    assert "no score 30 days ago" in f.trend_html(delta)


def test_labels_for_people() -> None:
    assert f.factor_label("login_frequency") == "Login frequency"
    assert f.factor_label("new_factor") == "New factor"
    assert f.factor_label(None) == "\u2013"
    assert f.tier_label("insufficient_data") == "Insufficient data"
    assert f.tier_label("dormant") == "Dormant"
    assert f.segment_label("mid_market") == "Mid-market"
    assert f.segment_label("other") == "other"
    assert f.plan_label("business") == "Business"
    assert f.plan_label("custom") == "custom"


def test_dates_are_shown_in_utc() -> None:
    moment = dt.datetime(2026, 11, 25, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert f.moment(moment) == "2026-11-26 01:30 UTC"
    assert f.day(moment) == "2026-11-26"
    assert f.day(dt.date(2026, 1, 2)) == "2026-01-02"
    assert f.day(None) == "\u2013"


def test_notice_escapes_its_message_and_link() -> None:
    html = f.notice(HOSTILE, "error", link=('customers.ipynb?q="x"', "<back>"))
    assert html.startswith('<div class="hd-notice hd-error" role="status">&lt;img')
    assert 'href="customers.ipynb?q=&quot;x&quot;">&lt;back&gt;</a>' in html
    assert f.notice("fine", "ok").startswith('<div class="hd-notice hd-ok"')
    assert f.notice("hm").startswith('<div class="hd-notice"')
