"""How well the score foretold churn: the backtest's figures, from counts the database gathers (pure, no I/O).

An observation is one customer on one closed day D of the range, active at D (not churned on or before it) and
scored: it is *flagged* when its tier at D was at_risk or critical, and *churned* when the customer churned in
(D, D + horizon]. Every figure is computed from counts per score bin (a tenth of a point), so that the database
hands over a few thousand rows, however many observations there are:

- the confusion table of flagged against churned, precision, recall, the base churn rate and the lift (precision
  over the base rate), each also weighted by the customers' ARR;
- the ROC AUC of the score (a lower score should mean a churner): the chance that a churner scored lower than a
  customer who stayed, ties counting half; the ROC curve (one point per score threshold);
- the churn rate per 10-point score band (calibration);
- per churned customer: the days between the first flag within the horizon before its churn and the churn (their
  median), and whether it was flagged at least `lead` days ahead (the share of churners, and of churned ARR);
- per factor: the AUC of that factor's score alone.

docs/scoring.md gives the formulas with a worked example.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

BINS_PER_POINT = 10  # scores are counted to a tenth of a point
BANDS = 10  # calibration bands of 10 points: [0, 10), [10, 20), ... [90, 100]


@dataclass(frozen=True)
class ScoreCounts:
    """Observations counted per score bin (score x 10, rounded), churned or not, flagged or not, with their ARR."""

    bin: Sequence[int]
    churned: Sequence[bool]
    flagged: Sequence[bool]
    count: Sequence[int]
    arr: Sequence[float]


@dataclass(frozen=True)
class Churner:
    """A customer that churned within the horizon after a day of the range."""

    arr: float
    lead_days: int | None  # days between its first flag within the horizon before its churn, and the churn
    flagged_ahead: bool  # flagged on a day at least `lead` days before its churn


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    customers_days: int
    churned: int
    churn_rate: float | None


@dataclass(frozen=True)
class Figures:
    """The backtest's figures; a figure that cannot be computed (nothing to divide by) is None."""

    observations: int
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    precision: float | None
    recall: float | None
    base_rate: float | None
    lift: float | None
    auc: float | None
    arr_precision: float | None
    arr_recall: float | None
    bands: list[Band]
    roc: list[tuple[float, float, float]]  # (threshold score, false positive rate, true positive rate)
    churners: int
    churners_flagged_ahead: int
    share_flagged_ahead: float | None
    churned_arr: float
    churned_arr_flagged_ahead: float
    arr_share_flagged_ahead: float | None
    median_lead_days: float | None
    factor_auc: dict[str, float | None] = field(default_factory=dict)
    factor_step: int = 1  # the factors' AUCs read every factor_step-th day of the range

    def as_dict(self) -> dict[str, Any]:
        """Return the figures as plain JSON-ready values."""
        return {
            "observations": self.observations,
            "confusion": {
                "true_positives": self.true_positives,
                "false_positives": self.false_positives,
                "false_negatives": self.false_negatives,
                "true_negatives": self.true_negatives,
            },
            "precision": self.precision,
            "recall": self.recall,
            "base_rate": self.base_rate,
            "lift": self.lift,
            "auc": self.auc,
            "arr_precision": self.arr_precision,
            "arr_recall": self.arr_recall,
            "calibration": [vars(band) for band in self.bands],
            "roc": [{"threshold": t, "false_positive_rate": f, "true_positive_rate": r} for t, f, r in self.roc],
            "churners": self.churners,
            "churners_flagged_ahead": self.churners_flagged_ahead,
            "share_flagged_ahead": self.share_flagged_ahead,
            "churned_arr": self.churned_arr,
            "churned_arr_flagged_ahead": self.churned_arr_flagged_ahead,
            "arr_share_flagged_ahead": self.arr_share_flagged_ahead,
            "median_lead_days": self.median_lead_days,
            "factor_auc": self.factor_auc,
            "factor_auc_every_days": self.factor_step,
        }


def figures(
    scores: ScoreCounts,
    churners: Sequence[Churner],
    factors: Mapping[str, tuple[Sequence[int], Sequence[bool], Sequence[int]]] | None = None,
    factor_step: int = 1,
) -> Figures:
    """Compute every figure from the counts per score bin, the churners and each factor's counts per bin (read on
    every `factor_step`-th day of the range)."""
    bins = np.asarray(scores.bin, dtype=np.int64)
    churned = np.asarray(scores.churned, dtype=bool)
    flagged = np.asarray(scores.flagged, dtype=bool)
    count = np.asarray(scores.count, dtype=np.int64)
    arr = np.asarray(scores.arr, dtype=np.float64)
    tp, fp = int(count[flagged & churned].sum()), int(count[flagged & ~churned].sum())
    fn, tn = int(count[~flagged & churned].sum()), int(count[~flagged & ~churned].sum())
    n = tp + fp + fn + tn
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    base_rate = _ratio(tp + fn, n)
    lift = None if precision is None or not base_rate else precision / base_rate
    arr_tp = float(arr[flagged & churned].sum())
    arr_precision = _ratio(arr_tp, float(arr[flagged].sum()))
    arr_recall = _ratio(arr_tp, float(arr[churned].sum()))
    auc, roc = _auc_and_roc(bins, churned, count)
    lead = [c.lead_days for c in churners if c.lead_days is not None]
    ahead = [c for c in churners if c.flagged_ahead]
    churned_arr = float(sum(c.arr for c in churners))
    ahead_arr = float(sum(c.arr for c in ahead))
    factor_auc = {
        key: _auc_and_roc(np.asarray(b, dtype=np.int64), np.asarray(c, dtype=bool), np.asarray(k, dtype=np.int64))[0]
        for key, (b, c, k) in (factors or {}).items()
    }
    return Figures(
        observations=n,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        true_negatives=tn,
        precision=precision,
        recall=recall,
        base_rate=base_rate,
        lift=lift,
        auc=auc,
        arr_precision=arr_precision,
        arr_recall=arr_recall,
        bands=_bands(bins, churned, count),
        roc=roc,
        churners=len(churners),
        churners_flagged_ahead=len(ahead),
        share_flagged_ahead=_ratio(len(ahead), len(churners)),
        churned_arr=churned_arr,
        churned_arr_flagged_ahead=ahead_arr,
        arr_share_flagged_ahead=_ratio(ahead_arr, churned_arr),
        median_lead_days=float(np.median(lead)) if lead else None,
        factor_auc=factor_auc,
        factor_step=factor_step,
    )


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if not denominator else numerator / denominator


def _auc_and_roc(
    bins: npt.NDArray[np.int64], churned: npt.NDArray[np.bool_], count: npt.NDArray[np.int64]
) -> tuple[float | None, list[tuple[float, float, float]]]:
    """Return the AUC of a low score foretelling churn, and the ROC curve, from counts per score bin.

    Thresholds go up from the lowest score: at threshold t a customer scoring t or less is called a churner. The AUC
    is the area under that curve (trapezoids), which equals the chance that a churner scored lower than a customer
    who stayed, with ties counting half.
    """
    if not len(bins):
        return None, []
    levels = np.unique(bins)
    slot = np.searchsorted(levels, bins)
    pos = np.bincount(slot, weights=np.where(churned, count, 0), minlength=len(levels))
    neg = np.bincount(slot, weights=np.where(churned, 0, count), minlength=len(levels))
    total_pos, total_neg = pos.sum(), neg.sum()
    if not total_pos or not total_neg:
        return None, []
    tpr = np.concatenate([[0.0], np.cumsum(pos) / total_pos])
    fpr = np.concatenate([[0.0], np.cumsum(neg) / total_neg])
    auc = float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2))
    roc = [(0.0, 0.0, 0.0)] + [
        (float(level) / BINS_PER_POINT, float(f), float(t))
        for level, f, t in zip(levels, fpr[1:], tpr[1:], strict=True)
    ]
    return auc, roc


def _bands(bins: npt.NDArray[np.int64], churned: npt.NDArray[np.bool_], count: npt.NDArray[np.int64]) -> list[Band]:
    band = np.minimum(bins // (BINS_PER_POINT * 100 // BANDS), BANDS - 1)
    result = []
    for b in range(BANDS):
        here = band == b
        total = int(count[here].sum())
        lost = int(count[here & churned].sum())
        result.append(Band(b * 10, b * 10 + 10, total, lost, _ratio(lost, total)))
    return result


def rounded(value: float | None, digits: int = 4) -> float | None:
    """Round a figure for display (None stays None; so does a NaN)."""
    return None if value is None or math.isnan(value) else round(value, digits)
