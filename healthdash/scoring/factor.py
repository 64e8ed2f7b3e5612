"""What every health factor is: a self-describing unit that normalises one signal to a 0-100 score."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from healthdash.scoring.config import ScoringConfig

Row = Mapping[str, Any]
Columns = Mapping[str, Any]  # signal name -> one value per customer: a DataFrame, or a mapping of arrays


def column(signals: Columns, name: str) -> np.ndarray:
    """Return one signal of every customer as an array of floats."""
    return np.asarray(signals[name], dtype=float)


class Factor(ABC):
    """One explainable ingredient of the health score.

    A factor reads the signal columns it names (from a per-customer DataFrame, or a mapping of arrays) and returns a
    score from 0 to 100 per customer, NaN where it does not apply. It also describes one customer's raw values and
    explains its score in a sentence. Weights come from the config, so a factor knows nothing of the others.
    """

    key: ClassVar[str]
    label: ClassVar[str]
    signals: ClassVar[tuple[str, ...]]
    needs_history: ClassVar[bool] = False
    measure: ClassVar[str | None] = None  # the one number behind the score, named for a sentence ("Active login days")

    def scores(self, signals: pd.DataFrame, config: ScoringConfig) -> pd.Series:
        """Score every customer from 0 to 100; NaN where the factor does not apply."""
        return pd.Series(self.values(signals, config), index=signals.index)

    def values(self, signals: Columns, config: ScoringConfig) -> np.ndarray:
        """Score every customer from 0 to 100 as an array; NaN where the factor does not apply."""
        # np.minimum/np.maximum: what np.clip does (NaN stays NaN), without its wrapper's cost on a customer or two
        normalised = np.asarray(self.normalise(signals, config), dtype=float)
        values: np.ndarray = np.minimum(np.maximum(normalised, 0.0), 100.0)
        if self.needs_history:
            values = np.where(column(signals, "age_days") >= config.min_history_days, values, np.nan)
        return values

    def explain(self, row: Row, config: ScoringConfig) -> str:
        """Say in one sentence why this customer gets this factor's score."""
        if self.needs_history and row["age_days"] < config.min_history_days:
            return (
                f"Customer for {_days(int(row['age_days']))}; this factor needs "
                f"{config.min_history_days} days of history."
            )
        return self.describe(row, config)

    def measured(self, row: Row, config: ScoringConfig) -> float | None:
        """Return the number `measure` names for one customer (None: the factor has no single number)."""
        return None

    @abstractmethod
    def normalise(self, signals: Columns, config: ScoringConfig) -> np.ndarray:
        """Turn the raw signal columns into a score per customer (NaN where not applicable)."""

    @abstractmethod
    def raw(self, row: Row, config: ScoringConfig) -> dict[str, Any]:
        """Return the raw values behind one customer's score."""

    @abstractmethod
    def describe(self, row: Row, config: ScoringConfig) -> str:
        """Explain one customer's score in plain language."""


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def plural(n: int | float, word: str) -> str:
    """Return '1 ticket' / '3 tickets'."""
    return f"{n:g} {word}" if n == 1 else f"{n:g} {word}s"
