"""Writing the score history: whole closed days, true to the scores as of their end, once, under their configuration."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import Engine, text

from healthdash.score_history.recorder import HistoryRecorder
from healthdash.scoring import ScoringConfig
from tests.score_history.conftest import DAYS, customers_on, history_rows, mismatches


def days_written(engine: Engine) -> dict[dt.date, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT day, count(*) FROM score_history GROUP BY day"))
        return {day: int(count) for day, count in rows}


def test_each_closed_day_holds_every_customer_that_existed_then(
    engine: Engine, recorder: HistoryRecorder, today: dt.date
) -> None:
    progress = recorder.write_missing(today)

    assert progress.complete and progress.written == DAYS
    written = days_written(engine)
    expected_days = {today - dt.timedelta(days=n) for n in range(1, DAYS + 1)}
    assert set(written) == expected_days  # yesterday back DAYS days, never today
    assert all(written[day] == customers_on(engine, day) for day in expected_days)
    assert customers_on(engine, today - dt.timedelta(days=DAYS)) < customers_on(engine, today - dt.timedelta(days=1))


def test_every_row_is_the_score_as_of_the_end_of_its_day(
    engine: Engine, recorder: HistoryRecorder, today: dt.date
) -> None:
    recorder.write_missing(today)
    rows = history_rows(engine)
    sample = random.Random(11).sample(rows, 300)

    assert mismatches(engine, sample) == []
    assert {r["tier"] for r in rows} == {"healthy", "at_risk", "critical", "insufficient_data"}


def test_writing_again_changes_nothing_and_a_lost_day_is_written_again(
    engine: Engine, recorder: HistoryRecorder, today: dt.date
) -> None:
    recorder.write_missing(today)
    before = history_rows(engine)

    assert recorder.write_missing(today).written == 0
    assert history_rows(engine) == before

    lost = today - dt.timedelta(days=7)
    with engine.begin() as conn:  # as if that day's transaction had never committed
        conn.execute(text("DELETE FROM score_history WHERE day = :d"), {"d": lost})
        conn.execute(text("DELETE FROM score_history_days WHERE day = :d"), {"d": lost})
    progress = recorder.write_missing(today)

    assert progress.written == 1
    assert history_rows(engine) == before


def test_a_day_another_writer_holds_is_left_to_it(engine: Engine, recorder: HistoryRecorder, today: dt.date) -> None:
    with engine.connect() as other, other.begin():
        other.execute(text("SELECT pg_advisory_xact_lock(72640332)"))
        progress = recorder.write_missing(today)
        assert (progress.written, progress.complete, progress.missing) == (0, False, DAYS)
        assert recorder.write_day(today - dt.timedelta(days=1)) is None
    assert recorder.write_missing(today).complete


def test_a_new_configuration_is_recorded_once_and_old_days_keep_theirs(engine: Engine, today: dt.date) -> None:
    first = HistoryRecorder(engine, ScoringConfig(), 10)
    first.write_missing(today - dt.timedelta(days=5))
    stricter = ScoringConfig(healthy_min=85.0, weights={"login_frequency": 60, **_other_weights()})
    second = HistoryRecorder(engine, stricter, 10)
    again = HistoryRecorder(engine, ScoringConfig.from_mapping({"healthy_min": 70}), 10)

    second.write_missing(today)

    assert again.record_config() == first.config_id != second.config_id
    with engine.connect() as conn:
        by_day = dict(conn.execute(text("SELECT day, config_id FROM score_history_days")).all())
        assert conn.execute(text("SELECT count(*) FROM scoring_configs")).scalar_one() == 2
    assert {by_day[today - dt.timedelta(days=n)] for n in range(1, 6)} == {second.config_id}
    assert {by_day[today - dt.timedelta(days=n)] for n in range(6, 11)} == {first.config_id}
    assert mismatches(engine, random.Random(5).sample(history_rows(engine), 200)) == []


def _other_weights() -> dict[str, float]:
    return {"feature_adoption": 10, "ticket_volume": 10, "invoice_timeliness": 10, "api_usage": 10}


def test_a_month_is_added_while_a_read_holds_the_history_and_neither_waits(
    engine: Engine, recorder: HistoryRecorder, today: dt.date
) -> None:
    recorder.write_missing(today, days=3)
    later = dt.date(today.year + 2, 1, 15)  # a month no day has reached yet
    with engine.connect() as reader, reader.begin():
        assert (
            reader.execute(text("SELECT count(*) FROM score_history")).scalar_one() > 0
        )  # holds its lock till the end
        with engine.connect() as writer, writer.begin():
            writer.execute(text("SET LOCAL lock_timeout = '2s'"))
            added = writer.execute(text("SELECT score_history_add_months(:d, :d)"), {"d": later}).scalar_one()
        assert added == 1
        assert reader.execute(text("SELECT count(*) FROM score_history WHERE day < :d"), {"d": later}).scalar_one() > 0
    with engine.connect() as conn:
        month = f"score_history_{later:%Y_%m}"
        assert conn.execute(text("SELECT to_regclass(:m) IS NOT NULL"), {"m": month}).scalar_one()


def test_each_day_lands_in_its_month_and_the_next_month_is_there_before_its_first_day(
    engine: Engine, recorder: HistoryRecorder, today: dt.date
) -> None:
    recorder.write_missing(today)
    with engine.connect() as conn:
        placed = conn.execute(
            text("SELECT DISTINCT tableoid::regclass::text, to_char(day, 'YYYY_MM') FROM score_history")
        ).all()
        months = set(
            conn.execute(text("SELECT relid::text FROM pg_partition_tree('score_history') WHERE isleaf")).scalars()
        )
    assert placed and all(table == f"score_history_{month}" for table, month in placed)
    yesterday = today - dt.timedelta(days=1)
    following = (yesterday.replace(day=1) + dt.timedelta(days=31)).replace(day=1)
    assert f"score_history_{following:%Y_%m}" in months  # added with yesterday's month: ready for its first day
