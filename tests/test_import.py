"""`python -m healthdash import`: a CSV file of customers or activity events loaded all or nothing, a bad row named by
its line and column."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from healthdash.clock import utc_now
from healthdash.csv_import import BadRow
from healthdash.db import imports
from healthdash.db.engine import make_engine
from healthdash.db.imports import import_csv
from healthdash.db.writes import record_event
from tests.conftest import sample_copy
from tests.test_cli import run_cli


def count(url: str, sql: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_events_are_loaded_and_reach_the_rollup(fresh_db_url: str, tmp_path: Path) -> None:
    before = count(fresh_db_url, "SELECT count(*) FROM events")
    calls = count(fresh_db_url, "SELECT coalesce(sum(api_calls), 0) FROM customer_daily WHERE customer_id = 2")
    path = write(
        tmp_path,
        "events.csv",
        [
            "customer_id,type,occurred_at,user,feature,count",
            '1,login,2026-11-02T09:00:00Z,"Ann ""the admin"", ops",,',
            "2,api_call,2026-11-02T10:00:00+01:00,,,250",
            "1,feature_use,2026-11-02T11:00:00Z,,reports,",
            "1,login,2026-11-02T12:00:00Z,DOMAIN\\ann,,",
        ],
    )
    result = run_cli("import", str(path), database_url=fresh_db_url)
    assert result.returncode == 0, result.stderr
    assert "imported 4 events" in result.stdout
    assert count(fresh_db_url, "SELECT count(*) FROM events") == before + 4
    assert count(fresh_db_url, "SELECT count(*) FROM events WHERE data ->> 'user' = 'Ann \"the admin\", ops'") == 1
    assert count(fresh_db_url, "SELECT count(*) FROM events WHERE data ->> 'user' = 'DOMAIN\\ann'") == 1
    assert count(fresh_db_url, "SELECT sum(api_calls) FROM customer_daily WHERE customer_id = 2") == calls + 250


def test_a_dry_run_checks_and_times_every_row_and_stores_none(fresh_db_url: str, tmp_path: Path) -> None:
    before = count(fresh_db_url, "SELECT count(*) FROM events")
    lines = ["customer_id,type,occurred_at,user,feature,count"]
    lines += [f"{1 + i % 3},api_call,2026-11-02T10:00:00Z,,,{i + 1}" for i in range(500)]
    path = write(tmp_path, "events.csv", lines)
    result = run_cli("import", str(path), "--dry-run", database_url=fresh_db_url)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        rf"checked 500 events from {re.escape(str(path))} in \d+\.\d s \([\d,]+ rows/s\); nothing was stored\n",
        result.stdout,
    )
    assert count(fresh_db_url, "SELECT count(*) FROM events") == before
    bad = write(tmp_path, "bad.csv", [*lines, "1,login,yesterday,,,"])
    refused = run_cli("import", str(bad), "--dry-run", database_url=fresh_db_url)
    assert refused.returncode == 1
    assert "line 502, column occurred_at" in refused.stderr


EVENT_HEADER = "customer_id,type,occurred_at,user,feature,count,reason,note,renewal_date,arr"
SOME_COLUMNS = "customer_id,type,occurred_at,count,reason,note,renewal_date,arr"  # a file needs only those it uses


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("1,logout,2026-11-02T09:00:00Z,,,,,,,", "type", "'logout' is not login, feature_use, api_call, churned"),
        ("1,login,2026-11-02 09:00,,,,,,,", "occurred_at", "a timestamp with its offset"),
        ("1,api_call,2026-11-02T09:00:00Z,,,0,,,,", "count", "1 to"),
        ("1,feature_use,2026-11-02T09:00:00Z,,no_such_feature,,,,,", "feature", "a key of the feature catalogue"),
        ("1,login,2026-11-02T09:00:00Z,,reports,,,,,", "feature", "only feature_use events have a feature"),
        ("x1,login,2026-11-02T09:00:00Z,,,,,,,", "customer_id", "an id"),
        ("999999,login,2026-11-02T09:00:00Z,,,,,,,", "customer_id", "there is no customer with id 999999"),
        ("1,churned,2026-11-02T09:00:00Z,,,,,,,", "reason", "a churned event needs a reason"),
        ("1,churned,2026-11-02T09:00:00Z,,,,bored,,,", "reason", "'bored' is not budget, product_fit"),
        ("1,renewed,2026-11-02T09:00:00Z,,,,,,,", "renewal_date", "a renewed event needs a renewal_date"),
        ("1,renewed,2026-11-02T09:00:00Z,,,,,,2027-02-30,", "renewal_date", "a date such as"),
        ("1,arr_changed,2026-11-02T09:00:00Z,,,,,,,-5", "arr", "an amount, not negative"),
        ("1,arr_changed,2026-11-02T09:00:00Z,,,,,,,", "arr", "an arr_changed event needs an arr"),
        ("1,login,2026-11-02T09:00:00Z,,,,budget,,,", "reason", "only churned events have a reason"),
        ("1,churned,2026-11-02T09:00:00Z,,,,budget,,,100", "arr", "only arr_changed and renewed events have an arr"),
        ("9999999999999999999,login,2026-11-02T09:00:00Z,,,,,,,", "customer_id", "an id up to"),
    ],
)
def test_a_bad_event_row_is_named_and_nothing_is_stored(
    fresh_db_url: str, tmp_path: Path, row: str, column: str, message: str
) -> None:
    before = count(fresh_db_url, "SELECT count(*) FROM events")
    path = write(tmp_path, "events.csv", [EVENT_HEADER, "1,login,2026-11-02T08:00:00Z,,,,,,,", row])
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    try:
        with pytest.raises(BadRow) as refused:
            import_csv(engine, path)
    finally:
        engine.dispose()
    assert (refused.value.line, refused.value.column) == (3, column)
    assert f"line 3, column {column}: " in str(refused.value) and message in str(refused.value)
    assert count(fresh_db_url, "SELECT count(*) FROM events") == before


def test_customers_are_loaded_with_their_defaults_and_a_taken_external_id_is_refused(
    fresh_db_url: str, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "customers.csv",
        [
            "name,segment,plan,seats,external_id,arr,renewal_date",
            " Northwind ,smb,growth,12,crm-1,1200.50,2027-01-31",
            "Contoso,enterprise,enterprise,900,,,",
        ],
    )
    result = run_cli("import", str(path), database_url=fresh_db_url)
    assert result.returncode == 0, result.stderr
    assert count(fresh_db_url, "SELECT count(*) FROM customers WHERE name = 'Northwind' AND arr = 1200.50 "
                               "AND renewal_date = '2027-01-31' AND region = 'emea'") == 1  # fmt: skip
    assert count(fresh_db_url, "SELECT count(*) FROM customers WHERE name = 'Contoso' AND arr = 0") == 1
    again = run_cli("import", str(path), database_url=fresh_db_url)
    assert again.returncode == 1
    assert "line 2, column external_id: another customer has external_id 'crm-1'; nothing was stored" in again.stderr
    assert count(fresh_db_url, "SELECT count(*) FROM customers WHERE name = 'Contoso'") == 1


@pytest.mark.parametrize(
    ("header", "row", "column"),
    [
        ("name,segment,plan,seats", "Acme,galactic,growth,3", "segment"),
        ("name,segment,plan,seats,arr", "Acme,smb,growth,3,-5", "arr"),
        ("name,segment,plan,seats", "Acme,smb,growth,0", "seats"),
        ("name,segment,plan,seats,colour", "Acme,smb,growth,3,red", "colour"),
        ("name,segment,seats", "Acme,smb,3", "plan"),
    ],
)
def test_a_bad_customer_file_is_refused(fresh_db_url: str, tmp_path: Path, header: str, row: str, column: str) -> None:
    before = count(fresh_db_url, "SELECT count(*) FROM customers")
    path = write(tmp_path, "customers.csv", [header, row])
    result = run_cli("import", str(path), database_url=fresh_db_url)
    assert result.returncode == 1 and f"column {column}:" in result.stderr
    assert count(fresh_db_url, "SELECT count(*) FROM customers") == before


def active_customers(url: str) -> list[int]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT id FROM customers WHERE status = 'active' ORDER BY id")).scalars())
    finally:
        engine.dispose()


def test_outcomes_are_loaded_with_the_activity_and_change_the_customers(fresh_db_url: str, tmp_path: Path) -> None:
    """A CRM's history of churns, renewals and ARR changes loads from the same file as activity; each changes its
    customer's record as the API would."""
    a, b, c = active_customers(fresh_db_url)[:3]
    path = write(
        tmp_path,
        "history.csv",
        [
            SOME_COLUMNS,
            f"{a},api_call,2026-06-01T09:00:00Z,40,,,,",
            f'{a},churned,2026-06-02T12:00:00Z,,budget,"cut, sadly",,',
            f"{b},arr_changed,2026-06-03T12:00:00Z,,,,,51000.50",
            f"{c},renewed,2026-06-04T12:00:00Z,,,,2027-06-30,",
            f"{c},renewed,2026-06-05T12:00:00Z,,,,2028-06-30,70000",
        ],
    )
    arr_before = count(fresh_db_url, f"SELECT (arr * 100)::bigint FROM customers WHERE id = {b}")
    result = run_cli("import", str(path), database_url=fresh_db_url)
    assert result.returncode == 0, result.stderr
    assert "imported 5 events" in result.stdout
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            customers = {
                r.id: r
                for r in conn.execute(text("SELECT id, status, arr, renewal_date::text AS renewal FROM customers"))
            }
            churn = conn.execute(
                text("SELECT data FROM events WHERE customer_id = :a AND type = 'churned' ORDER BY id DESC LIMIT 1"),
                {"a": a},
            ).scalar_one()
            change = conn.execute(
                text(
                    "SELECT data FROM events WHERE customer_id = :b AND type = 'arr_changed' ORDER BY id DESC LIMIT 1"
                ),
                {"b": b},
            ).scalar_one()
    finally:
        engine.dispose()
    assert customers[a].status == "churned"
    assert churn == {"reason": "budget", "note": "cut, sadly"}
    assert str(customers[b].arr) == "51000.50" and change["previous_arr"] == f"{arr_before / 100:.2f}"
    assert (
        customers[c].status == "active" and customers[c].renewal == "2028-06-30" and str(customers[c].arr) == "70000.00"
    )


def test_an_outcome_the_record_refuses_stores_nothing_of_the_file(fresh_db_url: str, tmp_path: Path) -> None:
    """A second churn of the same customer is refused as the API refuses it (409 there): the file's line is named
    and the first churn, and the activity before it, are not stored either."""
    a = active_customers(fresh_db_url)[0]
    path = write(
        tmp_path,
        "events.csv",
        [
            SOME_COLUMNS,
            f"{a},login,2026-11-02T08:00:00Z,,,,,",
            f"{a},churned,2026-11-02T09:00:00Z,,competitor,,,",
            f"{a},churned,2026-11-03T09:00:00Z,,budget,,,",
        ],
    )
    before = count(fresh_db_url, "SELECT count(*) FROM events")
    status = count(fresh_db_url, "SELECT count(*) FROM customers WHERE status = 'churned'")
    result = run_cli("import", str(path), database_url=fresh_db_url)
    assert result.returncode != 0
    assert f"line 4, column type: customer {a} has already churned" in result.stderr
    assert count(fresh_db_url, "SELECT count(*) FROM events") == before
    assert count(fresh_db_url, "SELECT count(*) FROM customers WHERE status = 'churned'") == status


def test_a_file_of_events_may_hold_every_activity_and_outcome_type() -> None:
    from healthdash.csv_import import EVENT_TYPES
    from healthdash.vocabulary import ACTIVITY_TYPES, OUTCOME_TYPES

    assert set(EVENT_TYPES) == ACTIVITY_TYPES | OUTCOME_TYPES


@pytest.fixture
def twin_db_url(admin_url: str, template_db: str) -> Iterator[str]:
    """A second private copy of the sample data, to record the same events another way."""
    with sample_copy(admin_url, template_db) as url:
        yield url


# What an import must leave exactly as the same events recorded one by one leave it (ids and recording times aside).
DERIVED = {
    "rollup": "SELECT customer_id, day, logins, api_calls, feature_uses, feature_mask FROM customer_daily",
    "stale": "SELECT customer_id, since FROM score_history_stale",
    "customers": "SELECT id, status, arr, renewal_date FROM customers",
    # a customer's events of one moment in the order of their ids, as the events page lists them: the file's order
    # among the activity and among the outcomes (an import records the outcomes first)
    "events": "SELECT customer_id, type, occurred_at, data, recorded_by FROM events "
    "ORDER BY customer_id, occurred_at, type IN ('login', 'api_call', 'feature_use'), id",
}


def derived_state(url: str) -> dict[str, list[tuple[str, ...]]]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {
                name: sorted(tuple(map(repr, row)) for row in conn.execute(text(sql)))
                if name != "events"
                else [tuple(map(repr, row)) for row in conn.execute(text(sql))]
                for name, sql in DERIVED.items()
            }
    finally:
        engine.dispose()


def test_an_import_leaves_the_rollup_and_every_derived_table_as_the_same_events_recorded_one_by_one(
    fresh_db_url: str, twin_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Activity staged in several chunks and loaded with one statement at the end, outcomes between them: the daily
    rollup, the score history's stale marks, the customers' records and the events equal those of a twin database
    where each event was recorded on its own, as the API records it."""
    monkeypatch.setattr(imports, "CHUNK_ROWS", 4)  # several chunks, so that staging across them is exercised
    a, b, c, d = active_customers(fresh_db_url)[:4]
    now = utc_now().replace(microsecond=0)
    today, closed = now - dt.timedelta(minutes=5), now - dt.timedelta(days=3, hours=2)
    rows: list[tuple[int, str, dt.datetime, dict[str, object]]] = [
        (a, "login", closed, {"user": 'Ann "the admin", ops'}),
        (a, "login", closed, {}),
        (a, "api_call", closed + dt.timedelta(hours=1), {"count": 250}),
        (b, "feature_use", closed, {"feature": "reports"}),
        (b, "feature_use", today, {"feature": "reports"}),
        (b, "api_call", today, {"count": 1}),
        (c, "login", today, {"user": "DOMAIN\\ann ünïcode"}),
        (c, "login", today, {"user": "a\ttab, a\nline and\r\\n as text"}),
        (a, "feature_use", closed - dt.timedelta(days=20), {"feature": "reports"}),
        (c, "arr_changed", closed, {"arr": Decimal("51000.50")}),
        (d, "api_call", closed - dt.timedelta(days=1), {"count": 1_000_000_000}),
        (d, "churned", today, {"reason": "budget", "note": "cut, sadly"}),
        (d, "login", today, {"user": "still, after churning"}),
        (c, "renewed", today, {"renewal_date": dt.date(2028, 6, 30)}),
        (a, "api_call", closed, {"count": 7}),
    ]
    lines = [EVENT_HEADER]
    for customer, kind, when, data in rows:
        arr, renewal = data.get("arr", ""), data.get("renewal_date", "")
        values = [customer, kind, when.isoformat(), data.get("user", ""), data.get("feature", ""),
                  data.get("count", ""), data.get("reason", ""), data.get("note", ""), renewal, arr]  # fmt: skip
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(values)
        lines.append(out.getvalue())
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    try:
        assert import_csv(engine, write(tmp_path, "events.csv", lines)).rows == len(rows)
    finally:
        engine.dispose()
    twin = create_engine(twin_db_url, poolclass=NullPool)
    try:
        for customer, kind, when, data in rows:
            with twin.begin() as conn:
                record_event(conn, customer, kind, when, data)
    finally:
        twin.dispose()
    imported, recorded = derived_state(fresh_db_url), derived_state(twin_db_url)
    assert imported["rollup"] == recorded["rollup"]
    assert imported["stale"] == recorded["stale"] and imported["stale"]  # the closed days are marked to restate
    assert imported["customers"] == recorded["customers"]
    assert imported["events"] == recorded["events"]


def test_the_load_of_the_activity_is_not_cut_by_the_statement_timeout_but_a_wait_for_a_lock_is(
    fresh_db_url: str, tmp_path: Path
) -> None:
    """The statement that moves a file's activity into the events grows with the file: the connection's statement
    timeout (meant for a statement stuck behind a lock) does not limit it, and a wait for a lock stays bounded by it."""
    a = active_customers(fresh_db_url)[0]
    path = write(tmp_path, "events.csv", [SOME_COLUMNS, f"{a},api_call,2026-11-02T09:00:00Z,5,,,,"])
    admin = create_engine(fresh_db_url, poolclass=NullPool)
    engine = make_engine(fresh_db_url, pool_size=1, statement_timeout=1.5)
    try:
        with admin.begin() as conn:  # what the load statement runs under, seen by a trigger of its own
            conn.execute(text("CREATE TABLE load_settings (statement_timeout text, lock_timeout text)"))
            conn.execute(
                text(
                    "CREATE FUNCTION note_load_settings() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "INSERT INTO load_settings VALUES (current_setting('statement_timeout'), "
                    "current_setting('lock_timeout')); RETURN NULL; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER note_load_settings AFTER INSERT ON events "
                    "FOR EACH STATEMENT EXECUTE FUNCTION note_load_settings()"
                )
            )
        import_csv(engine, path)
        with admin.connect() as conn:
            seen = conn.execute(text("SELECT statement_timeout, lock_timeout FROM load_settings")).all()
        assert [tuple(row) for row in seen] == [("0", "1500ms")]
        with admin.connect() as holder, holder.begin():  # another transaction holds the customer's day in the rollup
            holder.execute(
                text(f"SELECT 1 FROM customer_daily WHERE customer_id = {a} AND day = '2026-11-02' FOR UPDATE")
            )
            began = time.monotonic()
            with pytest.raises(OperationalError, match="lock timeout"):
                import_csv(engine, path)
            assert time.monotonic() - began < 30
    finally:
        engine.dispose()
        admin.dispose()
    assert count(fresh_db_url, "SELECT count(*) FROM load_settings") == 1


def test_the_first_bad_row_is_named_when_a_later_chunk_is_bad_too(
    fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are read and checked ahead while the one before is loaded: a row the database refuses (an unknown
    customer, an outcome the record refuses) is still named before a badly written row in a later chunk."""
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    a = active_customers(fresh_db_url)[0]
    later = [f"{a},login,2026-11-02T10:00:00Z,,,,,", "1,login,yesterday,,,,,"]  # the second chunk: line 5 is bad
    cases = [
        ([f"{a},login,2026-11-02T08:00:00Z,,,,,", "999999,login,2026-11-02T09:00:00Z,,,,,"], 3, "customer_id"),
        ([f"{a},churned,2026-11-02T08:00:00Z,,budget,,,", f"{a},churned,2026-11-02T09:00:00Z,,other,,,"], 3, "type"),
        ([f"{a},login,2026-11-02T08:00:00Z,,,,,", f"{a},login,2026-11-02T09:00:00Z,,,,,"], 5, "occurred_at"),
    ]
    before = count(fresh_db_url, "SELECT count(*) FROM events")
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    try:
        for first, line, column in cases:
            with pytest.raises(BadRow) as refused:
                import_csv(engine, write(tmp_path, "events.csv", [SOME_COLUMNS, *first, *later]))
            assert (refused.value.line, refused.value.column) == (line, column)
    finally:
        engine.dispose()
    assert count(fresh_db_url, "SELECT count(*) FROM events") == before
