"""One analysis session over the session-wide copy of the sample data, as a notebook's kernel would hold it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.analysis import Session, connect


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
