"""The customer detail page's header: who the customer is, and their score, tier and trend."""

from __future__ import annotations

from traitlets import Instance

from healthdash.api.models.responses import CustomerHealth
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
from healthdash.widgets.model_view import ModelView


class CustomerHeader(ModelView[CustomerHealth]):
    """Name and profile on the left; the score in its tier's colour, the tier and the trend on the right."""

    model_trait = "health"
    health = Instance(CustomerHealth, allow_none=True, help="the customer's health shown")

    def html(self, health: CustomerHealth) -> str:
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
        return (
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
