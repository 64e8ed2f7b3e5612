"""A customer's activity per day over the last 90 days: logins, feature uses and API calls."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from traitlets import Instance

from healthdash.api.models.responses import CustomerHealth, DailyActivity
from healthdash.widgets.charts import timeline_svg
from healthdash.widgets.fragments import text
from healthdash.widgets.model_view import ModelView

DAYS = 90
SERIES = (
    ("logins", "Logins", "#0969da"),
    ("feature_uses", "Feature uses", "#8250df"),
    ("api_calls", "API calls", "#1a7f37"),
)


class ActivityTimeline(ModelView[CustomerHealth]):
    """Three day-by-day column charts sharing one time axis; days without activity count as zero."""

    model_trait = "health"
    health = Instance(CustomerHealth, allow_none=True, help="the customer's health (its `activity`) shown")

    def html(self, health: CustomerHealth) -> str:
        last = health.as_of.astimezone(dt.UTC).date()
        days = daily_series(health.activity, last)
        blocks = []
        for field, label, colour in SERIES:
            points = [(d.day.isoformat(), float(getattr(d, field))) for d in days]
            total = sum(v for _, v in points)
            peak = max((v for _, v in points), default=0)
            blocks.append(
                f'<div class="hd-series" data-series="{field}"><div class="hd-series-head"><strong>{label}</strong>'
                f'<span class="hd-muted">{total:,.0f} in {DAYS} days \u00b7 peak {peak:,.0f} a day</span></div>'
                f"{timeline_svg(points, colour, f'{label} per day')}</div>"
            )
        first = days[0].day.isoformat()
        middle = days[len(days) // 2].day.isoformat()
        axis = (
            '<div class="hd-series-head hd-small hd-muted">'
            f"<span>{text(first)}</span><span>{text(middle)}</span><span>{text(last.isoformat())}</span></div>"
        )
        return (
            f'<section class="hd-card hd-timeline"><h2>Activity, last {DAYS} days</h2>{"".join(blocks)}{axis}</section>'
        )


def daily_series(activity: Sequence[DailyActivity], last: dt.date, days: int = DAYS) -> list[DailyActivity]:
    """Return one entry per day for the `days` days ending with `last`, zero where the API sent none."""
    by_day = {a.day: a for a in activity}
    series = []
    for offset in range(days - 1, -1, -1):
        when = last - dt.timedelta(days=offset)
        series.append(by_day.get(when) or DailyActivity(day=when, logins=0, feature_uses=0, api_calls=0))
    return series
