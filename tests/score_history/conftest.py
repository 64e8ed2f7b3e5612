"""Fixtures for the score history: a recorder over a private copy of the sample data, and the truth it must keep."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.clock import resolve_as_of
from healthdash.score_history.keeper import closed_until
from healthdash.score_history.recorder import HistoryRecorder
from healthdash.scoring import FACTOR_KEYS, ScoringConfig
from healthdash.service import HealthService

DAYS = 40  # kept short: every day is one query over all 64 sample customers


@pytest.fixture
def engine(fresh_db_url: str) -> Iterator[Engine]:
    db = create_engine(fresh_db_url, poolclass=NullPool)
    yield db
    db.dispose()


@pytest.fixture
def recorder(engine: Engine) -> HistoryRecorder:
    return HistoryRecorder(engine, ScoringConfig(), DAYS)


@pytest.fixture
def today() -> dt.date:
    return closed_until()


def history_rows(engine: Engine, where: str = "TRUE", params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Return stored history rows (ordered by customer and day) as plain mappings."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT * FROM score_history WHERE {where} ORDER BY customer_id, day"), params or {}
        ).mappings()
        return [dict(r) for r in rows]


def config_of(engine: Engine, config_id: int) -> ScoringConfig:
    with engine.connect() as conn:
        settings = conn.execute(text("SELECT settings FROM scoring_configs WHERE id = :id"), {"id": config_id})
        return ScoringConfig.from_mapping(settings.scalar_one())


def mismatches(engine: Engine, rows: list[dict[str, Any]]) -> list[str]:
    """Compare history rows with the scores `as_of` = the end of their day gives under their day's configuration."""
    wrong = []
    by_day: dict[tuple[dt.date, int], list[dict[str, Any]]] = {}
    for row in rows:
        by_day.setdefault((row["day"], row["config_id"]), []).append(row)
    for (day, config_id), group in by_day.items():
        service = HealthService(engine, config_of(engine, config_id))
        truth = service.scores(resolve_as_of(day), [r["customer_id"] for r in group])
        for row, position in zip(group, truth.positions([r["customer_id"] for r in group]), strict=True):
            if position < 0:
                wrong.append(f"{row['customer_id']} on {day}: stored, but did not exist")
                continue
            expected = truth.record(int(position))
            for column in ("score", "coverage", *FACTOR_KEYS):
                stored, real = row[column], expected[column]
                if (stored is None) != bool(np.isnan(real)) or (stored is not None and abs(stored - real) > 1e-4):
                    wrong.append(f"{row['customer_id']} on {day}: {column} {stored} but {real}")
            if row["tier"] != expected["tier"]:
                wrong.append(f"{row['customer_id']} on {day}: tier {row['tier']} but {expected['tier']}")
    return wrong


def customers_on(engine: Engine, day: dt.date) -> int:
    """Count the customers that existed at the end of a day."""
    with engine.connect() as conn:
        query = "SELECT count(*) FROM customers WHERE (created_at AT TIME ZONE 'UTC')::date <= :day"
        return int(conn.execute(text(query), {"day": day}).scalar_one())
