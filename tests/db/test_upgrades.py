"""A database loaded by an older db/init.sql is brought up to date at start: the same schema as a new one."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.db.database import INIT_SQL, UPGRADES, DatabaseSetupError, create_database, upgrade_schema
from healthdash.score_history import HistoryRecorder
from healthdash.scoring import ScoringConfig
from tests.conftest import _url_for, drop_database, sample_copy

# What a database loaded before each upgrade lacked: taking these away turns a new database into an old one.
BEFORE = {
    "0001_score_history": """
        DROP TRIGGER events_history_stale ON events;
        DROP FUNCTION score_history_mark_stale();
        DROP TABLE score_history_stale, score_history, score_history_days, scoring_configs;
    """,
    "0002_people": """
        ALTER TABLE events DROP COLUMN recorded_by;
        DROP TABLE audit_log, api_tokens, sessions, users;
    """,
    "0003_outcomes": """
        DROP TRIGGER customers_notify_insert ON customers;
        DROP TRIGGER customers_notify_update ON customers;
        DROP FUNCTION customers_notify();
        DELETE FROM events WHERE type IN ('churned', 'renewed', 'arr_changed');
        ALTER TABLE events DROP CONSTRAINT events_churn_reason_check, DROP CONSTRAINT events_type_check;
        ALTER TABLE events ADD CONSTRAINT events_type_check CHECK (type IN ('login', 'feature_use', 'api_call',
            'ticket_opened', 'ticket_closed', 'invoice_issued', 'invoice_paid'));
        ALTER TABLE customers DROP COLUMN external_id, DROP COLUMN arr, DROP COLUMN renewal_date, DROP COLUMN status;
    """,
    "0004_churn_index": "DROP INDEX events_churned_idx;",
    "0005_sign_in_throttle": "DROP INDEX audit_log_failed_sign_in_idx;",
    "0006_score_history_partitions": """
        DROP TABLE score_history;
        DROP FUNCTION score_history_add_months(date, date);
        CREATE TABLE score_history (
            customer_id        bigint   NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            day                date     NOT NULL,
            score              real     CHECK (score BETWEEN 0 AND 100),
            coverage           real     NOT NULL CHECK (coverage BETWEEN 0 AND 1),
            login_frequency    real,
            feature_adoption   real,
            ticket_volume      real,
            invoice_timeliness real,
            api_usage          real,
            config_id          smallint NOT NULL REFERENCES scoring_configs (id),
            tier               text NOT NULL CHECK (tier IN ('healthy', 'at_risk', 'critical', 'insufficient_data')),
            PRIMARY KEY (customer_id, day)
        );
        CREATE INDEX score_history_day_idx ON score_history USING brin (day);
    """,
    "0007_events_customer_check": """
        DROP TRIGGER events_customer_check ON events;
        DROP TRIGGER events_customer_check_update ON events;
        DROP TRIGGER customers_delete_events ON customers;
        DROP TRIGGER customers_truncate_events ON customers;
        DROP TRIGGER customers_keep_id ON customers;
        DROP FUNCTION events_check_customers(), customers_delete_events(), customers_truncate_events(),
            customers_keep_id();
        ALTER TABLE events ADD CONSTRAINT events_customer_id_fkey FOREIGN KEY (customer_id)
            REFERENCES customers (id) ON DELETE CASCADE;
    """,
}
SCHEMA = (
    "SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity "
    "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
    "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
    "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger "
    "WHERE NOT tgisinternal ORDER BY 1, 2",
    "SELECT proname, pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1",
)


def schema(url: str) -> list[list[tuple[object, ...]]]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [[tuple(row) for row in conn.execute(text(sql))] for sql in SCHEMA]
    finally:
        engine.dispose()


def run(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


@pytest.fixture
def copy_url(admin_url: str, template_db: str) -> Iterator[str]:
    with sample_copy(admin_url, template_db, "hd_upgrade") as url:
        yield url


def test_init_sql_lists_every_upgrade_it_holds() -> None:
    listed = re.findall(r"INSERT INTO schema_upgrades \(name\) VALUES (.*);", INIT_SQL.read_text(encoding="utf-8"))
    names = re.findall(r"'([^']+)'", " ".join(listed))
    assert names == sorted(p.stem for p in UPGRADES.glob("*.sql")) == sorted(BEFORE)


def test_a_new_database_has_nothing_to_upgrade(copy_url: str) -> None:
    before = schema(copy_url)
    assert upgrade_schema(copy_url) == []
    assert schema(copy_url) == before


def test_an_old_database_is_upgraded_to_the_schema_of_a_new_one(copy_url: str, sample_db_url: str) -> None:
    for name in sorted(BEFORE, reverse=True):
        run(copy_url, BEFORE[name])
    run(copy_url, "DROP TABLE schema_upgrades")  # older than the upgrades themselves

    assert upgrade_schema(copy_url) == sorted(BEFORE)
    new = schema(sample_db_url)
    assert schema(copy_url) == new
    assert upgrade_schema(copy_url) == [], "applied once"
    # and it works: the history of a day can be written, and a back-dated event marks its customer
    engine = create_engine(copy_url, poolclass=NullPool)
    try:
        assert HistoryRecorder(engine, ScoringConfig(), 3).write_missing(dt.date.today()).written
    finally:
        engine.dispose()
    run(
        copy_url,
        "INSERT INTO events (customer_id, type, occurred_at, data) "
        "VALUES (3, 'login', now() - interval '5 days', '{}')",
    )
    assert run(copy_url, "SELECT customer_id FROM score_history_stale") == [(3,)]


def test_the_history_of_an_old_database_moves_into_month_partitions(copy_url: str) -> None:
    """Written days survive the partitioning whole, each in its month's table, and the next days are written."""
    engine = create_engine(copy_url, poolclass=NullPool)
    today = dt.date.today()
    try:
        assert HistoryRecorder(engine, ScoringConfig(), 40).write_missing(today).written == 40
        before = run(copy_url, "SELECT * FROM score_history ORDER BY customer_id, day")
        old = BEFORE["0006_score_history_partitions"]
        run(
            copy_url,
            f"CREATE TEMP TABLE kept AS SELECT * FROM score_history; {old} INSERT INTO score_history TABLE kept",
        )
        run(copy_url, "DELETE FROM schema_upgrades WHERE name = '0006_score_history_partitions'")

        assert upgrade_schema(copy_url) == ["0006_score_history_partitions"]
        assert run(copy_url, "SELECT * FROM score_history ORDER BY customer_id, day") == before
        months = run(
            copy_url,
            "SELECT DISTINCT tableoid::regclass::text, to_char(day, 'YYYY_MM') FROM score_history ORDER BY 1",
        )
        assert [table for table, _ in months] == [f"score_history_{month}" for _, month in months]
        assert len(months) >= 2  # 40 days span two months at least
        assert HistoryRecorder(engine, ScoringConfig(), 42).write_missing(today).written == 2
    finally:
        engine.dispose()


def test_a_failing_upgrade_applies_nothing_and_says_which(copy_url: str, tmp_path: Path) -> None:
    (tmp_path / "0001_score_history.sql").write_text("SELECT 1;")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE half_done (id int); SELECT no_such_function();")
    with pytest.raises(DatabaseSetupError, match=r"db/upgrades/0002_broken\.sql: .*no_such_function"):
        upgrade_schema(copy_url, tmp_path)
    assert run(copy_url, "SELECT to_regclass('public.half_done') IS NULL") == [(True,)]
    assert run(copy_url, "SELECT count(*) FROM schema_upgrades WHERE name = '0002_broken'") == [(0,)]


def test_a_database_without_healthdash_is_left_alone(admin_url: str) -> None:
    name = f"hd_empty_{uuid.uuid4().hex[:8]}"
    create_database(admin_url, name)
    url = _url_for(admin_url, name)
    try:
        assert upgrade_schema(url) == []
        assert run(url, "SELECT to_regclass('public.schema_upgrades') IS NULL") == [(True,)]
    finally:
        drop_database(admin_url, name)
