"""`python -m healthdash import`: a CSV file of customers or activity events loaded all or nothing, a bad row named by
its line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.csv_import import BadRow
from healthdash.db.imports import import_csv
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
        ],
    )
    result = run_cli("import", str(path), database_url=fresh_db_url)
    assert result.returncode == 0, result.stderr
    assert "imported 3 events" in result.stdout
    assert count(fresh_db_url, "SELECT count(*) FROM events") == before + 3
    assert count(fresh_db_url, "SELECT count(*) FROM events WHERE data ->> 'user' = 'Ann \"the admin\", ops'") == 1
    assert count(fresh_db_url, "SELECT sum(api_calls) FROM customer_daily WHERE customer_id = 2") == calls + 250


@pytest.mark.parametrize(
    ("row", "line", "column"),
    [
        ("1,logout,2026-11-02T09:00:00Z,,,", 3, "type"),
        ("1,login,2026-11-02 09:00,,,", 3, "occurred_at"),
        ("1,api_call,2026-11-02T09:00:00Z,,,0", 3, "count"),
        ("1,feature_use,2026-11-02T09:00:00Z,,no_such_feature,", 3, "feature"),
        ("1,login,2026-11-02T09:00:00Z,,reports,", 3, "feature"),
        ("x1,login,2026-11-02T09:00:00Z,,,", 3, "customer_id"),
        ("999999,login,2026-11-02T09:00:00Z,,,", 3, "customer_id"),
    ],
)
def test_a_bad_event_row_is_named_and_nothing_is_stored(
    fresh_db_url: str, tmp_path: Path, row: str, line: int, column: str
) -> None:
    before = count(fresh_db_url, "SELECT count(*) FROM events")
    path = write(tmp_path, "events.csv", ["customer_id,type,occurred_at,user,feature,count",
                                          "1,login,2026-11-02T08:00:00Z,,,", row])  # fmt: skip
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    try:
        with pytest.raises(BadRow) as refused:
            import_csv(engine, path)
    finally:
        engine.dispose()
    assert (refused.value.line, refused.value.column) == (line, column)
    assert f"line {line}, column {column}" in str(refused.value)
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
