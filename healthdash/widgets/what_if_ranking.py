"""Customers re-ranked under other factor weights, from factor scores fetched once.

Weights do not change a factor's score, only how the scores combine. So the ranking feeds the factor scores
already computed through the scoring model's own `score_customers`, as factors that pass their score through:
the weighting, coverage rule and tiers are the model's, never re-implemented here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import ipywidgets as ipw
import numpy as np
import pandas as pd
from traitlets import Dict, Instance

from healthdash.scoring import DEFAULT_FACTORS, FACTOR_KEYS, TIERS, Factor, ScoringConfig, score_customers
from healthdash.scoring.factor import Row
from healthdash.widgets.fragments import score_html, text, tier_badge, tier_label
from healthdash.widgets.links import PageLinks

TOP = 15


class KnownScore(Factor):
    """A factor whose scores are already known: it reads them from the column named by its key."""

    signals = ()

    def normalise(self, signals: pd.DataFrame, config: ScoringConfig) -> pd.Series:
        return signals[self.key].astype(float)

    def raw(self, row: Row, config: ScoringConfig) -> dict[str, Any]:
        return {"score": row[self.key]}

    def describe(self, row: Row, config: ScoringConfig) -> str:
        return f"{self.label} scored {row[self.key]}."


KNOWN_SCORES: tuple[Factor, ...] = tuple(
    type(f"Known{f.key.title().replace('_', '')}", (KnownScore,), {"key": f.key, "label": f.label})()
    for f in DEFAULT_FACTORS
)


def rescore(table: pd.DataFrame, weights: Mapping[str, float], config: ScoringConfig) -> pd.DataFrame:
    """Score customers again from their factor scores (columns named by factor key) under new weights.

    A weight of 0 leaves the factor out. Raises ValueError when every weight is 0.
    """
    used = [f for f in KNOWN_SCORES if weights.get(f.key, 0) > 0]
    if not used:
        raise ValueError("give at least one factor a weight above 0")
    # the config needs a positive weight for every factor; those left out are not used, so any value will do
    new_weights = {key: float(weights.get(key, 0)) or 1.0 for key in FACTOR_KEYS}
    return score_customers(table[list(FACTOR_KEYS)], dataclasses.replace(config, weights=new_weights), factors=used)


def name_order(names: pd.Series) -> np.ndarray:
    """Return the positions of the customers in the order of their names (case folded; ties as they come)."""
    return np.argsort(names.str.casefold().to_numpy(dtype=object), kind="stable")


def ranks(scores: pd.Series, names: pd.Series, by_name: np.ndarray | None = None) -> pd.Series:
    """Rank customers from most at risk (1 = lowest score; ties by name); no rank without a score.

    `by_name` is `name_order(names)` when it is known already: a score table's names do not change with the
    weights, so that re-ranking under new weights sorts only the scores."""
    positions = name_order(names) if by_name is None else by_name
    values = scores.to_numpy(dtype=float, na_value=np.nan)[positions]
    scored = ~np.isnan(values)
    order = positions[scored][np.argsort(values[scored], kind="stable")]  # by score, then by name (a stable sort)
    ranked = np.zeros(len(scores), dtype=np.int64)
    ranked[order] = np.arange(1, len(order) + 1)
    return pd.Series(ranked, index=scores.index, dtype="Int64").mask(ranked == 0)


class WhatIfRanking(ipw.HTML):  # type: ignore[misc]
    """The customers most at risk under `weights`, with their score and rank now and under the new weights."""

    table = Instance(pd.DataFrame, allow_none=True, help="the score table: name, score, tier and factor scores")
    weights = Dict(help="factor key -> weight (0 leaves a factor out)")

    def __init__(
        self, config: ScoringConfig | None = None, links: PageLinks | None = None, top: int = TOP, **kwargs: Any
    ) -> None:
        self.config = config or ScoringConfig()
        self.links = links or PageLinks.from_environment()
        self.top = top
        self._ranked: tuple[pd.DataFrame, np.ndarray, pd.Series] | None = None  # a table, its name order, its ranks
        super().__init__(**kwargs)
        self.add_class("hd-html")
        self.observe(self._render, names=["table", "weights"])
        self._render()

    def _render(self, change: Any = None) -> None:
        table = self.table
        if table is None or table.empty:
            self.value = ""
            return
        weights = self.weights or dict(self.config.weights)
        try:
            new = rescore(table, weights, self.config)
        except ValueError as exc:
            self.value = f'<section class="hd-card"><p class="hd-notice">{text(exc)}</p></section>'
            return
        if self._ranked is None or self._ranked[0] is not table:  # once per table, not for every move of a slider
            trusted_now = table["score"].where(table["tier"] != "insufficient_data")
            by_name = name_order(table["name"])
            self._ranked = (table, by_name, ranks(trusted_now, table["name"], by_name))
        _, by_name, rank_now = self._ranked
        trusted_new = new["score"].where(new["tier"] != "insufficient_data")
        rank_new = ranks(trusted_new, table["name"], by_name)
        shown = rank_new.dropna().sort_values().head(self.top).index
        rows = []
        for customer_id in shown:
            after = int(rank_new[customer_id])
            moved = movement(rank_now.get(customer_id), after)
            href = text(self.links.customer(int(customer_id)))
            now = score_html(_number(table.at[customer_id, "score"]), table.at[customer_id, "tier"])
            then = score_html(_number(new.at[customer_id, "score"]), new.at[customer_id, "tier"])
            rows.append(
                '<tr class="hd-row">'
                f'<td class="hd-num"><span>{after}</span></td>'
                f'<td><a class="hd-name" href="{href}">{text(table.at[customer_id, "name"])}</a></td>'
                f'<td class="hd-num"><span>{now}</span></td>'
                f'<td class="hd-num"><span>{then}</span></td>'
                f"<td><span>{tier_badge(new.at[customer_id, 'tier'])}</span></td>"
                f'<td class="hd-num"><span>{moved}</span></td>'
                "</tr>"
            )
        counts_now = table["tier"].value_counts()
        counts_new = new["tier"].value_counts()
        tiers = " \u00b7 ".join(
            f"{tier_label(t)} {int(counts_new.get(t, 0))} ({int(counts_new.get(t, 0)) - int(counts_now.get(t, 0)):+d})"
            for t in TIERS
        )
        self.value = (
            f'<section class="hd-card"><h2>Most at risk with these weights</h2>'
            f'<div class="hd-small hd-muted" style="margin-bottom:8px">Tiers: {text(tiers)} (change from now)</div>'
            '<div class="hd-table-wrap"><table class="hd-table"><thead><tr><th class="hd-num">Rank</th>'
            '<th>Customer</th><th class="hd-num">Score now</th><th class="hd-num">What if</th><th>Tier</th>'
            f'<th class="hd-num">Moved</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div></section>'
        )


def movement(before: Any, after: int) -> str:
    """Show how many places a customer moved towards the top (more at risk) or away from it."""
    if before is None or pd.isna(before):
        return '<span class="hd-muted">new</span>'
    places = int(before) - after
    if places > 0:
        return f'<span class="hd-down" title="more at risk">\u25b2 {places}</span>'
    if places < 0:
        return f'<span class="hd-up" title="less at risk">\u25bc {-places}</span>'
    return '<span class="hd-muted">\u2013</span>'


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
