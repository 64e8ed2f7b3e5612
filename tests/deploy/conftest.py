"""Fixtures for the deployment tests: databases whose events notify other instances, and customers built to order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.db.listener import TRIGGER_INSTALLED

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def notify_db_url(fresh_db_url: str) -> str:
    """URL of a private copy of the sample data whose event inserts notify listeners."""
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql(TRIGGER_INSTALLED).scalar(), "db/init.sql lacks the notify trigger"
    finally:
        engine.dispose()
    return fresh_db_url


@pytest.fixture
def notify_db(notify_db_url: str) -> Iterator[Engine]:
    """An engine on `notify_db_url`."""
    engine = create_engine(notify_db_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def add_steady_customer(conn: Connection, name: str) -> int:
    """Add a customer that scores healthy with no tickets and drops to at risk with one urgent ticket.

    Logins on 4 of the last 30 days, every catalogue feature used, one invoice paid on time, no API use and no
    tickets: under the default model about 78 (healthy), and 66 (at risk) once an urgent ticket is opened.
    """
    assert conn.execute(text("SELECT count(*) FROM features")).scalar_one() > 0, "the sample data has no features"
    customer_id = int(
        conn.execute(
            text(
                "INSERT INTO customers (name, segment, plan, seats, created_at) "
                "VALUES (:name, 'mid_market', 'growth', 40, now() - interval '120 days') RETURNING id"
            ),
            {"name": name},
        ).scalar_one()
    )
    ids = {"id": customer_id}
    conn.execute(
        text(
            "INSERT INTO events (customer_id, type, occurred_at) "
            "SELECT :id, 'login', now() - make_interval(days => d) FROM generate_series(1, 4) AS d"
        ),
        ids,
    )
    conn.execute(
        text(
            "INSERT INTO events (customer_id, type, occurred_at, data) "
            "SELECT :id, 'feature_use', now() - interval '2 days', jsonb_build_object('feature', key) FROM features"
        ),
        ids,
    )
    conn.execute(
        text(
            "INSERT INTO invoices (customer_id, amount, issued_at, due_at, paid_at) "
            "VALUES (:id, 1200, current_date - 40, current_date - 10, current_date - 12)"
        ),
        ids,
    )
    return customer_id
