"""DataFrames of health scores for analysts: usable from any notebook given a DATABASE_URL."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from healthdash.clock import resolve_as_of
from healthdash.db.engine import make_engine
from healthdash.service import HealthService
from healthdash.settings import get_settings, normalise_database_url


def _service(database_url: str | None) -> HealthService:
    from healthdash.db.database import resolve_database_url

    settings = get_settings()
    url = (
        normalise_database_url(database_url)
        if database_url
        else resolve_database_url(settings.database_url, settings.data_dir)
    )
    return HealthService(make_engine(url, pool_size=1), settings.scoring)


def scores(as_of: str | dt.date | dt.datetime | None = None, database_url: str | None = None) -> pd.DataFrame:
    """Return every customer's score, tier, coverage, factor scores and trend, indexed by customer id."""
    moment = resolve_as_of(as_of)
    service = _service(database_url)
    try:
        table = service.score_frame(moment)
    finally:
        service.engine.dispose()
    table.attrs["as_of"] = moment
    return table


def customer_breakdown(
    customer_id: int, as_of: str | dt.date | dt.datetime | None = None, database_url: str | None = None
) -> pd.DataFrame:
    """Return one customer's factor breakdown (one row per factor) with `as_of`; KeyError for an unknown id."""
    moment = resolve_as_of(as_of)
    service = _service(database_url)
    try:
        health = service.customer_health(int(customer_id), moment)
    finally:
        service.engine.dispose()
    if health is None:
        raise KeyError(f"no customer with id {customer_id}")
    frame = pd.DataFrame(health["factors"]).set_index("key")
    frame.attrs.update(as_of=moment, score=health["score"], tier=health["tier"], customer=health["customer"])
    frame.insert(0, "as_of", moment)
    return frame
