"""The keeper writes each closed day once the day rolls over, and keeps at it when the database comes back."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.score_history.keeper import HistoryKeeper
from healthdash.score_history.recorder import HistoryRecorder
from healthdash.scoring import ScoringConfig


def written(engine: Engine) -> set[dt.date]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT day FROM score_history_days")).scalars())


def test_the_day_that_rolls_over_is_written_next(engine: Engine, today: dt.date) -> None:
    clock = [today - dt.timedelta(days=1)]
    told: list[set[dt.date]] = []  # what was written each time the server was told the history changed
    recorder = HistoryRecorder(engine, ScoringConfig(), 3)
    keeper = HistoryKeeper(recorder, today=lambda: clock[0], written=lambda: told.append(written(engine)))

    while keeper.tick():  # one day per tick
        pass
    assert written(engine) == {today - dt.timedelta(days=n) for n in (2, 3, 4)}
    assert told == [written(engine)]  # once, when the run of days was complete
    assert not keeper.tick()  # nothing left: no more work until the day changes
    assert len(told) == 1  # a tick that changes nothing says nothing

    clock[0] = today
    assert keeper.tick()
    assert today - dt.timedelta(days=1) in written(engine)
    keeper.tick()
    assert len(told) == 2 and today - dt.timedelta(days=1) in told[-1]  # the rolled-over day told too


def test_a_day_that_goes_missing_is_written_again_at_the_next_tick(engine: Engine, today: dt.date) -> None:
    keeper = HistoryKeeper(HistoryRecorder(engine, ScoringConfig(), 3), today=lambda: today)
    while keeper.tick():
        pass
    lost = today - dt.timedelta(days=2)
    with engine.begin() as conn:  # e.g. a write that failed, or rows taken away by hand
        conn.execute(text("DELETE FROM score_history WHERE day = :d"), {"d": lost})
        conn.execute(text("DELETE FROM score_history_days WHERE day = :d"), {"d": lost})
    assert keeper.tick()
    assert lost in written(engine)


def test_the_log_says_a_run_of_days_in_two_lines_and_a_rollover_in_one(
    engine: Engine, today: dt.date, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = [today - dt.timedelta(days=1)]
    keeper = HistoryKeeper(HistoryRecorder(engine, ScoringConfig(), 6), today=lambda: clock[0])
    while keeper.tick():
        pass
    keeper.tick()
    first, last = today - dt.timedelta(days=7), today - dt.timedelta(days=2)
    announced, done = capsys.readouterr().out.splitlines()
    assert announced == "score history: writing 6 closed days in the background (pages and the API answer meanwhile)"
    assert re.fullmatch(rf"score history: wrote 6 closed days \({first} to {last}, 64 customers\) in \d+\.\d s", done)

    clock[0] = today
    while keeper.tick():
        pass
    keeper.tick()
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"score history: wrote 1 closed day ({today - dt.timedelta(days=1)}, 64 customers) in ")


def test_the_thread_backfills_and_stops(engine: Engine, today: dt.date) -> None:
    keeper = HistoryKeeper(HistoryRecorder(engine, ScoringConfig(), 5), interval=0.05)
    keeper.start()
    try:
        deadline = time.monotonic() + 30
        while len(written(engine)) < 5:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        keeper.stop()
    assert written(engine) == {today - dt.timedelta(days=n) for n in range(1, 6)}


def test_a_database_away_is_retried_not_fatal(unreachable_url: str, caplog: pytest.LogCaptureFixture) -> None:
    port = unreachable_url.rsplit(":", 1)[1]
    away = create_engine(f"postgresql+psycopg2://u@127.0.0.1:{port}/db", poolclass=NullPool)
    keeper = HistoryKeeper(HistoryRecorder(away, ScoringConfig(), 5), interval=0.01)
    keeper.start()
    time.sleep(0.5)  # room for several tries
    keeper.stop()
    assert not keeper._thread.is_alive()
    said = [record.getMessage() for record in caplog.records if record.getMessage().startswith("score history:")]
    assert len(said) == 1, said  # the same failure is logged once, not at every try
    assert "trying again" in said[0]
