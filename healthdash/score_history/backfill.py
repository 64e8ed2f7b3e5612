"""Filling the score history back a number of days, with a progress bar: what a server does on first start, as a
command. Idempotent and resumable: each day is written whole in one transaction, days written are skipped.
"""

from __future__ import annotations

import datetime as dt
from typing import TextIO

from sqlalchemy import Engine

from healthdash.db.generator import progress_bar
from healthdash.score_history.keeper import closed_until
from healthdash.score_history.recorder import HistoryRecorder
from healthdash.scoring import ScoringConfig


def backfill(
    engine: Engine, config: ScoringConfig, days: int, progress: TextIO | None = None, today: dt.date | None = None
) -> int:
    """Write the missing closed days of the last `days`, waiting for any instance writing one; return how many."""
    recorder = HistoryRecorder(engine, config, days)
    recorder.record_config()
    today = today or closed_until()
    missing = len(recorder.missing_days(today))
    with progress_bar(missing, "score history", progress) as bar:

        def told(day: dt.date, customers: int) -> None:
            bar.set_postfix_str(f"{day}: {customers:,} customers", refresh=False)
            bar.update(1)

        return recorder.write_missing(today, wait=True, told=told).written
