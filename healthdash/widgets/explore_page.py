"""The analysts' page: every customer's scores as a DataFrame, and a what-if ranking under other weights."""

from __future__ import annotations

import datetime as dt
import math
import re
import urllib.parse
from typing import Any

import ipywidgets as ipw
import pandas as pd
from traitlets import dlink

from healthdash.client import ApiClient, ApiError
from healthdash.scoring import FACTOR_KEYS, ScoringConfig
from healthdash.widgets.links import WEIGHT_PARAMETER, PageLinks
from healthdash.widgets.page import Page
from healthdash.widgets.weight_sliders import WeightSliders
from healthdash.widgets.what_if_ranking import WhatIfRanking

OVERVIEW_COLUMNS = ("name", "segment", "plan", "score", "tier", "trend", "main_reason", *FACTOR_KEYS)
MAX_ADDRESS_WEIGHT = 100.0
WEIGHT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,6})?")


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
        self.requested: dict[str, float] = {}  # weights the page's address asks for (w_<factor key>=N)
        self.address_problem = ""  # why the address's weights were not used
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

    def show_query_string(self, query_string: str | None) -> None:
        """Start the sliders at the weights a page address names (`w_login_frequency=40&w_api_usage=0`, the others
        as configured), then load; weights that are not valid are named in a notice and the configured ones kept."""
        self.requested, self.address_problem = weights_in_query(query_string or "")
        self.load()

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
        if self.requested:
            wanted = {**config.weights, **self.requested}
            if any(wanted.values()):
                self.sliders.show(wanted)
            else:
                self.address_problem = "every weight would be 0: at least one factor must count"
            self.requested = {}
        if self.address_problem:
            self.show_notice(f"The weights in the address were not used: {self.address_problem}. The sliders show the "
                             "configured weights.")  # fmt: skip
            self.address_problem = ""
        self.scores = table
        self.ranking.table = table
        as_of = table.attrs.get("as_of")
        self.as_of = as_of if isinstance(as_of, dt.datetime) else None


def weights_in_query(query_string: str) -> tuple[dict[str, float], str]:
    """Read the weights a page address names (factor key -> weight); with a reason instead when any is not valid."""
    weights: dict[str, float] = {}
    for name, values in urllib.parse.parse_qs(query_string, keep_blank_values=True).items():
        if not name.startswith(WEIGHT_PARAMETER):
            continue
        key, given = name.removeprefix(WEIGHT_PARAMETER), values[-1].strip()
        if key not in FACTOR_KEYS:
            known = ", ".join(WEIGHT_PARAMETER + k for k in FACTOR_KEYS)
            return {}, f"{name[:40]!r} names no factor (the weights are {known})"
        value = float(given) if WEIGHT.fullmatch(given) else math.nan
        if not 0 <= value <= MAX_ADDRESS_WEIGHT:
            return {}, f"{given[:40]!r} is not a weight for {name}: weights are numbers from 0 to 100"
        weights[key] = value
    return weights, ""


def unreadable(error: ApiError) -> str:
    """Say that the scores cannot be read, without the server's address or its internals."""
    if error.unavailable:
        return "The scores cannot be read right now. Try Refresh in a moment."
    return f"The scores cannot be read: the server refused the request ({error.status})."
