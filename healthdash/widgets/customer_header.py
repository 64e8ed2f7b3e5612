"""The customer detail page's header: who the customer is, and their score, tier and trend."""

from __future__ import annotations

from typing import Any

import ipywidgets as ipw
from traitlets import Instance

from healthdash.api.models import CustomerHealth
from healthdash.widgets.fragments import (
    day,
    plan_label,
    score_number,
    segment_label,
    text,
    tier_badge,
    tier_class,
    trend_html,
)


class CustomerHeader(ipw.HTML):  # type: ignore[misc]
    """Name and profile on the left; the score in its tier's colour, the tier and the trend on the right."""

    health = Instance(CustomerHealth, allow_none=True, help="the customer's health shown")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("hd-html")
        self.observe(self._render, names="health")
        self._render()

    def _render(self, change: Any = None) -> None:
        health = self.health
        if health is None:
            self.value = ""
            return
        c = health.customer
        facts = [
            segment_label(c.segment),
            f"{plan_label(c.plan)} plan",
            f"{c.seats:,} seats",
            c.industry,
            c.region.upper(),
            f"owner {c.owner}" if c.owner else "no owner",
            f"customer since {day(c.created_at)}",
        ]
        profile = " \u00b7 ".join(f'<span class="hd-fact">{text(fact)}</span>' for fact in facts)
        previous = health.trend.previous_score
        was = f' <span class="hd-muted">(was {score_number(previous)})</span>' if previous is not None else ""
        self.value = (
            '<section class="hd-card hd-header">'
            f'<div><h2 class="hd-customer-name">{text(c.name)}</h2>'
            f'<div class="hd-muted">{profile}</div></div>'
            '<div class="hd-header-score">'
            f'<div class="hd-big {tier_class(health.tier)}" data-score="{text(score_number(health.score))}">'
            f"{score_number(health.score)}</div>"
            f"<div>{tier_badge(health.tier)} {trend_html(health.trend.delta)} in 30 days{was}</div>"
            f'<div class="hd-small hd-muted">data for {health.coverage:.0%} of the weight</div>'
            "</div></section>"
        )
