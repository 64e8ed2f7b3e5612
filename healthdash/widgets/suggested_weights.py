"""The weights the churns suggest beside the current ones, each judged on the same held-out days, and a link that
opens Explore with the suggested weights on its sliders (they are never applied by themselves)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from healthdash.api.models.responses import Backtest, HeldOut
from healthdash.scoring.terms import FACTOR_KEYS
from healthdash.widgets.backtest_views import BacktestView, number, percent, times
from healthdash.widgets.fragments import factor_label, text
from healthdash.widgets.links import PageLinks

FIGURES: tuple[tuple[str, Callable[[HeldOut], str]], ...] = (
    ("Precision", lambda h: percent(h.precision)),
    ("Recall", lambda h: percent(h.recall)),
    ("Lift", lambda h: times(h.lift)),
    ("ROC AUC", lambda h: number(h.auc)),
    ("Recall weighted by ARR", lambda h: percent(h.arr_recall)),
)


class SuggestedWeights(BacktestView):
    """The current and suggested weights side by side, the held-out backtest of each, and "Try them in Explore"."""

    def __init__(self, links: PageLinks | None = None, **kwargs: Any) -> None:
        self.links = links or PageLinks.from_environment()
        super().__init__(**kwargs)

    def html(self, result: Backtest) -> str:
        suggestion = result.suggested
        if suggestion is None:
            return (
                '<section class="hd-card hd-suggested"><h2>Suggested weights</h2><p class="hd-muted">Too few churns '
                "in this range to learn weights from (at least 5 churned customer-days in the earlier and in the "
                "later part).</p></section>"
            )
        current = result.current_weights
        weights = "".join(
            f'<tr class="hd-weight" data-factor="{text(key)}"><td><span>{text(factor_label(key))}</span></td>'
            f'<td class="hd-num"><span>{current.get(key, 0.0):g}</span></td>'  # type: ignore[call-overload]
            f'<td class="hd-num"><span>{suggestion.weights.get(key, 0)}</span></td></tr>'  # type: ignore[call-overload]
            for key in FACTOR_KEYS
        )
        judged = "".join(
            f'<tr><td><span>{text(label)}</span></td><td class="hd-num"><span>{text(shown(suggestion.current))}'
            f'</span></td><td class="hd-num"><span>{text(shown(suggestion.suggested))}</span></td></tr>'
            for label, shown in FIGURES
        )
        explore = self.links.explore({str(key): weight for key, weight in suggestion.weights.items()})
        return (
            '<section class="hd-card hd-suggested"><h2>Suggested weights</h2>'
            '<p class="hd-muted hd-small">A logistic model of churn on the factors, fitted on the first two thirds of '
            f"the range ({suggestion.trained_on:,} customer-days) and judged with the current weights on the last "
            f"third ({suggestion.held_out:,} customer-days it never saw). Never applied by itself.</p>"
            '<div class="hd-grid hd-grid-even"><table class="hd-table hd-weights"><thead><tr><th>Factor</th>'
            '<th class="hd-num">Current</th><th class="hd-num">Suggested</th></tr></thead>'
            f"<tbody>{weights}</tbody></table>"
            '<table class="hd-table hd-held-out"><thead><tr><th>On the held-out days</th>'
            '<th class="hd-num">Current</th><th class="hd-num">Suggested</th></tr></thead>'
            f"<tbody>{judged}</tbody></table></div>"
            f'<p><a class="hd-link-button hd-try" href="{text(explore)}">'
            "Try them in Explore \u203a</a></p></section>"
        )
