"""Why a customer has their score: per factor, raw values -> factor score -> points lost, and the reason."""

from __future__ import annotations

from typing import Any

from traitlets import Instance

from healthdash.api.models.responses import CustomerHealth, FactorBreakdown
from healthdash.widgets.charts import BarRow, Segment, bar_rows
from healthdash.widgets.fragments import score_number, text
from healthdash.widgets.model_view import ModelView

PERCENT_KEYS = ("share", "change")


class FactorBreakdownView(ModelView[CustomerHealth]):
    """A chart of the points each factor earns and loses out of 100, then each factor's chain of reasoning."""

    model_trait = "health"
    health = Instance(CustomerHealth, allow_none=True, help="the customer's health shown")

    def html(self, health: CustomerHealth) -> str:
        if not health.factors:
            return (
                '<section class="hd-card"><h2>Why this score</h2>'
                '<p class="hd-muted">No score yet: the customer has no data as of this moment.</p></section>'
            )
        widest = max((f.points + f.points_lost for f in health.factors), default=0.0) or 1.0
        rows = [
            BarRow(
                label=f.label,
                segments=[
                    Segment(f.points / widest, "hd-fill-accent", f"{f.label}: earns {f.points:.1f} points"),
                    Segment(f.points_lost / widest, "hd-bar-lost", f"{f.label}: loses {f.points_lost:.1f} points"),
                ],
                value=f"\u2212{f.points_lost:.1f}" if f.score is not None else "n/a",
            )
            for f in health.factors
        ]
        chart = bar_rows(rows, "Points each factor earns (solid) and loses (hatched) out of 100", open_track=True)
        details = "".join(_factor(f) for f in health.factors)
        return (
            '<section class="hd-card"><h2>Why this score</h2>'
            '<div class="hd-small hd-muted" style="margin-bottom:8px">Each bar is the factor\'s share of 100 points: '
            "solid is earned, hatched is lost.</div>"
            f'{chart}<div class="hd-factors">{details}</div></section>'
        )


def _factor(f: FactorBreakdown) -> str:
    if f.score is None:
        outcome = '<span class="hd-muted">does not apply: its weight goes to the other factors</span>'
    else:
        outcome = (
            f"factor score <strong>{score_number(f.score)}</strong> / 100 \u2192 "
            f"<strong>{f.points:.1f}</strong> points earned, <strong>{f.points_lost:.1f}</strong> lost"
        )
    return (
        f'<div class="hd-factor" data-factor="{text(f.key)}">'
        f'<div class="hd-factor-head"><strong>{text(f.label)}</strong> '
        f'<span class="hd-muted hd-small">weight {f.weight:g}</span></div>'
        f'<div class="hd-factor-flow">{text(raw_text(f.raw))} \u2192 {outcome}</div>'
        f'<div class="hd-factor-explain">{text(f.explanation)}</div></div>'
    )


def raw_text(raw: dict[str, Any]) -> str:
    """Describe a factor's raw values in one line: 'active days 3 \u00b7 target days 16'."""
    parts = []
    for key, value in raw.items():
        label = key.replace("_", " ")
        parts.append(f"{label} {_value(key, value)}")
    return " \u00b7 ".join(parts) or "no raw values"


def _value(key: str, value: Any) -> str:
    if value is None:
        return "\u2013"
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')} {_value(k, v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if any(key.endswith(word) for word in PERCENT_KEYS):
            return f"{value:+.0%}" if key.endswith("change") else f"{value:.0%}"
        return f"{value:,g}"
    return str(value)
