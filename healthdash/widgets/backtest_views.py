"""The backtest's views: its headline figures, the calibration chart, the ROC curve, the confusion table and each
factor's signal, each drawn from one answer of GET /api/backtest."""

from __future__ import annotations

from traitlets import Instance

from healthdash.api.models.responses import Backtest
from healthdash.widgets.charts import BarRow, Segment, bar_rows, curve_svg, rate_columns_svg
from healthdash.widgets.fragments import factor_label, text
from healthdash.widgets.model_view import ModelView

DASH = "\u2013"


class BacktestView(ModelView[Backtest]):
    """A view of a backtest, drawn again whenever `backtest` changes."""

    model_trait = "backtest"
    backtest = Instance(Backtest, allow_none=True, help="the backtest shown")


class Headline(BacktestView):
    """The figures a reader asks first: precision, recall, lift, AUC, lead and the churned ARR flagged in time."""

    def html(self, result: Backtest) -> str:
        f = result.figures
        if not f.observations:
            return (
                f'<p class="hd-notice">No customer-day from {result.from_} to {result.to} to judge: the score history '
                "is written once a day ends, and a day is judged once its horizon has passed.</p>"
            )
        tiles = [
            ("Precision", percent(f.precision), "of the customer-days flagged, the share that churned"),
            ("Recall", percent(f.recall), "of the customer-days that churned, the share flagged"),
            ("Lift", times(f.lift), "precision over the base churn rate"),
            ("ROC AUC", number(f.auc), "the chance a churner scored lower than a customer who stayed"),
            ("Median lead", days(f.median_lead_days), "from the first flag to the churn"),
            (
                f"Churned ARR flagged {result.lead}+ days ahead",
                percent(f.arr_share_flagged_ahead),
                f"{f.churned_arr_flagged_ahead:,.0f} of {f.churned_arr:,.0f}",
            ),
        ]
        cells = "".join(
            f'<div class="hd-tile" title="{text(hint)}"><div class="hd-value">{text(value)}</div>'
            f'<div class="hd-label">{text(label)}</div></div>'
            for label, value, hint in tiles
        )
        summary = (
            f"{f.observations:,} customer-days from {result.from_} to {result.to}, base churn rate "
            f"{percent(f.base_rate)}; {f.churners:,} customers churned, {f.churners_flagged_ahead:,} of them flagged "
            f"{result.lead} or more days ahead."
        )
        return f'<div class="hd-tiles hd-headline">{cells}</div><p class="hd-muted hd-small">{text(summary)}</p>'


class Calibration(BacktestView):
    """The churn rate in each 10-point score band: a score that means something falls as the rate rises."""

    def html(self, result: Backtest) -> str:
        columns = [
            (
                f"{band.low}\u2013{band.high}",
                band.churn_rate,
                f"scores {band.low} to {band.high}: {band.churned:,} of {band.customers_days:,} customer-days churned "
                f"within {result.horizon} days",
            )
            for band in result.figures.calibration
        ]
        chart = rate_columns_svg(columns, f"Churn within {result.horizon} days per 10-point score band")
        return (
            f'<section class="hd-card hd-calibration"><h2>Churn rate per score band</h2>{chart}'
            f'<p class="hd-muted hd-small">The share of customer-days in each band whose customer churned within '
            f"{result.horizon} days.</p></section>"
        )


class RocCurve(BacktestView):
    """The ROC curve of the score, with the point the tiers' flag (at risk or critical) stands at."""

    def html(self, result: Backtest) -> str:
        f = result.figures
        if not f.roc:
            return (
                '<section class="hd-card hd-roc"><h2>ROC curve</h2><p class="hd-muted">No churner and no customer '
                "who stayed to tell apart in this range.</p></section>"
            )
        points = [(p.false_positive_rate, p.true_positive_rate) for p in f.roc]
        c = f.confusion
        stayed, churned = c.false_positives + c.true_negatives, c.true_positives + c.false_negatives
        marks = []
        if stayed and churned:
            x, y = c.false_positives / stayed, c.true_positives / churned
            marks.append((x, y, f"the tiers' flag: {y:.0%} of churners, {x:.0%} of the others flagged"))
        chart = curve_svg(points, marks, f"ROC curve of the score, AUC {number(f.auc)}")
        return (
            f'<section class="hd-card hd-roc"><h2>ROC curve <span class="hd-muted">AUC {number(f.auc)}</span></h2>'
            f'<div class="hd-curve">{chart}</div><p class="hd-muted hd-small">Across: the share of customers who '
            "stayed that a score threshold flags; up: the share of churners it flags. The dashed diagonal is chance; "
            "the dot is the tiers' flag.</p></section>"
        )


class ConfusionTable(BacktestView):
    """Flagged against churned, in customer-days, with the ARR-weighted precision and recall."""

    def html(self, result: Backtest) -> str:
        f, c = result.figures, result.figures.confusion
        rows = (
            ("Flagged (at risk or critical)", c.true_positives, c.false_positives),
            ("Not flagged", c.false_negatives, c.true_negatives),
        )
        body = "".join(
            f'<tr><td><span>{text(label)}</span></td><td class="hd-num"><span>{lost:,}</span></td>'
            f'<td class="hd-num"><span>{kept:,}</span></td></tr>'
            for label, lost, kept in rows
        )
        return (
            '<section class="hd-card hd-confusion"><h2>Flagged against churned</h2><table class="hd-table">'
            f'<thead><tr><th>Customer-days</th><th class="hd-num">Churned within {result.horizon} days</th>'
            f'<th class="hd-num">Stayed</th></tr></thead><tbody>{body}</tbody></table>'
            f'<p class="hd-muted hd-small">Weighted by ARR: precision {percent(f.arr_precision)}, recall '
            f"{percent(f.arr_recall)}.</p></section>"
        )


class FactorSignal(BacktestView):
    """How well each factor alone tells churners apart (its AUC; 0.5 is a coin toss), strongest first."""

    def html(self, result: Backtest) -> str:
        found = sorted(result.figures.factor_auc.items(), key=lambda item: -1.0 if item[1] is None else -item[1])
        rows = [
            BarRow(
                label=factor_label(key),
                segments=[Segment(auc or 0.0, "hd-fill-accent", f"{factor_label(key)}: AUC {number(auc)}")],
                value=number(auc),
            )
            for key, auc in found
        ]
        chart = bar_rows(rows, "The ROC AUC of each factor's score alone")
        return (
            f'<section class="hd-card hd-factor-signal"><h2>Signal per factor</h2>{chart}'
            '<p class="hd-muted hd-small">The AUC of each factor alone: 1 separates churners perfectly, 0.5 is a coin '
            "toss.</p></section>"
        )


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value:.0%}"


def number(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}"


def times(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}\u00d7"


def days(value: float | None) -> str:
    return DASH if value is None else f"{value:.0f} days"
