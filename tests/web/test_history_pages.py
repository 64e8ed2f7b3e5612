"""The score history in a real browser: the customer's chart and what changed, tiers over time, the week's drops."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.scoring import ScoringConfig
from tests.web.conftest import WebApp
from tests.web.pages import expect, visit

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def configuration_changed(app: WebApp) -> Iterator[str]:
    """The last 10 written days marked as scored under a stricter configuration; yield the first of them."""
    engine = create_engine(app.database_url, poolclass=NullPool)
    stricter = ScoringConfig(healthy_min=85.0)
    with engine.begin() as conn:
        new = conn.execute(
            text("INSERT INTO scoring_configs (hash, settings) VALUES (:h, CAST(:s AS jsonb)) RETURNING id"),
            {"h": stricter.fingerprint(), "s": json.dumps(stricter.canonical())},
        ).scalar_one()
        old, first = conn.execute(
            text("SELECT min(config_id), (SELECT day FROM score_history_days ORDER BY day DESC OFFSET 9 LIMIT 1) "
                 "FROM score_history_days")
        ).one()  # fmt: skip
        conn.execute(text("UPDATE score_history_days SET config_id = :n WHERE day >= :d"), {"n": new, "d": first})
    yield first.isoformat()
    with engine.begin() as conn:
        conn.execute(text("UPDATE score_history_days SET config_id = :o"), {"o": old})
        conn.execute(text("DELETE FROM scoring_configs WHERE id = :n"), {"n": new})
    engine.dispose()


def test_the_customer_page_charts_each_day_and_explains_the_change(
    app: WebApp, context: Any, configuration_changed: str
) -> None:
    _, _, changes = app.server.get("/api/customers/3/changes")
    seen = visit(context, app.page("customer", "?id=3"))
    page = seen.page
    points = page.locator(".hd-history-chart circle.hd-point")
    expect(points).to_have_count(90)
    marker = page.locator(".hd-history-chart .hd-config-change")
    expect(marker).to_have_count(1)
    assert f"{configuration_changed}: scoring configuration changed (healthy_min 70.0 to 85.0)" in (
        marker.locator("title").text_content() or ""
    )
    x_of_marker = float(marker.get_attribute("x1") or "nan")
    assert x_of_marker == (90 - 10) * 4  # before the tenth day from the end: 4 units a day
    last = points.last.locator("title").text_content() or ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\d: \d+\.\d, (healthy|at risk|critical|insufficient data)", last)

    shown = page.locator(".hd-what-changed li.hd-change").all_inner_texts()
    assert shown == [line["sentence"] for line in changes["lines"] if line["points"] != 0]

    page.get_by_role("button", name="180 days").click()  # Voila's toggle buttons
    expect(points).to_have_count(180)
    assert seen.problems() == []


def test_the_dashboard_shows_tiers_over_time_and_links_the_week_s_drops(app: WebApp, context: Any) -> None:
    _, _, dashboard = app.server.get("/api/dashboard")
    seen = visit(context, app.page("dashboard"))
    page = seen.page
    days = dashboard["tier_history"]
    expect(page.locator(".hd-tier-history svg rect")).to_have_count(
        sum(1 for d in days for t in ("healthy", "at_risk", "critical", "insufficient_data") if d[t])
    )
    drops = page.locator(".hd-drops tr.hd-drop a.hd-name")
    expect(drops).to_have_count(len(dashboard["movers"]["7"]["falls"]))
    first = dashboard["movers"]["7"]["falls"][0]
    assert seen.problems() == []
    drops.first.click()
    page.wait_for_url(re.compile(rf"customer\.ipynb\?id={first['id']}$"))
    page.wait_for_selector(".hd-page", state="visible", timeout=90_000)
    expect(page.locator(".hd-customer-name")).to_have_text(first["name"])
