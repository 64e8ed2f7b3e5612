"""The validation page: the backtest's figures and charts, the horizon and lead, and the suggested weights with
their link to Explore."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from typing import Any

import pytest

from healthdash.api.models.responses import Backtest
from healthdash.backtest_figures import figures
from healthdash.client import ApiClient
from healthdash.scoring import FACTOR_KEYS, ScoringConfig
from healthdash.widgets import ValidationPage
from healthdash.widgets.backtest_views import Calibration, ConfusionTable, FactorSignal, Headline, RocCurve
from healthdash.widgets.links import PageLinks
from healthdash.widgets.suggested_weights import SuggestedWeights
from tests.servers import RunningServer
from tests.test_backtest import CASE, CHURNERS  # the figures' case, worked by hand there

LINKS = PageLinks("/voila/render/")
FACTORS = {
    "login_frequency": ([100, 900], [True, False], [1, 1]),  # separates perfectly
    "api_usage": ([500, 500], [True, False], [1, 1]),  # a coin toss
}
HELD_OUT = {"observations": 40, "precision": 0.25, "recall": 0.5, "lift": 2.0, "auc": 0.7, "arr_recall": 0.4}


def hand_made(suggested: dict[str, Any] | None = None) -> Backtest:
    """A backtest answer over the hand-computed case (the API's figures, as the API encodes them)."""
    return Backtest.model_validate(
        {
            "from": dt.date(2026, 6, 1),
            "to": dt.date(2026, 8, 31),
            "horizon": 90,
            "lead": 30,
            "figures": figures(CASE, CHURNERS, FACTORS).as_dict(),
            "current_weights": dict(ScoringConfig().weights),
            "suggested": suggested,
        }
    )


def test_the_headline_shows_the_figures_computed_by_hand() -> None:
    html = Headline(backtest=hand_made()).value
    tiles = re.findall(r'<div class="hd-value">([^<]*)</div><div class="hd-label">([^<]*)</div>', html)
    assert tiles == [
        ("50%", "Precision"),
        ("50%", "Recall"),
        ("1.5\u00d7", "Lift"),
        ("0.81", "ROC AUC"),  # (4 + 2 + 0.5) / 8
        ("25 days", "Median lead"),  # the median of 40 and 10
        ("29%", "Churned ARR flagged 30+ days ahead"),  # 100 of 350
    ]
    assert "6 customer-days from 2026-06-01 to 2026-08-31, base churn rate 33%" in html
    assert "3 customers churned, 1 of them flagged 30 or more days ahead" in html
    assert 'title="100 of 350"' in html


def test_the_calibration_chart_shows_each_band_s_churn_rate() -> None:
    html = Calibration(backtest=hand_made()).value
    assert html.count('<rect class="hd-rate"') == 5  # the bands with customer-days; the empty ones have a dash
    assert html.count(">\u2013</text>") == 5
    assert "scores 20 to 30: 1 of 1 customer-days churned within 90 days" in html
    assert "scores 50 to 60: 1 of 2 customer-days churned within 90 days" in html
    assert ">100%</text>" in html and ">50%</text>" in html
    assert 'height="80.00"' in html and 'height="40.00"' in html  # scaled to the highest rate


def test_the_roc_curve_climbs_and_marks_the_tiers_flag() -> None:
    html = RocCurve(backtest=hand_made()).value
    assert "AUC 0.81" in html
    points = re.search(r'<polyline points="([^"]+)"', html)
    assert points is not None
    pairs = [tuple(float(v) for v in p.split(",")) for p in points[1].split()]
    assert pairs[0] == (0.0, 100.0) and pairs[-1] == (100.0, 0.0)  # from (0, 0) to (1, 1), y drawn downwards
    assert pairs[1] == (0.0, 50.0)  # at 20 or below: half the churners, no false alarm
    assert "the tiers&#x27; flag: 50% of churners, 25% of the others flagged" in html
    assert 'cx="25.00" cy="50.00"' in html


def test_the_confusion_table_counts_customer_days() -> None:
    html = ConfusionTable(backtest=hand_made()).value
    cells = re.findall(r'<td class="hd-num"><span>([^<]*)</span>', html)
    assert cells == ["1", "1", "1", "3"]
    assert "Churned within 90 days" in html
    assert "Weighted by ARR: precision 67%, recall 33%." in html  # 100 of 150 flagged, 100 of 300 churned


def test_each_factor_s_signal_strongest_first() -> None:
    html = FactorSignal(backtest=hand_made()).value
    labels = re.findall(r"<span>([^<]*)</span><div", html)
    assert labels == ["Login frequency", "API usage"]
    assert "width:100.00%" in html and "width:50.00%" in html
    assert 'title="Login frequency: AUC 1.00"' in html


def test_the_suggested_weights_beside_the_current_ones_link_to_explore() -> None:
    weights = {"login_frequency": 40, "feature_adoption": 10, "ticket_volume": 30, "invoice_timeliness": 20}
    weights["api_usage"] = 0
    suggestion = {"weights": weights, "trained_on": 80, "held_out": 40, "current": HELD_OUT}
    suggestion["suggested"] = {**HELD_OUT, "precision": 0.5, "auc": 0.8}
    html = SuggestedWeights(LINKS, backtest=hand_made(suggestion)).value
    rows = re.findall(r'data-factor="(\w+)"><td><span>[^<]*</span></td><td class="hd-num"><span>([^<]*)</span></td>'
                      r'<td class="hd-num"><span>([^<]*)</span>', html)  # fmt: skip
    current = ScoringConfig().weights
    assert rows == [(key, f"{current[key]:g}", str(weights[key])) for key in FACTOR_KEYS]
    assert '<td><span>Precision</span></td><td class="hd-num"><span>25%</span></td>' in html
    assert '<span>ROC AUC</span></td><td class="hd-num"><span>0.70</span></td><td class="hd-num"><span>0.80' in html
    assert "fitted on the first two thirds of the range (80 customer-days)" in html
    link = re.search(r'<a class="hd-link-button hd-try" href="([^"]+)">Try them in Explore', html)
    assert link is not None
    address = urllib.parse.urlsplit(link[1].replace("&amp;", "&"))
    assert address.path == "/voila/render/explore.ipynb"
    assert urllib.parse.parse_qs(address.query) == {f"w_{k}": [str(v)] for k, v in weights.items()}


def test_without_a_suggestion_the_page_says_why() -> None:
    html = SuggestedWeights(LINKS, backtest=hand_made()).value
    assert "Too few churns in this range" in html
    assert "Explore" not in html


def test_a_range_without_days_to_judge_says_so() -> None:
    empty = hand_made().model_copy(update={"figures": hand_made().figures.model_copy(update={"observations": 0})})
    assert "No customer-day from 2026-06-01 to 2026-08-31 to judge" in Headline(backtest=empty).value
    no_roc = hand_made().model_copy(update={"figures": hand_made().figures.model_copy(update={"roc": []})})
    assert "No churner and no customer who stayed" in RocCurve(backtest=no_roc).value


@pytest.fixture(scope="module")
def answers(widgets_server: RunningServer) -> dict[tuple[int, int, int], Any]:
    """The API's own backtest of the sample data for the (horizon, lead, days ago) the tests choose."""
    found = {}
    today = dt.datetime.now(dt.UTC).date()
    for horizon, lead, days in ((90, 30, 180), (60, 14, 120), (30, 7, 90)):
        first = today - dt.timedelta(days=days)
        status, _, body = widgets_server.get(f"/api/backtest?horizon={horizon}&lead={lead}&from={first}")
        assert status == 200, body
        found[horizon, lead, days] = body
    return found


def test_the_page_shows_the_api_s_backtest_and_follows_its_choices(
    client: ApiClient, answers: dict[tuple[int, int, int], Any]
) -> None:
    page = ValidationPage(client, LINKS)
    page.load()
    assert page.notice.value == ""
    assert isinstance(page.as_of, dt.datetime)
    body = answers[90, 30, 180]
    assert page.headline.backtest is not None and page.headline.backtest.figures.observations > 0
    assert f"{body['figures']['observations']:,} customer-days from {body['from']} to {body['to']}" in (
        page.headline.value
    )
    assert f'<div class="hd-value">{body["figures"]["auc"]:.2f}</div>' in page.headline.value
    page.horizon_choice.value = 60
    page.lead_choice.value = 14
    page.days_choice.value = 120
    shown = page.confusion.backtest
    assert shown is not None and (shown.horizon, shown.lead, shown.from_.isoformat()) == (
        60, 14, answers[60, 14, 120]["from"]
    )  # fmt: skip
    assert shown.figures.confusion.model_dump() == answers[60, 14, 120]["figures"]["confusion"]
    assert "Churned within 60 days" in page.confusion.value
    assert page.results.layout.display is None


def test_the_sample_data_suggests_weights_that_open_in_explore(
    client: ApiClient, answers: dict[tuple[int, int, int], Any]
) -> None:
    suggested = answers[30, 7, 90]["suggested"]
    assert suggested is not None, "the sample data's last 90 days have churns enough to learn weights from"
    page = ValidationPage(client, LINKS, horizon=30, lead=7, days=90)
    page.load()
    link = re.search(r'href="([^"]+)">Try them in Explore', page.suggested.value)
    assert link is not None
    query = urllib.parse.urlsplit(link[1].replace("&amp;", "&")).query
    assert {k: float(v[0]) for k, v in urllib.parse.parse_qs(query).items()} == {
        f"w_{key}": float(weight) for key, weight in suggested["weights"].items()
    }


def test_a_lead_longer_than_the_horizon_is_explained_without_asking_the_server(client: ApiClient) -> None:
    page = ValidationPage(client, LINKS)
    page.lead_choice.value = 60  # within the horizon of 90 days
    sent = client.requests_sent
    page.horizon_choice.value = 30
    assert client.requests_sent == sent
    assert "A flag 60 days ahead cannot fall within a horizon of 30 days" in page.notice.value
    assert page.results.layout.display == "none"
    page.lead_choice.value = 7
    assert page.notice.value == "" and page.results.layout.display is None
    assert page.headline.backtest is not None and page.headline.backtest.lead == 7


def test_an_unreachable_server_becomes_a_notice(unreachable_url: str) -> None:
    page = ValidationPage(ApiClient(unreachable_url, timeout=2), LINKS)
    page.load()
    assert "The data cannot be loaded right now" in page.notice.value
    assert page.headline.backtest is None


def test_the_address_chooses_the_range_horizon_and_lead(client: ApiClient) -> None:
    page = ValidationPage(client, LINKS)
    page.show_query_string("days=90&horizon=30&lead=7")
    assert (page.days_choice.value, page.horizon_choice.value, page.lead_choice.value) == (90, 30, 7)
    assert client.requests_sent == 1  # one backtest for the three choices
    shown = page.headline.backtest
    assert shown is not None and (shown.horizon, shown.lead) == (30, 7)
    assert page.notice.value == ""


def test_choices_the_page_does_not_offer_are_named_and_the_defaults_kept(client: ApiClient) -> None:
    page = ValidationPage(client, LINKS)
    page.show_query_string("horizon=45&lead=%3Cb%3E&days=60")
    assert (page.days_choice.value, page.horizon_choice.value, page.lead_choice.value) == (60, 90, 30)
    assert "horizon=&#x27;45&#x27; is not offered (30, 60, 90, 180)" in page.notice.value
    assert "lead=&#x27;&lt;b&gt;&#x27; is not offered" in page.notice.value
    assert page.headline.backtest is not None
