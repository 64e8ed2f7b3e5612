"""What moved a customer's score over the last 30 days: the score and tier then and now, and a line per reason."""

from __future__ import annotations

from traitlets import Instance

from healthdash.api.models.responses import ScoreChanges
from healthdash.widgets.fragments import score_html, text, tier_badge
from healthdash.widgets.model_view import ModelView


class WhatChanged(ModelView[ScoreChanges]):
    """The reasons, largest first, each a sentence that ends with the points it moved the score."""

    model_trait = "changes"
    changes = Instance(ScoreChanges, allow_none=True, help="the changes shown")

    def html(self, changes: ScoreChanges) -> str:
        moved = "" if changes.movement is None else f" ({changes.movement:+.1f} points)"
        head = (
            f'<p class="hd-changes-head">{text(changes.from_.isoformat())}: '
            f"{score_html(changes.score_then, changes.tier_then)} {tier_badge(changes.tier_then)} \u2192 "
            f"{text(changes.to.isoformat())}: {score_html(changes.score_now, changes.tier_now)} "
            f"{tier_badge(changes.tier_now)}{text(moved)}</p>"
        )
        lines = "".join(
            f'<li class="hd-change" data-kind="{text(line.kind)}">{text(line.sentence)}</li>'
            for line in changes.lines
            if line.points is None or line.points != 0
        )
        return (
            f'<section class="hd-card hd-what-changed"><h2>What changed</h2>{head}'
            f'<ul class="hd-changes">{lines or "<li class=hd-muted>Nothing moved the score.</li>"}</ul></section>'
        )
