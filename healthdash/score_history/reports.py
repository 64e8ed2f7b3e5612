"""Reading the score history for one customer: its days, the configuration changes among them, and what changed
between two days (each factor's part of the movement)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine

from healthdash.db import history as db
from healthdash.db.signals import window_signals
from healthdash.db.writes import customer_exists
from healthdash.scoring import FACTOR_KEYS, ScoringConfig
from healthdash.scoring.config import differences
from healthdash.scoring.movement import ScoreChange, score_change

WINDOWS = ("window_days", "invoice_window_days", "invoice_grace_days")  # the settings the signal query reads


class HistoryReports:
    """One customer's score history and its changes, read for the API."""

    def __init__(self, engine: Engine, config: ScoringConfig, reader: Engine | None = None) -> None:
        self.engine = engine
        self.reader = reader  # autocommit connections for the reads, if any (see HealthService)
        self.config = config
        self._configs: dict[int, ScoringConfig] = {}

    def history(self, customer_id: int, first: dt.date, last: dt.date) -> dict[str, Any] | None:
        """Return the customer's written days from `first` to `last` and the configuration changes among them."""
        with self._reading() as conn:
            if not customer_exists(conn, customer_id):
                return None
            rows = db.customer_days(conn, customer_id, first, last)
            written = db.written_days(conn, first - dt.timedelta(days=1), last)
            configs = self._load(conn, set(written.values()))
        days = [
            {
                "day": row["day"],
                "score": _round(row["score"], 1),
                "tier": row["tier"],
                "coverage": _round(row["coverage"], 4),
                "factors": {key: _round(row[key], 1) for key in FACTOR_KEYS},
            }
            for row in rows
        ]
        changes = []
        previous: int | None = None
        for day, config_id in sorted(written.items()):
            if previous is not None and config_id != previous:
                found = differences(configs[previous], configs[config_id])
                changes.append(
                    {"day": day, "changes": [{"setting": n, "from": a, "to": b} for n, a, b in found]},
                )
            previous = config_id
        return {"customer_id": customer_id, "from": first, "to": last, "days": days, "configuration_changes": changes}

    def changes(self, customer_id: int, first: dt.date, last: dt.date) -> dict[str, Any] | None:
        """Return the customer's score at the end of `first` and of `last`, each under its day's configuration, and
        each factor's part in the movement."""
        with self._reading() as conn:
            if not customer_exists(conn, customer_id):
                return None
            change = self._changes(conn, [customer_id], first, last)[customer_id]
        return {
            "customer_id": customer_id,
            "from": first,
            "to": last,
            "score_then": change.score_then,
            "score_now": change.score_now,
            "tier_then": change.tier_then,
            "tier_now": change.tier_now,
            "movement": change.movement,
            "lines": [vars(line) for line in change.lines],
        }

    def changes_of(self, customer_ids: Sequence[int] | None, first: dt.date, last: dt.date) -> dict[int, ScoreChange]:
        """Return what changed between the ends of `first` and `last` for each of the customers (None: every one that
        existed at the end of `last`), with two signal queries for all of them."""
        with self._reading() as conn:
            return self._changes(conn, customer_ids, first, last)

    def _changes(
        self, conn: Connection, customer_ids: Sequence[int] | None, first: dt.date, last: dt.date
    ) -> dict[int, ScoreChange]:
        written = db.written_days(conn, first, last)
        configs = self._load(conn, set(written.values()))
        config_then = configs.get(written.get(first, -1), self.config)
        config_now = configs.get(written.get(last, -1), self.config)
        then = _signals(conn, first, config_then, customer_ids)
        now = _signals(conn, last, config_now, customer_ids)
        same_windows = all(getattr(config_then, w) == getattr(config_now, w) for w in WINDOWS)
        rescored = then if same_windows else _signals(conn, first, config_now, customer_ids)
        ids = sorted(now) if customer_ids is None else sorted(set(customer_ids))
        return {
            customer_id: score_change(
                then.get(customer_id),
                now.get(customer_id),
                config_then,
                config_now,
                then_rescored=rescored.get(customer_id),
            )
            for customer_id in ids
        }

    def _reading(self) -> Connection:
        if self.reader is not None:
            return self.reader.connect()
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _load(self, conn: Connection, config_ids: set[int]) -> dict[int, ScoringConfig]:
        unknown = [i for i in config_ids if i not in self._configs]
        if unknown:
            for config_id, settings in db.config_settings(conn, unknown).items():
                self._configs[config_id] = ScoringConfig.from_mapping(settings)
        return {i: self._configs[i] for i in config_ids}


def _signals(
    conn: Connection, day: dt.date, config: ScoringConfig, customer_ids: Sequence[int] | None
) -> dict[int, dict[str, Any]]:
    """Return the customers' signals as of the end of a day, by id (absent: it did not exist yet)."""
    signals = window_signals(conn, day, config, customer_ids)
    names = list(signals.current)
    columns = [signals.current[name].tolist() for name in names]
    return {
        int(customer_id): dict(zip(names, values, strict=True))
        for customer_id, *values in zip(signals.ids.tolist(), *columns, strict=True)
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)
