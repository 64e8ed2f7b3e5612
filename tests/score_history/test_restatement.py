"""The history stays true to the events: back-dated events and batches restate their customers' days from the
event's day on, under each day's configuration."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from healthdash.recording import Answer, NewEvent
from healthdash.score_history.recorder import HistoryRecorder
from healthdash.scoring import ScoringConfig
from healthdash.service import HealthService
from tests.score_history.conftest import history_rows, mismatches

CUSTOMERS = range(1, 61)  # the sample customers old enough to have a full history
FEATURES = ("dashboards", "reports", "alerts", "sso", "audit_log")


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def random_event(rng: random.Random, today: dt.date, days: int) -> tuple[int, str, dt.datetime, dict[str, Any]]:
    """A random back-dated event of any kind a single request or a batch may carry."""
    customer = rng.choice(CUSTOMERS)
    when = at(today - dt.timedelta(days=rng.randint(1, days)), rng.randint(0, 23))
    kind = rng.choice(("login", "login", "api_call", "feature_use", "ticket_opened", "invoice_issued"))
    data: dict[str, Any] = {}
    if kind == "api_call":
        data = {"count": rng.randint(1, 50_000)}
    elif kind == "feature_use":
        data = {"feature": rng.choice(FEATURES)}
    elif kind == "ticket_opened":
        data = {"priority": rng.choice(("low", "high", "urgent")), "subject": "Back-dated"}
    elif kind == "invoice_issued":
        data = {"amount": Decimal("120.00"), "due_at": when.date() - dt.timedelta(days=0)}
    return customer, kind, when, data


def stale(engine: Engine) -> dict[int, dt.date]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT customer_id, since FROM score_history_stale")).all())


def test_a_back_dated_login_restates_the_days_from_its_day_on(
    engine: Engine, recorder: HistoryRecorder, today: dt.date
) -> None:
    recorder.write_missing(today)
    silent = 9
    before = {r["day"]: r for r in history_rows(engine, "customer_id = 9")}
    day = today - dt.timedelta(days=12)

    HealthService(engine, ScoringConfig()).record_event(silent, "login", at(day), {})
    assert stale(engine) == {silent: day}
    written = recorder.restate(today)

    after = {r["day"]: r for r in history_rows(engine, "customer_id = 9")}
    assert written == 12  # its day and every closed day after it
    assert stale(engine) == {}
    assert all(after[d] == before[d] for d in before if d < day)
    assert after[day]["login_frequency"] > before[day]["login_frequency"]
    assert mismatches(engine, list(after.values())) == []


def test_an_event_of_today_marks_nothing(engine: Engine, recorder: HistoryRecorder, today: dt.date) -> None:
    recorder.write_missing(today)
    HealthService(engine, ScoringConfig()).record_event(9, "login", dt.datetime.now(dt.UTC), {})
    assert stale(engine) == {}
    assert recorder.restate(today) == 0


@pytest.mark.parametrize("seed", [1, 2])
def test_random_back_dated_events_and_batches_keep_every_row_true(
    engine: Engine, recorder: HistoryRecorder, today: dt.date, seed: int
) -> None:
    recorder.write_missing(today)
    rng = random.Random(seed)
    service = HealthService(engine, ScoringConfig())
    touched: set[int] = set()
    for _ in range(6):  # single events
        customer, kind, when, data = random_event(rng, today, 45)
        service.record_event(customer, kind, when, data)
        touched.add(customer)
    batch = [NewEvent(*random_event(rng, today, 45)) for _ in range(40)]
    service.record_batch(batch, lambda ids: Answer(201, b""))
    touched |= {e.customer_id for e in batch}
    earliest = min(stale(engine).values())

    recorder.restate(today)

    rows = history_rows(engine, "customer_id = ANY(:ids)", {"ids": sorted(touched)})
    assert mismatches(engine, rows) == []
    assert mismatches(engine, rng.sample(history_rows(engine), 150)) == []
    assert earliest <= today - dt.timedelta(days=30)
    assert stale(engine) == {}


def test_each_day_is_restated_under_its_own_configuration(engine: Engine, today: dt.date) -> None:
    old = HistoryRecorder(engine, ScoringConfig(), 20)
    old.write_missing(today - dt.timedelta(days=10))
    new_config = ScoringConfig(login_target_days=8.0, healthy_min=80.0)
    new = HistoryRecorder(engine, new_config, 20)
    new.write_missing(today)
    day = today - dt.timedelta(days=15)
    customers = [3, 13, 20]

    HealthService(engine, new_config).record_batch(
        [NewEvent(c, "login", at(day + dt.timedelta(days=n)), {}) for c in customers for n in range(8)],
        lambda ids: Answer(201, b""),
    )
    new.restate(today)

    rows = history_rows(engine, "customer_id = ANY(:ids) AND day >= :day", {"ids": customers, "day": day})
    assert {r["config_id"] for r in rows} == {old.record_config(), new.config_id}
    assert mismatches(engine, rows) == []
