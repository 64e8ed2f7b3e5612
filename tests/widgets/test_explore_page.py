"""The analysts' page: the score table, and a live what-if ranking under other weights."""

from __future__ import annotations

import datetime as dt
import html
import random

import pandas as pd
import pytest

from healthdash.client import ApiClient
from healthdash.scoring import FACTOR_KEYS, ScoringConfig
from healthdash.widgets import ExplorePage
from healthdash.widgets.explore_page import weights_in_query
from healthdash.widgets.links import PageLinks
from healthdash.widgets.weight_sliders import WeightSliders
from healthdash.widgets.what_if_ranking import KNOWN_SCORES, WhatIfRanking, movement, name_order, ranks, rescore
from tests.servers import RunningServer

LINKS = PageLinks("/voila/render/")


@pytest.fixture(scope="module")
def reader(widgets_server: RunningServer) -> ApiClient:
    """A client that keeps what it read for the whole module: its scores are `table`."""
    return ApiClient(widgets_server.url, widgets_server.token)


@pytest.fixture(scope="module")
def table(reader: ApiClient) -> pd.DataFrame:
    return reader.scores()


def test_rescoring_with_the_same_weights_reproduces_the_scores(table: pd.DataFrame) -> None:
    config = ScoringConfig()
    again = rescore(table, config.weights, config)
    pd.testing.assert_series_equal(again["score"], table["score"], check_names=False)
    assert list(again["tier"]) == list(table["tier"])
    assert list(again["main_reason"].fillna("-")) == list(table["main_reason"].fillna("-"))


def test_a_factor_without_weight_is_left_out(table: pd.DataFrame) -> None:
    config = ScoringConfig()
    only_logins = rescore(table, {"login_frequency": 10.0}, config)
    scored = only_logins["tier"] != "insufficient_data"
    pd.testing.assert_series_equal(
        only_logins.loc[scored, "score"], table.loc[scored, "login_frequency"].round(1), check_names=False
    )
    with pytest.raises(ValueError, match="at least one factor"):
        rescore(table, dict.fromkeys(FACTOR_KEYS, 0.0), config)


def test_known_scores_describe_themselves() -> None:
    factor = KNOWN_SCORES[0]
    row = {factor.key: 62.5}
    assert factor.raw(row, ScoringConfig()) == {"score": 62.5}
    assert factor.describe(row, ScoringConfig()) == f"{factor.label} scored 62.5."


def test_ranks_start_with_the_lowest_score_and_skip_missing_ones() -> None:
    index = pd.Index([10, 11, 12, 13])
    result = ranks(pd.Series([50.0, None, 20.0, 50.0], index=index), pd.Series(["b", "a", "c", "A"], index=index))
    assert list(result) == [3, pd.NA, 1, 2]


def test_ranks_under_new_weights_reuse_the_name_order_and_agree_with_a_plain_sort() -> None:
    rng = random.Random(7)
    index = pd.Index(rng.sample(range(1, 10_000), 500))
    names = pd.Series([rng.choice(["acme", "Acme", "beta", "Zed", "zed", "\u00e9clair"]) + str(rng.randrange(20))
                       for _ in index], index=index)  # fmt: skip
    scores = pd.Series([rng.choice([None, *range(0, 100, 5)]) for _ in index], index=index, dtype="Float64")
    by_name = name_order(names)
    ranked = ranks(scores, names, by_name)
    assert ranked.equals(ranks(scores, names))
    scored = [cid for cid in index if not pd.isna(scores[cid])]
    expected = sorted(scored, key=lambda cid: (scores[cid], names[cid].casefold(), list(index).index(cid)))
    assert [int(ranked[cid]) for cid in expected] == list(range(1, len(expected) + 1))
    assert all(pd.isna(ranked[cid]) for cid in index if pd.isna(scores[cid]))


def test_movement() -> None:
    assert "\u25b2 2" in movement(5, 3)
    assert "\u25bc 1" in movement(3, 4)
    assert "\u2013" in movement(3, 3)
    assert "new" in movement(None, 3)
    assert "new" in movement(pd.NA, 3)


def test_sliders_re_rank_live_and_reset(reader: ApiClient, table: pd.DataFrame) -> None:
    config = ScoringConfig()
    page = ExplorePage(reader, LINKS, config)
    page.load()
    assert page.scores is table
    assert page.as_of == table.attrs["as_of"]
    assert "Most at risk with these weights" in page.ranking.value
    assert page.ranking.value.count('class="hd-row"') == 15
    assert "(+0)" in page.ranking.value
    before = page.ranking.value
    page.sliders.sliders["login_frequency"].value = 0.0
    assert page.ranking.weights["login_frequency"] == 0.0
    assert page.ranking.value != before
    page.sliders.reset.click()
    assert page.ranking.value == before
    for slider in page.sliders.sliders.values():
        slider.value = 0.0
    assert "give at least one factor a weight" in page.ranking.value
    overview = page.overview
    assert list(overview.columns[:5]) == ["name", "segment", "plan", "score", "tier"]
    assert overview["score"].iloc[0] == table["score"].min()


def test_links_and_names_in_the_ranking_are_escaped() -> None:
    table = pd.DataFrame(
        {"name": ["<b>x</b>", "y"], "score": [10.0, 90.0], "tier": ["critical", "healthy"]}
        | {key: [10.0, 90.0] for key in FACTOR_KEYS},
        index=pd.Index([7, 8], name="id"),
    )
    ranking = WhatIfRanking(links=LINKS, table=table)
    assert "&lt;b&gt;x&lt;/b&gt;" in ranking.value
    assert 'href="/voila/render/customer.ipynb?id=7"' in ranking.value
    ranking.table = table.iloc[0:0]
    assert ranking.value == ""


def test_a_failing_read_becomes_a_notice_without_the_server_s_details(
    client: ApiClient, monkeypatch: pytest.MonkeyPatch, unreachable_url: str
) -> None:
    page = ExplorePage(ApiClient(unreachable_url, timeout=2), LINKS)
    page.load()
    assert "The scores cannot be read" in page.notice.value
    assert "127.0.0.1" not in page.notice.value and "refused" not in page.notice.value
    assert page.overview.empty
    refused = ExplorePage(client, LINKS)
    monkeypatch.setattr(client, "base_url", client.base_url + "/api/nothing-here")
    refused.load()
    assert "The scores cannot be read: the server refused the request (404)." in refused.notice.value
    assert "nothing-here" not in refused.notice.value


def test_a_table_without_its_moment_has_no_as_of(client: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    table = pd.DataFrame({"name": [], "score": [], "tier": []})
    monkeypatch.setattr(client, "scores", lambda: table)
    page = ExplorePage(client, LINKS)
    page.load()
    assert page.as_of is None


def test_sliders_start_at_the_configured_weights() -> None:
    sliders = WeightSliders({**ScoringConfig().weights, "api_usage": 80.0})
    assert sliders.weights["api_usage"] == 80.0
    assert sliders.sliders["api_usage"].max == 80.0
    assert sliders.sliders["login_frequency"].max == 50.0


def test_the_page_reads_the_scores_and_the_weights_from_the_api(
    client: ApiClient, widgets_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTHDASH_API_URL", widgets_server.url)
    monkeypatch.setenv("HEALTHDASH_API_TOKEN", widgets_server.token)
    monkeypatch.setenv("HEALTHDASH_WEIGHT_API_USAGE", "40")  # the kernel's own environment does not count
    page = ExplorePage(links=LINKS)
    page.load()
    assert isinstance(page.as_of, dt.datetime)
    assert page.client.requests_sent == 2  # the configuration, then the scores
    assert page.sliders.weights == dict(client.scoring_config().weights) == dict(ScoringConfig().weights)
    _, _, body = widgets_server.get("/api/scores")
    assert list(page.scores.index) == [row["id"] for row in body["customers"]]
    assert list(page.scores["score"].fillna(-1)) == [
        -1 if r["score"] is None else r["score"] for r in body["customers"]
    ]


def test_the_address_names_weights_by_factor() -> None:
    assert weights_in_query("w_login_frequency=40&w_api_usage=0&other=x") == (
        {"login_frequency": 40.0, "api_usage": 0.0}, ""
    )  # fmt: skip
    assert weights_in_query("") == ({}, "")
    assert weights_in_query("w_ticket_volume=12.5&w_ticket_volume=30") == ({"ticket_volume": 30.0}, "")
    assert LINKS.explore({"login_frequency": 40, "api_usage": 12.5}) == (
        "/voila/render/explore.ipynb?w_login_frequency=40&w_api_usage=12.5"
    )


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("w_logins=40", "'w_logins' names no factor (the weights are w_login_frequency, w_feature_adoption,"),
        ("w_api_usage=-5", "'-5' is not a weight for w_api_usage: weights are numbers from 0 to 100"),
        ("w_api_usage=101", "'101' is not a weight for w_api_usage"),
        ("w_api_usage=nan", "'nan' is not a weight"),
        ("w_api_usage=1e3", "'1e3' is not a weight"),
        ("w_api_usage=", "'' is not a weight"),
        ("w_api_usage=%3Cb%3E", "'<b>' is not a weight"),
    ],
)
def test_a_bad_weight_in_the_address_is_named(query: str, reason: str) -> None:
    weights, problem = weights_in_query(query)
    assert weights == {}
    assert problem.startswith(reason)


def test_the_sliders_start_at_the_address_s_weights(reader: ApiClient) -> None:
    config = ScoringConfig()
    page = ExplorePage(reader, LINKS)
    rankings: list[dict[str, float]] = []
    page.load()
    page.ranking.observe(lambda change: rankings.append(change["new"]), names="weights")
    page.requested, _ = weights_in_query("w_login_frequency=60&w_api_usage=0")
    page.refresh()
    assert len(rankings) == 1  # re-ranked once for all the sliders moved
    page = ExplorePage(reader, LINKS)
    page.show_query_string("w_login_frequency=60&w_api_usage=0")
    assert page.notice.value == ""
    assert page.sliders.weights == {**config.weights, "login_frequency": 60.0, "api_usage": 0.0}
    assert page.ranking.weights == page.sliders.weights
    assert page.sliders.sliders["login_frequency"].max == 60.0  # room for a weight above the usual 50
    assert "Most at risk with these weights" in page.ranking.value
    page.sliders.reset.click()  # Reset goes back to the configured weights
    assert page.sliders.weights == dict(config.weights)
    page.refresh()  # a refresh keeps what the visitor set since
    assert page.sliders.weights == dict(config.weights)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("w_login_frequency=abc", "The weights in the address were not used: 'abc' is not a weight"),
        ("w_login_frequency=0&w_feature_adoption=0&w_ticket_volume=0&w_invoice_timeliness=0&w_api_usage=0",
         "The weights in the address were not used: every weight would be 0"),
    ],
)  # fmt: skip
def test_bad_weights_in_the_address_leave_the_configured_ones_with_a_notice(
    reader: ApiClient, query: str, says: str
) -> None:
    page = ExplorePage(reader, LINKS)
    page.show_query_string(query)
    assert says in html.unescape(page.notice.value)
    assert "The sliders show the configured weights." in page.notice.value
    assert page.sliders.weights == dict(ScoringConfig().weights)
    assert "Most at risk with these weights" in page.ranking.value
    page.refresh()
    assert page.notice.value == ""
