"""The daily rollup stays equal to a recompute from the raw events, whatever way events arrive."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.clock import utc_now
from healthdash.db.batches import Answer, NewEvent
from healthdash.scoring import ScoringConfig
from healthdash.service import HealthService

RECOMPUTE = """
    SELECT e.customer_id, (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
           count(*) FILTER (WHERE e.type = 'login') AS logins,
           coalesce(sum((e.data ->> 'count')::bigint) FILTER (WHERE e.type = 'api_call'), 0) AS api_calls,
           count(*) FILTER (WHERE e.type = 'feature_use') AS feature_uses,
           coalesce(bit_or((1::bigint) << f.bit) FILTER (WHERE e.type = 'feature_use'), 0) AS feature_mask
      FROM events e LEFT JOIN features f ON f.key = e.data ->> 'feature'
     WHERE e.type IN ('login', 'api_call', 'feature_use')
     GROUP BY 1, 2
"""
STORED = "SELECT customer_id, day, logins, api_calls, feature_uses, feature_mask FROM customer_daily"


def differences(engine: Engine) -> int:
    """Count the rollup rows that differ from a recompute over the raw events (both ways)."""
    with engine.connect() as conn:
        query = (
            f"SELECT count(*) FROM ((({RECOMPUTE}) EXCEPT ({STORED})) UNION ALL (({STORED}) EXCEPT ({RECOMPUTE}))) d"
        )
        return int(conn.execute(text(query)).scalar_one())


@pytest.fixture
def service(fresh_db_url: str) -> Iterator[HealthService]:
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    yield HealthService(engine, ScoringConfig())
    engine.dispose()


def test_single_events_keep_the_rollup_equal_to_a_recompute(service: HealthService) -> None:
    now = utc_now()
    service.record_event(3, "login", now, {"user": "ana"})
    service.record_event(3, "login", now - dt.timedelta(days=40), {})  # a day that may have no row yet
    service.record_event(4, "api_call", now - dt.timedelta(days=2), {"count": 17})
    service.record_event(4, "feature_use", now, {"feature": "audit_log"})
    service.record_event(5, "ticket_opened", now, {"priority": "low", "subject": "Question"})  # not rolled up
    assert differences(service.engine) == 0


def test_a_batch_keeps_the_rollup_equal_to_a_recompute(service: HealthService) -> None:
    now = utc_now()
    events = [
        NewEvent(1 + i % 7, kind, now - dt.timedelta(days=i % 50, hours=i % 5), data)
        for i, (kind, data) in enumerate(
            [("login", {})] * 30 + [("api_call", {"count": 9})] * 30 + [("feature_use", {"feature": "sso"})] * 30
        )
    ]
    answer, customers = service.record_batch(events, lambda ids: Answer(201, b"{}"))
    assert answer.status == 201 and customers == list(range(1, 8))
    assert differences(service.engine) == 0
