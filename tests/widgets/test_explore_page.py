"""The analysts' page: the score table, and a live what-if ranking under other weights."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy.exc import OperationalError

from healthdash.analysis import scores
from healthdash.scoring import FACTOR_KEYS, ScoringConfig
from healthdash.widgets import ExplorePage
from healthdash.widgets.links import PageLinks
from healthdash.widgets.weight_sliders import WeightSliders
from healthdash.widgets.what_if_ranking import KNOWN_SCORES, WhatIfRanking, movement, ranks, rescore

LINKS = PageLinks("/voila/render/")


@pytest.fixture(scope="module")
def table(sample_db_url: str) -> pd.DataFrame:
    return scores(database_url=sample_db_url)


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


def test_movement() -> None:
    assert "\u25b2 2" in movement(5, 3)
    assert "\u25bc 1" in movement(3, 4)
    assert "\u2013" in movement(3, 3)
    assert "new" in movement(None, 3)
    assert "new" in movement(pd.NA, 3)


def test_sliders_re_rank_live_and_reset(table: pd.DataFrame) -> None:
    config = ScoringConfig()
    page = ExplorePage(loader=lambda: table, config=config, links=LINKS)
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


def test_a_failing_read_becomes_a_notice() -> None:
    def broken() -> pd.DataFrame:
        raise OperationalError("SELECT 1", {}, Exception("connection refused\nmore detail"))

    page = ExplorePage(loader=broken, links=LINKS)
    page.load()
    assert "The scores cannot be read" in page.notice.value
    assert "more detail" not in page.notice.value
    assert page.overview.empty


def test_a_table_without_its_moment_has_no_as_of() -> None:
    table = pd.DataFrame({"name": [], "score": [], "tier": []})
    page = ExplorePage(loader=lambda: table, links=LINKS)
    page.load()
    assert page.as_of is None


def test_sliders_start_at_the_configured_weights() -> None:
    sliders = WeightSliders({**ScoringConfig().weights, "api_usage": 80.0})
    assert sliders.weights["api_usage"] == 80.0
    assert sliders.sliders["api_usage"].max == 80.0
    assert sliders.sliders["login_frequency"].max == 50.0


def test_the_page_reads_the_scores_with_healthdash_scores(monkeypatch: pytest.MonkeyPatch, table: pd.DataFrame) -> None:
    monkeypatch.setattr("healthdash.analysis.scores", lambda: table)
    page = ExplorePage(links=LINKS)
    page.load()
    assert page.scores is table
    assert isinstance(page.as_of, dt.datetime)
