"""The history's widgets drawn from models: points per day, configuration markers, reasons, tiers over time, drops."""

from __future__ import annotations

import datetime as dt

from healthdash.api.models.responses import Dashboard, ScoreChanges, ScoreHistory
from healthdash.scoring import ScoringConfig
from healthdash.widgets.history_charts import BiggestDrops, TierHistoryChart
from healthdash.widgets.links import PageLinks
from healthdash.widgets.score_history import ScoreHistoryChart
from healthdash.widgets.what_changed import WhatChanged

HOSTILE = "<script>alert(1)</script>"
DAY = dt.date(2026, 11, 1)


def history(days: int, changed_on: int | None = None) -> ScoreHistory:
    entries = [
        {
            "day": (DAY + dt.timedelta(days=n)).isoformat(),
            "score": None if n == 0 else 50.0 + n,
            "tier": "insufficient_data" if n == 0 else "at_risk",
            "coverage": 1.0,
            "factors": {},
        }
        for n in range(days)
    ]
    changes = []
    if changed_on is not None:
        day = (DAY + dt.timedelta(days=changed_on)).isoformat()
        changes = [{"day": day, "changes": [{"setting": "healthy_min", "from": 70.0, "to": 80.0}]}]
    return ScoreHistory.model_validate(
        {"customer_id": 1, "from": DAY, "to": DAY, "days": entries, "configuration_changes": changes}
    )


def test_the_chart_has_a_point_per_scored_day_and_a_marker_per_configuration_change() -> None:
    chart = ScoreHistoryChart(config=ScoringConfig(healthy_min=80.0))
    chart.history = history(30, changed_on=12)

    assert chart.value.count('class="hd-point"') == 29  # the first day has no score
    assert chart.value.count('class="hd-config-change"') == 1
    assert 'x1="48.0"' in chart.value  # before the 13th day (4 units a day)
    assert "2026-11-13: scoring configuration changed (healthy_min 70.0 to 80.0)" in chart.value
    assert 'y="0.00" width="120" height="20.00"' in chart.value  # the healthy band: 80 to 100

    chart.history = history(0)
    assert "No closed day yet." in chart.value


def test_the_reasons_are_escaped_sentences() -> None:
    changes = ScoreChanges.model_validate(
        {
            "customer_id": 1,
            "from": DAY,
            "to": DAY,
            "score_then": 80.0,
            "score_now": 60.0,
            "tier_then": "healthy",
            "tier_now": "at_risk",
            "movement": -20.0,
            "lines": [
                {"kind": "factor", "key": "login_frequency", "label": "Login frequency", "points": -20.0,
                 "sentence": f"{HOSTILE}: -20.0 points", "score_then": 80.0, "score_now": 40.0,
                 "raw_then": {}, "raw_now": {}},
                {"kind": "factor", "key": "api_usage", "label": "API usage", "points": 0.0, "sentence": "still",
                 "score_then": None, "score_now": None, "raw_then": None, "raw_now": None},
            ],
        }
    )  # fmt: skip
    panel = WhatChanged(changes=changes)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;: -20.0 points" in panel.value
    assert "<script>" not in panel.value and "still" not in panel.value  # lines that moved nothing are left out
    assert "(-20.0 points)" in panel.value


def dashboard(with_history: bool) -> Dashboard:
    mover = {"id": 7, "name": HOSTILE, "score": 30.0, "tier": "critical", "change": -25.5, "factor": "login_frequency",
             "factor_points": -20.1}  # fmt: skip
    return Dashboard.model_validate(
        {
            "as_of": "2026-11-30T12:00:00Z",
            "customer_count": 3,
            "average_score": 50.0,
            "tiers": {"healthy": 1, "at_risk": 1, "critical": 1, "insufficient_data": 0},
            "top_at_risk": [],
            "factor_averages": {},
            "distribution": [],
            "movers": {"7": {"falls": [mover], "rises": []}, "30": {"falls": [], "rises": []}}
            if with_history
            else None,
            "tier_history": [
                {"day": "2026-11-29", "healthy": 1, "at_risk": 1, "critical": 1, "insufficient_data": 0},
                {"day": "2026-11-30", "healthy": 0, "at_risk": 1, "critical": 2, "insufficient_data": 0},
            ]
            if with_history
            else None,
        }
    )


def test_the_tiers_over_time_stack_each_day() -> None:
    chart = TierHistoryChart(dashboard=dashboard(True))
    assert chart.value.count("<rect") == 5  # three tiers the first day, two the second
    assert "2026-11-30: Critical 2" in chart.value
    assert "No closed day yet." in TierHistoryChart(dashboard=dashboard(False)).value


def test_the_biggest_drops_link_to_their_customers() -> None:
    table = BiggestDrops(PageLinks("/voila/render/"), dashboard=dashboard(True))
    assert 'href="/voila/render/customer.ipynb?id=7"' in table.value
    assert "&lt;script&gt;" in table.value and "<script>" not in table.value
    assert "-25.5" in table.value and "(-20.1)" in table.value
    assert "No score fell this week." in BiggestDrops(PageLinks("/"), dashboard=dashboard(False)).value
