"""`python -m healthdash history backfill`: killed at any point and started again, no gap and no duplicate."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, text

from tests.score_history.conftest import customers_on
from tests.servers import ROOT

BACKFILL = (sys.executable, "-m", "healthdash", "history", "backfill")


def rows_per_day(engine: Engine) -> dict[dt.date, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT day, count(*) FROM score_history GROUP BY day"))
        return {day: int(count) for day, count in rows}


def test_a_killed_backfill_resumes_without_gap_or_duplicate(
    engine: Engine, fresh_db_url: str, today: dt.date, tmp_path: Path
) -> None:
    env = {**os.environ, "DATABASE_URL": fresh_db_url, "HEALTHDASH_DATA_DIR": str(tmp_path)}
    first = subprocess.Popen([*BACKFILL, "--days", "60"], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(rows_per_day(engine)) < 3:
        assert first.poll() is None and time.monotonic() < deadline, "the backfill ended before it could be killed"
        time.sleep(0.01)
    first.kill()
    first.wait()
    killed_at = len(rows_per_day(engine))

    done = subprocess.run([*BACKFILL, "--days", "60"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)

    days = rows_per_day(engine)
    assert set(days) == {today - dt.timedelta(days=n) for n in range(1, 61)}
    assert all(count == customers_on(engine, day) for day, count in days.items())
    assert f"score history: {60 - killed_at} days written" in done.stdout
    assert "score history 100%" in done.stderr  # the progress bar, with the time left
    assert " left" in done.stderr


def test_a_backfill_over_a_full_history_writes_nothing(engine: Engine, fresh_db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": fresh_db_url, "HEALTHDASH_DATA_DIR": str(tmp_path)}
    subprocess.run([*BACKFILL, "--days", "5"], cwd=ROOT, env=env, capture_output=True, check=True)
    again = subprocess.run([*BACKFILL, "--days", "5"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    refused = subprocess.run([*BACKFILL, "--days", "0"], cwd=ROOT, env=env, capture_output=True, text=True)

    assert "score history: 0 days written" in again.stdout
    assert len(rows_per_day(engine)) == 5
    assert refused.returncode == 2 and "must be at least 1" in refused.stderr
