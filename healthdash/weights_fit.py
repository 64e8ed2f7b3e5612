"""Weights suggested by the outcomes: a regularised logistic model of churn on the factors' scores, fitted on the
earlier part of a range of days and judged on the later part, so that it does not flatter itself.

Each factor enters as its risk, (100 - score) / 100; a factor that does not apply enters as its mean risk. The
model's coefficients, kept non-negative (a factor whose risk does not raise the chance of churn gets no weight), are
scaled to whole weights summing to 100. On the held-out days the score is computed under both sets of weights, as
the model does (a weighted mean over the factors that apply), and both are judged as the backtest judges the score:
flagged below the healthy threshold. Never applied: the weights are a suggestion to try in Explore.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from healthdash.backtest_figures import BINS_PER_POINT, Figures, ScoreCounts, figures

MIN_CHURNED = 5  # fewer churned customer-days in either part than this: no suggestion
REGULARISATION = 1.0  # sklearn's C: the inverse strength of the L2 penalty


@dataclass(frozen=True)
class Observations:
    """Customer-days: each factor's score (NaN: does not apply), whether it churned in the horizon, its ARR."""

    factors: Mapping[str, npt.NDArray[np.float64]]
    churned: npt.NDArray[np.bool_]
    arr: npt.NDArray[np.float64]


@dataclass(frozen=True)
class Suggestion:
    weights: dict[str, int]
    current: Figures  # the held-out days judged under the current weights
    suggested: Figures  # and under the suggested ones
    trained_on: int  # customer-days
    held_out: int

    def as_dict(self) -> dict[str, Any]:
        """Return the suggestion as plain JSON-ready values."""
        return {
            "weights": self.weights,
            "trained_on": self.trained_on,
            "held_out": self.held_out,
            "current": _headline(self.current),
            "suggested": _headline(self.suggested),
        }


def suggest_weights(
    train: Observations, test: Observations, current: Mapping[str, float], healthy_min: float
) -> Suggestion | None:
    """Fit the weights on `train` and judge them against the current ones on `test`; None with too few churns."""
    from sklearn.linear_model import LogisticRegression  # loaded only when weights are asked for

    if min(int(train.churned.sum()), int(test.churned.sum())) < MIN_CHURNED or train.churned.all():
        return None
    keys = list(current)
    risk = _risks(train, keys)
    model = LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=1000)
    model.fit(risk, train.churned)
    coefficients = np.maximum(model.coef_[0], 0.0)
    if not coefficients.sum():
        return None
    weights = dict(zip(keys, whole_weights(coefficients), strict=True))
    return Suggestion(
        weights=weights,
        current=_judged(test, current, healthy_min),
        suggested=_judged(test, weights, healthy_min),
        trained_on=len(train.churned),
        held_out=len(test.churned),
    )


def whole_weights(values: Sequence[float] | npt.NDArray[np.float64]) -> list[int]:
    """Scale non-negative values to whole numbers summing to 100 (largest remainders round up)."""
    shares = 100 * np.asarray(values, dtype=float) / float(np.sum(values))
    whole = np.floor(shares).astype(int)
    order = np.argsort(-(shares - whole), kind="stable")
    whole[order[: 100 - int(whole.sum())]] += 1
    return [int(w) for w in whole]


def weighted_scores(factors: Mapping[str, npt.NDArray[np.float64]], weights: Mapping[str, float]) -> np.ndarray:
    """Return the score under the weights: the weighted mean of the factors that apply (NaN when none does)."""
    total = np.zeros(len(next(iter(factors.values()))))
    weight = np.zeros_like(total)
    for key, w in weights.items():
        values = factors[key]
        applies = ~np.isnan(values)
        total += np.where(applies, values * w, 0.0)
        weight += np.where(applies, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, np.nan)


def _risks(observations: Observations, keys: list[str]) -> np.ndarray:
    columns = []
    for key in keys:
        risk = (100.0 - observations.factors[key]) / 100.0
        mean = float(np.nanmean(risk)) if (~np.isnan(risk)).any() else 0.0
        columns.append(np.where(np.isnan(risk), mean, risk))
    return np.column_stack(columns)


def _judged(observations: Observations, weights: Mapping[str, float], healthy_min: float) -> Figures:
    score = weighted_scores(observations.factors, weights)
    known = ~np.isnan(score)
    bins = np.round(score[known] * BINS_PER_POINT).astype(np.int64)
    counts = ScoreCounts(
        bin=list(bins),
        churned=list(observations.churned[known]),
        flagged=list(score[known] < healthy_min),
        count=[1] * int(known.sum()),
        arr=list(observations.arr[known]),
    )
    return figures(counts, [])


def _headline(result: Figures) -> dict[str, Any]:
    return {
        "observations": result.observations,
        "precision": result.precision,
        "recall": result.recall,
        "lift": result.lift,
        "auc": result.auc,
        "arr_recall": result.arr_recall,
    }
