"""The analysts' page: every customer's scores as a DataFrame, and a what-if ranking under other weights."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import ipywidgets as ipw
import pandas as pd
from traitlets import dlink

from healthdash.client import ApiClient
from healthdash.scoring import FACTOR_KEYS, ScoringConfig
from healthdash.settings import SettingsError
from healthdash.widgets.links import PageLinks
from healthdash.widgets.page import Page, configured_scoring
from healthdash.widgets.weight_sliders import WeightSliders
from healthdash.widgets.what_if_ranking import WhatIfRanking

OVERVIEW_COLUMNS = ("name", "segment", "plan", "score", "tier", "trend", "main_reason", *FACTOR_KEYS)
ScoreLoader = Callable[[], pd.DataFrame]


def load_scores() -> pd.DataFrame:
    """Read every customer's scores once (healthdash.scores: one set-based query, its engine disposed after)."""
    from healthdash.analysis import scores

    return scores()


def prepare_database_access() -> None:
    """Import what reading the scores needs (SQLAlchemy and the driver: a second), before a preheated kernel waits.

    Only this page reads the database, so the other pages' kernels never import it.
    """
    import healthdash.analysis  # noqa: F401


class ExplorePage(Page):
    """The score table (`scores`) for analysis, and sliders that re-rank customers live under other weights."""

    def __init__(
        self,
        loader: ScoreLoader = load_scores,
        config: ScoringConfig | None = None,
        client: ApiClient | None = None,
        links: PageLinks | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__("explore", "Explore the scores", client, links, **kwargs)
        self.loader = loader
        if loader is load_scores:
            prepare_database_access()
        self.config = config or configured_scoring()
        self.scores = pd.DataFrame()
        self.sliders = WeightSliders(self.config.weights)
        self.ranking = WhatIfRanking(self.config, self.links)
        dlink((self.sliders, "weights"), (self.ranking, "weights"))
        grid = ipw.Box([self.sliders, self.ranking])
        grid.add_class("hd-grid")
        grid.add_class("hd-grid-aside")
        self.body.children = [grid]

    @property
    def overview(self) -> pd.DataFrame:
        """The scores' main columns, most at risk first."""
        if self.scores.empty:
            return self.scores
        return self.scores[list(OVERVIEW_COLUMNS)].sort_values(["score", "name"], na_position="last")

    def fetch(self) -> None:
        from sqlalchemy.exc import SQLAlchemyError  # imported here: the other pages do without SQLAlchemy

        try:
            table = self.loader()
        except (SQLAlchemyError, SettingsError, RuntimeError, OSError) as exc:
            self.show_notice(f"The scores cannot be read: {str(exc).splitlines()[0]}", "error")
            return
        self.scores = table
        self.ranking.table = table
        as_of = table.attrs.get("as_of")
        self.as_of = as_of if isinstance(as_of, dt.datetime) else None
