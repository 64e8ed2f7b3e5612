"""The command line: scores in three formats, the database URL and the dashboard summary."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.cli import main
from healthdash.scoring import FACTOR_KEYS, TIERS

ROOT = Path(__file__).parents[1]


def run_cli(*args: str, database_url: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, **(extra_env or {})}
    return subprocess.run(
        [sys.executable, "-m", "healthdash", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_scores_as_json(sample_db_url: str) -> None:
    result = run_cli("scores", "--format", "json", database_url=sample_db_url)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert len(records) >= 60
    first = records[0]
    assert set(first) == {"id", "name", "segment", "plan", "score", "tier", "coverage", "factors"}
    assert set(first["factors"]) == set(FACTOR_KEYS)
    assert {r["tier"] for r in records} <= set(TIERS)
    assert all(r["score"] is None or 0 <= r["score"] <= 100 for r in records)


def test_scores_as_csv_and_table_agree_with_json(sample_db_url: str) -> None:
    args = ("scores",)
    as_json = json.loads(run_cli(*args, "--format", "json", database_url=sample_db_url).stdout)
    rows = list(csv.DictReader(io.StringIO(run_cli(*args, "--format", "csv", database_url=sample_db_url).stdout)))
    assert [int(r["id"]) for r in rows] == [r["id"] for r in as_json]
    assert [r["name"] for r in rows] == [r["name"] for r in as_json]
    assert [r["tier"] for r in rows] == [r["tier"] for r in as_json]
    table = run_cli(*args, database_url=sample_db_url).stdout.splitlines()
    assert table[0].split()[:6] == ["id", "name", "segment", "plan", "score", "tier"]
    assert len(table) == len(as_json) + 1
    assert as_json[0]["name"] in table[1]


def test_scores_for_a_past_date(sample_db_url: str) -> None:
    today = json.loads(run_cli("scores", "--format", "json", database_url=sample_db_url).stdout)
    past = run_cli("scores", "--as-of", "2000-01-01", "--format", "json", database_url=sample_db_url)
    assert past.returncode == 0
    assert json.loads(past.stdout) == [] and today != []


def test_an_invalid_as_of_is_a_clear_error(sample_db_url: str) -> None:
    result = run_cli("scores", "--as-of", "yesterday", database_url=sample_db_url)
    assert result.returncode == 2
    assert "as_of 'yesterday' is not an ISO date" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_invalid_setting_is_a_clear_error(sample_db_url: str) -> None:
    result = run_cli("scores", database_url=sample_db_url, extra_env={"HEALTHDASH_WEIGHT_API_USAGE": "-2"})
    assert result.returncode == 2
    assert "weight of api_usage must be a positive number" in result.stderr


def test_db_url_prints_a_libpq_url_without_password(sample_db_url: str) -> None:
    result = run_cli("db-url", database_url=sample_db_url.replace("postgresql+psycopg2://", "postgresql://"))
    assert result.returncode == 0
    assert result.stdout.startswith("postgresql://")
    assert "+psycopg2" not in result.stdout


def test_summary_names_the_most_at_risk(sample_db_url: str) -> None:
    result = run_cli("summary", database_url=sample_db_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Customer health as of ")
    assert any(line.strip().startswith("customers") for line in lines)
    reasons = [line for line in lines if "main reason:" in line]
    assert len(reasons) == 5
    scores = [float(line.split()[0]) for line in reasons]
    assert scores == sorted(scores)


def test_main_reports_runtime_errors_without_traceback(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    os.environ["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    try:
        from healthdash.settings import get_settings

        get_settings.cache_clear()
        status = main(["scores"])
    finally:
        del os.environ["DATABASE_URL"]
        get_settings.cache_clear()
    assert status == 1
    assert "healthdash:" in capsys.readouterr().err


def scored_and_active(url: str, day: str) -> int:
    """Count the customers scored on a day of the history that had not churned by then."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM score_history h WHERE h.day = CAST(:d AS date) AND h.score IS NOT NULL "
                        "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.customer_id = h.customer_id "
                        "AND e.type = 'churned' AND (e.occurred_at AT TIME ZONE 'UTC')::date <= h.day)"
                    ),
                    {"d": day},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_backtest_as_json_and_as_a_table(fresh_db_url: str) -> None:
    assert run_cli("history", "backfill", "--days", "3", database_url=fresh_db_url).returncode == 0
    result = run_cli("backtest", "--horizon", "2", "--lead", "1", "--format", "json", database_url=fresh_db_url)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["horizon"], report["lead"]) == (2, 1)
    assert report["figures"]["observations"] == scored_and_active(fresh_db_url, report["to"])
    assert report["from"] == report["to"]  # the first day of history is the last one whose horizon has passed
    table = run_cli("backtest", "--horizon", "2", "--lead", "1", database_url=fresh_db_url)
    assert table.returncode == 0, table.stderr
    assert f"customer-days judged   {report['figures']['observations']:,}" in table.stdout
    assert "ROC AUC of the score" in table.stdout and "login_frequency" in table.stdout
    assert "weight now" in table.stdout


def test_backtest_refuses_a_lead_longer_than_the_horizon(sample_db_url: str) -> None:
    result = run_cli("backtest", "--horizon", "10", "--lead", "20", database_url=sample_db_url)
    assert result.returncode == 1 and "--lead must be from 0 to the horizon" in result.stderr
