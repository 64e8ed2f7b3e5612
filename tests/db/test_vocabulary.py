"""db/init.sql checks the words and bounds of healthdash.vocabulary: read back from a loaded database, they agree."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from healthdash import vocabulary as v

QUOTED = re.compile(r"'((?:[^']|'')*)'")


@pytest.fixture(scope="module")
def conn(sample_db_url: str) -> Iterator[Connection]:
    engine = create_engine(sample_db_url, poolclass=NullPool)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


@pytest.fixture(scope="module")
def checks(conn: Connection) -> dict[str, str]:
    """Every CHECK constraint of the schema's tables, by name, as PostgreSQL prints it."""
    rows = conn.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'c' AND conrelid <> 0 AND connamespace = 'public'::regnamespace"
        )
    )
    return {name: definition for name, definition in rows}


def words(checks: dict[str, str], table: str, column: str) -> tuple[str, ...]:
    """Return the values a `column IN (...)` check of a table allows, in their order."""
    definition = checks[f"{table}_{column}_check"]
    assert f"({column} = ANY (ARRAY[" in definition, definition
    return tuple(value.replace("''", "'") for value in QUOTED.findall(definition))


def upper_bound(checks: dict[str, str], name: str, expression: str) -> int:
    """Return N of an `expression <= N` in a check."""
    found = re.findall(rf"{re.escape(expression)} <= \(?(\d+)\)?", checks[name])
    assert len(found) == 1, checks[name]
    return int(found[0])


@pytest.mark.parametrize(
    ("table", "column", "vocabulary"),
    [
        ("customers", "segment", v.SEGMENTS),
        ("customers", "plan", v.PLANS),
        ("customers", "region", v.REGIONS),
        ("customers", "status", v.STATUSES),
        ("events", "type", v.EVENT_TYPES),
        ("tickets", "priority", v.PRIORITIES),
        ("score_history", "tier", v.TIERS),
        ("tickets", "status", v.TICKET_STATUSES),
    ],
)
def test_the_words_the_database_allows_are_the_vocabulary_s(
    checks: dict[str, str], table: str, column: str, vocabulary: tuple[str, ...]
) -> None:
    assert words(checks, table, column) == vocabulary


def test_the_churn_reasons_the_database_allows_are_the_vocabulary_s(checks: dict[str, str]) -> None:
    definition = checks["events_churn_reason_check"]
    assert tuple(value for value in QUOTED.findall(definition) if value not in ("churned", "reason")) == v.CHURN_REASONS


def test_the_text_limits_are_the_vocabulary_s(checks: dict[str, str]) -> None:
    assert upper_bound(checks, "customers_name_check", "length(btrim(name))") == v.MAX_NAME_LENGTH
    assert upper_bound(checks, "tickets_subject_check", "length(subject)") == v.MAX_SUBJECT_LENGTH
    assert upper_bound(checks, "idempotency_keys_key_check", "length(key)") == v.MAX_IDEMPOTENCY_KEY_LENGTH
    (pattern,) = QUOTED.findall(checks["features_key_check"])
    assert pattern == v.FEATURE_KEY_PATTERN
    external_id = checks["customers_external_id_check"]
    assert upper_bound(checks, "customers_external_id_check", "length(external_id)") == v.MAX_EXTERNAL_ID_LENGTH
    assert QUOTED.findall(external_id) == [v.EXTERNAL_ID_PATTERN]
    assert upper_bound(checks, "customers_seats_check", "seats") == v.MAX_SEATS


def test_an_api_call_event_counts_up_to_the_vocabulary_s_maximum(checks: dict[str, str]) -> None:
    (api_call,) = [d for d in checks.values() if "'api_call'::text" in d and "count" in d]
    assert re.findall(r"<= \((\d+)\)::numeric", api_call) == [str(v.MAX_API_CALLS)]


def test_amounts_and_ids_fit_their_columns(conn: Connection) -> None:
    columns = conn.execute(
        text(
            "SELECT table_name, column_name, data_type, numeric_precision, numeric_scale "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "AND (column_name = 'id' OR column_name LIKE '%\\_id' OR column_name IN ('amount', 'arr'))"
        )
    ).all()
    # every id a client can send is a bigint; the scoring configurations' ids are the server's own (few, small)
    ids = [
        c
        for c in columns
        if c.column_name not in ("amount", "arr", "external_id") and "config" not in f"{c.table_name}.{c.column_name}"
    ]
    assert len(ids) >= 8 and {c.data_type for c in ids} == {"bigint"}
    assert v.MAX_ID == 2**63 - 1  # the largest bigint
    amounts = [c for c in columns if c.column_name in ("amount", "arr")]
    assert len(amounts) == 2  # an invoice's amount and a customer's annual recurring revenue
    for amount in amounts:
        whole, decimals = amount.numeric_precision - amount.numeric_scale, amount.numeric_scale
        largest = Decimal(10) ** whole - Decimal(10) ** -decimals
        assert largest == v.MAX_AMOUNT


def test_the_rollup_counts_the_activity_types(conn: Connection) -> None:
    for function in ("customer_daily_apply", "events_notify"):
        source = conn.execute(text("SELECT pg_get_functiondef(CAST(:f AS regproc))"), {"f": function}).scalar_one()
        lists = re.findall(r"type IN \(([^)]*)\)", source)
        assert lists, function
        assert all(frozenset(QUOTED.findall(found)) == v.ACTIVITY_TYPES for found in lists), function
