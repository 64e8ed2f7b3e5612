"""One analysis session over the session-wide copy of the sample data, as a notebook's kernel would hold it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.analysis import Session, connect
from healthdash.clock import utc_now
from healthdash.db.database import create_database
from healthdash.score_history import HistoryRecorder
from healthdash.scoring import ScoringConfig
from tests.conftest import _url_for, drop_database

HISTORY_WRITTEN = 140  # closed days of history written: the rough months of the stories, and months of churns


@pytest.fixture(scope="package")
def analysis(sample_db_url: str) -> Iterator[Session]:
    """A session over the sample data (read only)."""
    opened = connect(sample_db_url)
    yield opened
    opened.close()


def query(url: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    """Run a query of the test's own on a connection of its own (the oracle the frames are held to)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


@pytest.fixture(scope="package")
def history_url(admin_url: str, template_db: str) -> Iterator[str]:
    """A copy of the sample data whose last HISTORY_WRITTEN closed days are written, as a server would have (read
    only)."""
    name = f"hd_hist_{uuid.uuid4().hex[:8]}"
    create_database(admin_url, name, template=template_db)
    url = _url_for(admin_url, name)
    engine = create_engine(url, poolclass=NullPool)
    HistoryRecorder(engine, ScoringConfig(), HISTORY_WRITTEN).write_missing(utc_now().date(), wait=True)
    engine.dispose()
    yield url
    drop_database(admin_url, name)


@pytest.fixture(scope="package")
def history_session(history_url: str) -> Iterator[Session]:
    """A session over that copy."""
    opened = connect(history_url)
    yield opened
    opened.close()
