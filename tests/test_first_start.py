"""A server over a database whose people tables were taken away says what to do, instead of a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import TEST_TOKEN
from tests.servers import start_server


def test_a_database_without_the_people_tables_stops_the_start_with_a_clear_message(
    fresh_db_url: str, tmp_path: Path
) -> None:
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE audit_log, api_tokens, sessions, users"))
    finally:
        engine.dispose()
    with pytest.raises(RuntimeError, match="exited early") as caught, start_server(fresh_db_url, tmp_path, TEST_TOKEN):
        pass
    assert "the database has no table of people" in str(caught.value)
    assert "docs/users-and-access.md" in str(caught.value) and "Traceback" not in str(caught.value)
