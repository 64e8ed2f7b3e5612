"""The recent history in memory: before any day is written it is empty, not an error; after, it reads the rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from healthdash.score_history.digest import read_digest
from healthdash.score_history.recorder import HistoryRecorder
from healthdash.scoring import ScoringConfig
from healthdash.service import HealthService


def test_no_history_yet_means_no_movers_and_no_tier_counts(engine: Engine, today: dt.date) -> None:
    scores = HealthService(engine, ScoringConfig()).scores(dt.datetime.now(dt.UTC))
    digest = read_digest(engine, today)

    assert digest.tier_history() == []
    assert digest.movers(scores, ScoringConfig(), 7) == {"falls": [], "rises": []}
    assert not digest.tier_fell(scores, 30).any()


def test_the_tier_counts_are_those_of_the_rows(engine: Engine, recorder: HistoryRecorder, today: dt.date) -> None:
    recorder.write_missing(today, days=10)
    digest = read_digest(engine, today)
    counts = digest.tier_history()

    assert [c["day"] for c in counts] == [today - dt.timedelta(days=n) for n in range(10, 0, -1)]
    assert all(sum(c[t] for t in ("healthy", "at_risk", "critical", "insufficient_data")) >= 60 for c in counts)
