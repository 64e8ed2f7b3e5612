"""The daily rollup stays equal to a recompute from the raw events, whatever way events arrive."""

from __future__ import annotations

import datetime as dt

from healthdash.clock import utc_now
from healthdash.recording import Answer, NewEvent
from healthdash.service import HealthService
from tests.conftest import rollup_differences


def test_single_events_keep_the_rollup_equal_to_a_recompute(service: HealthService) -> None:
    now = utc_now()
    service.record_event(3, "login", now, {"user": "ana"})
    service.record_event(3, "login", now - dt.timedelta(days=40), {})  # a day that may have no row yet
    service.record_event(4, "api_call", now - dt.timedelta(days=2), {"count": 17})
    service.record_event(4, "feature_use", now, {"feature": "audit_log"})
    service.record_event(5, "ticket_opened", now, {"priority": "low", "subject": "Question"})  # not rolled up
    assert rollup_differences(service.engine) == 0


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
    assert rollup_differences(service.engine) == 0
