"""A customer's score over the closed days: tier bands behind, a point per day to hover, a marker where the scoring
configuration changed; and the choice of how many days (90, 180 or 365)."""

from __future__ import annotations

from typing import Any

import ipywidgets as ipw
from traitlets import Instance, Int

from healthdash.api.models.responses import ScoreHistory
from healthdash.scoring import ScoringConfig
from healthdash.widgets.charts import ScorePoint, history_svg
from healthdash.widgets.fragments import text
from healthdash.widgets.model_view import ModelView
from healthdash.widgets.styles import TIER_BACKGROUNDS

RANGES = ((90, "90 days"), (180, "180 days"), (365, "365 days"))


class ScoreHistoryChart(ModelView[ScoreHistory]):
    """The chart of one history; the tier bands follow `config`."""

    model_trait = "history"
    history = Instance(ScoreHistory, allow_none=True, help="the customer's history shown")
    config = Instance(ScoringConfig, args=(), help="the scoring configuration whose tiers shade the chart")

    def html(self, history: ScoreHistory) -> str:
        days = history.days
        if not days:
            return '<section class="hd-card"><h2>Score history</h2><p class="hd-muted">No closed day yet.</p></section>'
        points = [ScorePoint(d.day.isoformat(), d.score, d.tier) for d in days]
        position = {d.day: i for i, d in enumerate(days)}
        markers = [
            (
                position[c.day],
                f"{c.day}: scoring configuration changed ("
                + ", ".join(f"{s.setting} {s.from_} to {s.to}" for s in c.changes)
                + ")",
            )
            for c in history.configuration_changes
            if c.day in position
        ]
        config = self.config
        bands = [
            (config.healthy_min, 100.0, TIER_BACKGROUNDS["healthy"]),
            (config.at_risk_min, config.healthy_min, TIER_BACKGROUNDS["at_risk"]),
            (0.0, config.at_risk_min, TIER_BACKGROUNDS["critical"]),
        ]
        chart = history_svg(points, bands, markers, f"Score per day, {days[0].day} to {days[-1].day}")
        axis = (
            '<div class="hd-series-head hd-small hd-muted">'
            f"<span>{text(days[0].day.isoformat())}</span><span>{text(days[-1].day.isoformat())}</span></div>"
        )
        return f'<section class="hd-card hd-history"><h2>Score history</h2>{chart}{axis}</section>'


class ScoreHistoryView(ipw.VBox):  # type: ignore[misc]
    """The chart with its range buttons; `days` is the range chosen."""

    days = Int(90, help="how many closed days the chart shows")

    def __init__(self, **kwargs: Any) -> None:
        self.chart = ScoreHistoryChart()
        self.range = ipw.ToggleButtons(options=[(label, days) for days, label in RANGES], value=90)
        super().__init__([self.range, self.chart], **kwargs)
        ipw.link((self.range, "value"), (self, "days"))
