"""Weights suggested by the outcomes: fitted on the earlier days, judged on the later ones against the current ones."""

from __future__ import annotations

import numpy as np
import pytest

from healthdash.scoring import FACTOR_KEYS
from healthdash.scoring.config import DEFAULT_WEIGHTS
from healthdash.weights_fit import Observations, suggest_weights, weighted_scores, whole_weights


def customer_days(size: int, seed: int) -> Observations:
    """Customer-days whose churn follows their logins alone: the other factors are noise."""
    rng = np.random.default_rng(seed)
    factors = {key: rng.uniform(0, 100, size) for key in FACTOR_KEYS}
    factors["api_usage"][rng.random(size) < 0.3] = np.nan  # does not apply to some
    chance = 1 / (1 + np.exp(-(6 * (100 - factors["login_frequency"]) / 100 - 5)))
    return Observations(factors, rng.random(size) < chance, np.full(size, 1000.0))


def test_the_weights_follow_the_signal_that_foretells_churn_and_do_better_on_days_held_out() -> None:
    suggestion = suggest_weights(customer_days(4000, 1), customer_days(2000, 2), DEFAULT_WEIGHTS, 70.0)
    assert suggestion is not None
    weights = suggestion.weights
    assert sum(weights.values()) == 100 and all(w >= 0 for w in weights.values())
    assert weights["login_frequency"] == max(weights.values()) and weights["login_frequency"] >= 60
    assert suggestion.suggested.auc is not None and suggestion.current.auc is not None
    assert suggestion.suggested.auc > suggestion.current.auc  # judged on the held-out days only
    assert (suggestion.trained_on, suggestion.held_out) == (4000, 2000)
    body = suggestion.as_dict()
    assert body["weights"] == weights and set(body["current"]) == set(body["suggested"])


def test_too_few_churns_give_no_suggestion() -> None:
    calm = customer_days(500, 3)
    calm = Observations(calm.factors, np.zeros(500, dtype=bool), calm.arr)
    assert suggest_weights(calm, customer_days(500, 4), DEFAULT_WEIGHTS, 70.0) is None


def test_whole_weights_sum_to_100_by_the_largest_remainders() -> None:
    assert whole_weights([1, 1, 1]) == [34, 33, 33]
    assert whole_weights([0.5, 0.25, 0.25, 0.0]) == [50, 25, 25, 0]


def test_the_score_under_weights_is_the_mean_over_the_factors_that_apply() -> None:
    factors = {"a": np.array([80.0, np.nan, np.nan]), "b": np.array([40.0, 50.0, np.nan])}
    scores = weighted_scores(factors, {"a": 3, "b": 1})
    assert scores[0] == pytest.approx(70.0) and scores[1] == 50.0 and np.isnan(scores[2])
