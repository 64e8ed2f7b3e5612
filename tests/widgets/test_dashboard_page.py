"""The dashboard: tiles, charts, the most at risk and the factor averages, from the API."""

from __future__ import annotations

import re

import pytest

from healthdash.client import ApiClient
from healthdash.scoring import ScoringConfig
from healthdash.widgets import DashboardPage
from healthdash.widgets.arr_by_tier import ArrByTier
from healthdash.widgets.at_risk_table import AtRiskTable
from healthdash.widgets.dashboard_charts import DashboardCharts
from healthdash.widgets.factor_averages import FactorAverages
from healthdash.widgets.links import PageLinks
from healthdash.widgets.summary_tiles import SummaryTiles
from tests.people import ensure_person, people_of
from tests.servers import RunningServer
from tests.widgets import samples

LINKS = PageLinks("/voila/render/")


def test_loads_every_part_from_the_api(client: ApiClient, widgets_server: RunningServer) -> None:
    page = DashboardPage(client, LINKS)
    assert page.tiles.value == ""
    page.load()
    _, _, body = widgets_server.get("/api/dashboard")
    assert f'<div class="hd-value">{body["customer_count"]}</div>' in page.tiles.value
    for tier, count in body["tiers"].items():
        assert f'href="/voila/render/customers.ipynb?tier={tier}"' in page.tiles.value
        assert f'<span class="hd-tier-{tier}">{count}</span>' in page.tiles.value
    for customer in body["top_at_risk"]:
        assert f'href="/voila/render/customer.ipynb?id={customer["id"]}"' in page.at_risk.value
    assert "Score distribution" in page.charts.value
    assert page.factor_averages.value.count("hd-bar-track") == 5
    assert page.as_of is not None
    assert "as of " in page.heading.value
    assert page.notice.layout.display == "none"
    assert not page.refresh_button.disabled


def test_refresh_asks_the_server_again(client: ApiClient) -> None:
    page = DashboardPage(client, LINKS)
    page.load()
    page.load()
    assert client.requests_sent == 2  # the dashboard, and once the scoring configuration
    page.refresh_button.click()
    assert client.requests_sent == 3


def test_an_unreachable_api_becomes_a_notice(unreachable_url: str) -> None:
    page = DashboardPage(ApiClient(unreachable_url, timeout=2), LINKS)
    page.load()
    assert "hd-error" in page.notice.value
    assert "cannot be loaded right now" in page.notice.value
    assert page.notice.layout.display is None
    assert page.tiles.value == ""


def test_a_refused_request_says_what_the_server_said(client: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    page = DashboardPage(client, LINKS)
    monkeypatch.setattr(client, "base_url", client.base_url + "/api/nothing-here")
    page.load()
    assert "The server refused the request (404)" in page.notice.value


def test_the_server_s_scoring_settings_colour_the_charts(client: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHDASH_HEALTHY_MIN", "90")  # the kernel's own environment does not count
    page = DashboardPage(client, LINKS)
    page.load()
    assert page.charts.config == client.scoring_config() == ScoringConfig()
    given = DashboardPage(client, LINKS, ScoringConfig(healthy_min=90.0))
    given.load()
    for start in (70, 80):
        assert column_fill(page.charts.value, start) == "healthy"
        assert column_fill(given.charts.value, start) == "at_risk"


def column_fill(html: str, start: int) -> str:
    """Return the tier whose colour fills the distribution's column of scores from `start`."""
    found = re.search(rf'title="score {start}\u2013[^"]*">.*?hd-column-bar hd-fill-([a-z_]+)', html)
    assert found, html
    return found.group(1)


def test_names_are_escaped_and_link_to_the_detail_page() -> None:
    table = AtRiskTable(LINKS, dashboard=samples.dashboard())
    assert "&lt;img src=x onerror=alert(1)&gt;" in table.value
    assert "<img" not in table.value
    assert 'href="/voila/render/customer.ipynb?id=3"' in table.value
    assert "Login frequency" in table.value
    assert "\u2013" in table.value  # no main reason


def test_no_scored_customer_yet() -> None:
    table = AtRiskTable(LINKS, dashboard=samples.dashboard(top_at_risk=[]))
    assert "No customer has a score yet." in table.value


def test_tiles_show_counts_and_the_average() -> None:
    tiles = SummaryTiles(LINKS, dashboard=samples.dashboard(average_score=None))
    assert '<div class="hd-value">7</div>' in tiles.value
    assert '<div class="hd-value">\u2013</div>' in tiles.value
    tiles.dashboard = None
    assert tiles.value == ""


def test_distribution_columns_take_the_colour_of_their_tier() -> None:
    charts = DashboardCharts(ScoringConfig(healthy_min=80.0, at_risk_min=50.0), dashboard=samples.dashboard())
    html = charts.value
    assert 'class="hd-column-bar hd-fill-critical"' in html
    assert html.count('class="hd-column-bar hd-fill-healthy"') == 2  # the 80 and 90 bands
    assert "6 customers with enough data" in html
    assert "Healthy <strong>3</strong>" in html
    charts.dashboard = None
    assert charts.value == ""


def test_factor_averages_show_missing_averages_as_a_dash() -> None:
    averages = FactorAverages(dashboard=samples.dashboard())
    assert "width:50.00%" in averages.value
    assert '<span class="hd-score">\u2013</span>' in averages.value
    averages.dashboard = None
    assert averages.value == ""


def test_a_csm_lands_on_their_own_book_and_may_look_at_everyone_s(widgets_server: RunningServer) -> None:
    with people_of(widgets_server.database_url) as people:
        email = ensure_person(widgets_server.database_url, "csm", "kenji.watanabe@example.com", name="Kenji Watanabe")
        token = people.create_token("kenji's page", "csm", email, "tests")[1]
    environ = {"HEALTHDASH_API_URL": widgets_server.url}
    page = DashboardPage(ApiClient.from_environment(environ), LINKS)  # built before the page's request arrives
    environ.update({"HTTP_X_HEALTHDASH_PAGE_TOKEN": token, "HTTP_X_HEALTHDASH_ROLE": "csm"})
    page.load()
    assert page.scope.value == "mine"
    mine = page.tiles.dashboard
    assert mine is not None and 0 < mine.customer_count < 64  # Kenji Watanabe owns a few sample customers
    page.scope.value = "everyone"
    assert page.tiles.dashboard is not None and page.tiles.dashboard.customer_count > mine.customer_count


def test_revenue_shows_arr_per_tier_at_risk_and_renewals_due() -> None:
    revenue = ArrByTier(LINKS, dashboard=samples.dashboard())
    html = revenue.value
    assert '<strong class="hd-arr-at-risk">150,000</strong> of 410,000' in html
    critical = re.search(r"customers\.ipynb\?tier=critical\">Critical</a></td>(.*?)</tr>", html)
    assert critical is not None
    assert re.findall(r'<td class="hd-num">([^<]*)</td>', critical.group(1)) == ["60,000", "1", "60,000"]
    revenue.dashboard = None
    assert revenue.value == ""


def test_the_page_shows_the_servers_revenue(client: ApiClient, widgets_server: RunningServer) -> None:
    page = DashboardPage(client, LINKS)
    page.load()
    _, _, body = widgets_server.get("/api/dashboard")
    assert f'<strong class="hd-arr-at-risk">{body["arr"]["at_risk"]:,.0f}</strong>' in page.revenue.value
