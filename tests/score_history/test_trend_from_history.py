"""Every customer's trend reads the score a window earlier from the score history when that day is written under the
scoring configuration in use, and is the same as scoring that day again; otherwise it is scored again."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import Engine, text

from healthdash.clock import utc_now
from healthdash.score_history.recorder import HistoryRecorder
from healthdash.score_table import ScoreTable
from healthdash.scoring import ScoringConfig
from healthdash.service import HealthService

CHANGED = 12  # a sample customer old enough to have a score a window ago


def trends(table: ScoreTable) -> dict[int, tuple[float, float]]:
    """Each customer's previous score and trend (NaN as None)."""

    def plain(value: float) -> float | None:
        return None if np.isnan(value) else float(value)

    columns = table.columns
    return {int(i): (plain(columns["previous_score"][n]), plain(columns["trend"][n])) for n, i in enumerate(table.ids)}


def all_scored_again(service: HealthService, moment: dt.datetime) -> ScoreTable:
    """Every customer's scores by the path that always scores the earlier window again (asked for by id)."""
    with service.engine.connect() as conn:
        ids = [int(i) for i in conn.execute(text("SELECT id FROM customers")).scalars()]
    return service.scores(moment, ids)


def set_kept_score(engine: Engine, day: dt.date, score: float) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE score_history SET score = :score WHERE customer_id = :id AND day = :day"),
            {"score": score, "id": CHANGED, "day": day},
        )


def test_the_trend_read_from_the_history_is_the_trend_scored_again(
    engine: Engine, recorder: HistoryRecorder, today: dt.date
) -> None:
    recorder.write_missing(today)
    service = HealthService(engine, ScoringConfig())
    moment = utc_now()
    kept = service.scores(moment)
    again = all_scored_again(service, moment)
    assert list(kept.ids) == list(again.ids)
    assert trends(kept) == trends(again)
    assert sum(t[1] is not None for t in trends(kept).values()) > 50  # customers old enough have a trend
    for column in ("score", "tier", "coverage"):
        assert list(kept.columns[column]) == list(again.columns[column])


def test_the_history_is_read_only_for_its_configuration_and_while_nothing_waits_to_be_restated(
    engine: Engine, recorder: HistoryRecorder, today: dt.date
) -> None:
    recorder.write_missing(today)
    config = ScoringConfig()
    earlier = today - dt.timedelta(days=config.window_days)
    moment = utc_now()
    scored_again = trends(all_scored_again(HealthService(engine, config), moment))[CHANGED]
    odd = 3.3 if scored_again[0] != 3.3 else 4.4  # a kept score no scoring gave: shows where the trend came from
    set_kept_score(engine, earlier, odd)

    read = trends(HealthService(engine, config).scores(moment))[CHANGED]
    assert read[0] == odd
    # other weights: the history was not written under them, the earlier window is scored again
    weights = dict(config.weights)
    weights["api_usage"], weights["login_frequency"] = weights["login_frequency"], weights["api_usage"]
    other = ScoringConfig.from_mapping({**config.as_mapping(), "weights": weights})
    assert other.fingerprint() != config.fingerprint()
    assert trends(HealthService(engine, other).scores(moment))[CHANGED][0] != odd
    # an event recorded for the earlier day waits to be restated: scored again until it is
    HealthService(engine, config).record_event(
        CHANGED, "login", dt.datetime.combine(earlier, dt.time(9), tzinfo=dt.UTC), {}
    )
    assert (
        trends(HealthService(engine, config).scores(moment))[CHANGED]
        == trends(all_scored_again(HealthService(engine, config), moment))[CHANGED]
    )
    recorder.restate(today)
    assert trends(HealthService(engine, config).scores(moment))[CHANGED][0] != odd  # restated from the events
