"""The analysts' page: every customer's scores as a DataFrame, and a what-if ranking under other weights."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ipywidgets as ipw
import pandas as pd
from traitlets import dlink

from healthdash.client import ApiClient, ApiError
from healthdash.scoring import FACTOR_KEYS, ScoringConfig
from healthdash.widgets.links import PageLinks
from healthdash.widgets.page import Page
from healthdash.widgets.weight_sliders import WeightSliders
from healthdash.widgets.what_if_ranking import WhatIfRanking

OVERVIEW_COLUMNS = ("name", "segment", "plan", "score", "tier", "trend", "main_reason", *FACTOR_KEYS)


class ExplorePage(Page):
    """The score table (`scores`) for analysis, and sliders that re-rank customers live under other weights."""

    def __init__(
        self,
        client: ApiClient | None = None,
        links: PageLinks | None = None,
        config: ScoringConfig | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__("explore", "Explore the scores", client, links, **kwargs)
        self.config = config  # the weights the sliders start from: the server's unless given
        self.scores = pd.DataFrame()
        self.sliders = WeightSliders((config or ScoringConfig()).weights)
        self.ranking = WhatIfRanking(config, self.links)
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
        try:
            config = self.config or self.client.scoring_config()
            table = self.client.scores()
        except ApiError as exc:
            self.show_notice(unreadable(exc), "error")
            return
        if config is not self.ranking.config:
            self.ranking.config = config
            self.sliders.configure(config.weights)
        self.scores = table
        self.ranking.table = table
        as_of = table.attrs.get("as_of")
        self.as_of = as_of if isinstance(as_of, dt.datetime) else None


def unreadable(error: ApiError) -> str:
    """Say that the scores cannot be read, without the server's address or its internals."""
    if error.unavailable:
        return "The scores cannot be read right now. Try Refresh in a moment."
    return f"The scores cannot be read: the server refused the request ({error.status})."
