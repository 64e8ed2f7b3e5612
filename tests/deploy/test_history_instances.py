"""Three server processes on one database keep one score history: each closed day written once, by one of them,
and a back-dated event restated within seconds whichever instance took it."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.score_history.keeper import closed_until
from tests.conftest import TEST_TOKEN
from tests.servers import start_server

pytestmark = pytest.mark.slow
DAYS = 20
WRITTEN = re.compile(r"score history: wrote (\d+) closed days? \(")
RESTATED_WITHIN = 5.0  # seconds


def test_three_instances_write_each_day_once_and_restate_a_back_dated_event(fresh_db_url: str, tmp_path: Path) -> None:
    db = create_engine(fresh_db_url, poolclass=NullPool)
    env = {"HEALTHDASH_HISTORY_DAYS": str(DAYS)}
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(start_server(fresh_db_url, tmp_path / name, TEST_TOKEN, env)) for name in "abc"]
        deadline = time.monotonic() + 60
        while True:
            with db.connect() as conn:
                written = conn.execute(text("SELECT count(*) FROM score_history_days")).scalar_one()
            if written == DAYS:
                break
            assert time.monotonic() < deadline, servers[0].log.read_text()[-2000:]
            time.sleep(0.1)

        with db.connect() as conn:
            twice = conn.execute(
                text(
                    "SELECT count(*) FROM (SELECT 1 FROM score_history GROUP BY customer_id, day HAVING count(*) > 1) d"
                )
            ).scalar_one()
            missing = conn.execute(
                text(
                    "SELECT count(*) FROM score_history_days d JOIN customers c "
                    "ON (c.created_at AT TIME ZONE 'UTC')::date <= d.day "
                    "LEFT JOIN score_history h ON h.customer_id = c.id AND h.day = d.day WHERE h.day IS NULL"
                )
            ).scalar_one()
        assert (twice, missing) == (0, 0)
        deadline = time.monotonic() + 10  # each instance says what it wrote once it finds the period complete
        while True:
            said = [[int(n) for n in WRITTEN.findall(s.log.read_text())] for s in servers]
            if sum(n for counts in said for n in counts) >= DAYS or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert sum(n for counts in said for n in counts) == DAYS, said  # no day written twice, by one or by two
        assert all(len(counts) <= 1 for counts in said), "one line per instance for the whole run of days"

        # a login ten days ago, through the second instance: the customer's history changes from that day on
        day = closed_until() - dt.timedelta(days=10)
        silent = 9  # a sample customer gone quiet more than 30 days ago
        before = _history(db, silent)
        status, _, body = servers[1].post_event(silent, {"type": "login", "occurred_at": f"{day}T12:00:00Z"})
        assert status == 201, body
        started = time.monotonic()
        while _history(db, silent) == before:
            assert time.monotonic() - started < RESTATED_WITHIN, "the back-dated login was not restated in time"
            time.sleep(0.05)
        after = _history(db, silent)
        changed = sorted(d for d in after if after[d] != before[d])
        assert changed and changed[0] == day
    db.dispose()


def _history(db: Engine, customer_id: int) -> dict[dt.date, tuple[object, ...]]:
    with db.connect() as conn:
        rows = conn.execute(
            text("SELECT day, login_frequency, score FROM score_history WHERE customer_id = :c"), {"c": customer_id}
        )
        return {r[0]: tuple(r[1:]) for r in rows}
