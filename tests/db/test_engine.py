"""The engines' settings reach PostgreSQL: the reads' prepared statements run with a generic plan from the first
execution on (not planned afresh for each of the first five on every connection)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Connection, text

from healthdash.db import reads
from healthdash.db.engine import make_engine

AS_OF = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def _first_plan(conn: Connection) -> str:
    """Read one customer's evidence (preparing the statement), then return the plan its next execution would use."""
    customer_id = conn.execute(text("SELECT min(id) FROM customers")).scalar_one()
    assert reads.customer_evidence_json(conn, customer_id, AS_OF, 14, (50, 0), 90) is not None
    values = (customer_id, AS_OF, AS_OF.date(), 14, 50, 0, 100, 90)
    rows = conn.exec_driver_sql("EXPLAIN EXECUTE hd_customer_evidence (%s, %s, %s, %s, %s, %s, %s, %s)", values)
    return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize("generic", [True, False])
def test_the_reads_plan_once_for_any_customer(fresh_db_url: str, generic: bool) -> None:
    engine = make_engine(fresh_db_url, pool_size=1, autocommit=True, generic_plans=generic)
    try:
        with engine.connect() as conn:
            mode = conn.execute(text("SHOW plan_cache_mode")).scalar_one()
            plan = _first_plan(conn)
            # the statement's parameters stay parameters in a generic plan; a custom plan has their values in it
            assert ("$1" in plan) is generic, plan
            assert mode == ("force_generic_plan" if generic else "auto")
    finally:
        engine.dispose()
