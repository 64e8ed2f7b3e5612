"""The data generator: the sample data's stories at any size, valid and deterministic, nothing in the future, a
rollup equal to a recompute, and the database's triggers as they were."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from healthdash.clock import utc_now
from healthdash.db import synthetic
from healthdash.db.database import create_database
from healthdash.db.generator import GeneratorError, generate, progress_bar, schema_sql
from healthdash.scoring import ScoringConfig
from healthdash.service import HealthService
from tests.conftest import drop_database, rollup_differences
from tests.test_cli import run_cli

CUSTOMERS, DAYS = 50, 40


@pytest.fixture(scope="module")
def generated_url(admin_url: str) -> Iterator[str]:
    """An empty database filled by the generator."""
    name = f"hd_gen_{uuid.uuid4().hex[:8]}"
    create_database(admin_url, name)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    generate(url, CUSTOMERS, DAYS, seed=3, progress=io.StringIO())
    yield url
    drop_database(admin_url, name)


def scalar(url: str, sql: str) -> object:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def test_every_story_is_told_and_scored_as_it_should(generated_url: str) -> None:
    plan = synthetic.Plan(CUSTOMERS, DAYS, seed=3)
    story = dict(zip(plan.customers.id.tolist(), plan.customers.story.tolist(), strict=True))
    assert set(story.values()) == set(range(len(synthetic.STORIES)))
    table = HealthService(create_engine(generated_url, poolclass=NullPool), ScoringConfig()).score_frame(utc_now())
    tiers = {s: table.loc[[c for c, k in story.items() if k == s], "tier"].tolist() for s in set(story.values())}
    assert set(tiers[synthetic.ONBOARDING]) == {"insufficient_data"}
    assert "healthy" in tiers[synthetic.THRIVING]
    assert "healthy" not in tiers[synthetic.SILENT]
    silent = [c for c, k in story.items() if k == synthetic.SILENT]
    assert (table.loc[silent, "login_frequency"] == 0).all(), "silent customers have not logged in for 30 days"


def test_the_data_is_valid_and_nothing_lies_in_the_future(generated_url: str) -> None:
    now = utc_now()
    assert scalar(generated_url, "SELECT count(*) FROM customers") == CUSTOMERS
    assert scalar(generated_url, "SELECT count(*) FROM events") > CUSTOMERS * DAYS
    for column, table in (
        ("occurred_at", "events"),
        ("recorded_at", "events"),
        ("opened_at", "tickets"),
        ("closed_at", "tickets"),
        ("created_at", "customers"),
    ):
        latest = scalar(generated_url, f"SELECT max({column}) FROM {table}")
        assert isinstance(latest, dt.datetime) and latest < now, (table, column)
    for column in ("issued_at", "paid_at"):
        latest = scalar(generated_url, f"SELECT max({column}) FROM invoices")
        assert isinstance(latest, dt.date) and latest < now.date()
    # every ticket and invoice event names a stored record of the same customer
    orphans = """
        SELECT count(*) FROM events e
         WHERE (e.type LIKE 'ticket%' AND NOT EXISTS (SELECT 1 FROM tickets t
                    WHERE t.id = (e.data ->> 'ticket_id')::bigint AND t.customer_id = e.customer_id))
            OR (e.type LIKE 'invoice%' AND NOT EXISTS (SELECT 1 FROM invoices i
                    WHERE i.id = (e.data ->> 'invoice_id')::bigint AND i.customer_id = e.customer_id))
    """
    assert scalar(generated_url, orphans) == 0
    assert scalar(generated_url, "SELECT count(*) FROM events WHERE occurred_at < now() - interval '41 days'") == 0


def test_the_rollup_equals_a_recompute_and_the_triggers_are_back(generated_url: str) -> None:
    engine = create_engine(generated_url, poolclass=NullPool)
    try:
        assert rollup_differences(engine) == 0
        with engine.connect() as conn:
            triggers = (
                "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal"
            )
            states = dict(conn.execute(text(triggers)).all())
            named = conn.execute(text("SELECT conname FROM pg_constraint WHERE conrelid = 'events'::regclass"))
            constraints = {row[0] for row in named}
            nextval = conn.execute(text("SELECT nextval(pg_get_serial_sequence('events', 'id'))")).scalar_one()
            highest = conn.execute(text("SELECT max(id) FROM events")).scalar_one()
    finally:
        engine.dispose()
    assert states == {
        "events_rollup": "O",
        "events_notify": "O",
        "events_history_stale": "O",
        "events_customer_check": "O",
        "events_customer_check_update": "O",
    }
    assert "events_pkey" in constraints
    assert nextval == highest + 1


def test_the_plan_is_deterministic_for_a_seed() -> None:
    today = dt.date(2026, 3, 1)
    first, second = synthetic.Plan(30, 20, 9, today), synthetic.Plan(30, 20, 9, today)
    other = synthetic.Plan(30, 20, 10, today)
    assert first.customers.name.tolist() == second.customers.name.tolist()
    days_first, days_second = list(first.event_days()), list(second.event_days())
    assert all(np.array_equal(a.occurred_at, b.occurred_at) for a, b in zip(days_first, days_second, strict=True))
    assert not np.array_equal(first.customers.seats, other.customers.seats)
    assert (
        max(int(d.occurred_at.max()) for d in days_first if len(d.occurred_at))
        < synthetic.DAY_SECONDS * (today - dt.date(1970, 1, 1)).days
    )


def test_names_stay_unique_beyond_the_word_combinations() -> None:
    names = synthetic._names(150_000, np.random.default_rng(1))
    assert len(set(names.tolist())) == 150_000


def test_a_database_with_data_is_replaced_only_when_asked(generated_url: str) -> None:
    with pytest.raises(GeneratorError, match="pass --replace"):
        generate(generated_url, 10, 5, progress=io.StringIO())
    with pytest.raises(ValueError, match="at least one customer"):
        synthetic.Plan(0, 5)


def test_the_command_line_generates_into_the_configured_database(fresh_db_url: str) -> None:
    result = run_cli("generate", "--customers", "12", "--days", "15", "--replace", database_url=fresh_db_url)
    assert result.returncode == 0, result.stderr
    assert "12 customers" in result.stderr and "elapsed" in result.stderr
    assert scalar(fresh_db_url, "SELECT count(*) FROM customers") == 12
    refused = run_cli("generate", "--customers", "12", "--days", "15", database_url=fresh_db_url)
    assert refused.returncode == 1 and "--replace" in refused.stderr
    assert run_cli("generate", "--customers", "0", database_url=fresh_db_url).returncode == 2


def test_the_schema_part_of_init_sql_ends_before_the_sample_data(tmp_path: object) -> None:
    script = schema_sql()
    assert "CREATE TABLE events" in script and "INSERT INTO customers" not in script
    assert script.rstrip().endswith("COMMIT;")


def test_progress_shows_the_share_done_and_the_time_left() -> None:
    stream = io.StringIO()  # not a terminal: whole lines, as in a log
    bar = progress_bar(4, "load", stream)
    assert stream.getvalue().startswith("load   0%") and "? left" in stream.getvalue()
    half_in_ten_seconds = bar.format_meter(**{**bar.format_dict, "n": 2, "elapsed": 10.0})
    assert " 50%" in half_in_ten_seconds and "00:10 elapsed, 00:10 left" in half_in_ten_seconds
    bar.set_postfix_str("all", refresh=False)
    bar.update(4)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and "100%" in lines[-1] and lines[-1].endswith("left, all")


def test_customers_have_contracts_and_churn_follows_the_stories(generated_url: str) -> None:
    plan = synthetic.Plan(CUSTOMERS, DAYS, seed=3)
    churned = set((plan.customers.id[plan.outcomes.churned]).tolist())
    engine = create_engine(generated_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            statuses = dict(conn.execute(text("SELECT id, status FROM customers")).all())
            events = dict(conn.execute(text(
                "SELECT customer_id, (occurred_at AT TIME ZONE 'UTC')::date FROM events WHERE type = 'churned'"
            )).all())  # fmt: skip
            unpriced = conn.execute(text("SELECT count(*) FROM customers WHERE arr <= 0 OR renewal_date IS NULL"))
            assert unpriced.scalar_one() == 0
            renewals = conn.execute(text("SELECT count(*) FROM customers WHERE renewal_date <= current_date"))
            assert renewals.scalar_one() == 0  # the next anniversary, after today
    finally:
        engine.dispose()
    assert {c for c, s in statuses.items() if s == "churned"} == set(events) == churned
    assert 0.1 <= synthetic.Plan(5000, DAYS, seed=3).outcomes.churned.mean() <= 0.2  # about 10-20 % at any size
    assert all(day < utc_now().date() for day in events.values())
    stories = plan.customers.story[plan.outcomes.churned]
    assert not set(stories.tolist()) & {synthetic.SUPPORT_HEAVY, synthetic.ONBOARDING}
