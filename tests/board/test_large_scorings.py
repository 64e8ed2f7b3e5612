"""Scorings of many customers (a full build, a large patch) take turns, so that their scratch memory never adds up;
a small patch (a write's customers) does not wait for them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from healthdash.board import signals as signals_module
from healthdash.board.signals import Signals
from healthdash.clock import utc_now
from healthdash.score_table import ScoreTable
from healthdash.service import HealthService

LARGE = 10  # customers: a patch of more is a large one here (the sample data has 64)


def test_scorings_of_many_customers_take_turns_and_a_small_patch_does_not_wait(
    service: HealthService, monkeypatch: pytest.MonkeyPatch
) -> None:
    signals = Signals(service.engine)
    config, now = service.config, utc_now()
    ids = signals.score_all(now, config, signals.generation).ids.tolist()
    monkeypatch.setattr(signals_module, "LARGE_PATCH", LARGE)
    guard = threading.Lock()
    scoring: list[int] = []  # the sizes of the scorings under way
    overlaps: list[list[int]] = []
    real = signals_module.scores_from

    def scores_from(*args: Any, **kwargs: Any) -> ScoreTable:
        size = len(args[0].ids)
        with guard:
            if any(other > LARGE for other in scoring) and size > LARGE:
                overlaps.append([*scoring, size])
            scoring.append(size)
        try:
            time.sleep(0.2)  # long enough for the others to read their data and arrive here
            return real(*args, **kwargs)
        finally:
            with guard:
                scoring.remove(size)

    monkeypatch.setattr(signals_module, "scores_from", scores_from)
    tables: dict[str, ScoreTable] = {}
    finished: dict[str, float] = {}

    def run(name: str, job: Callable[[], ScoreTable]) -> None:
        tables[name] = job()
        finished[name] = time.monotonic()

    generation = signals.generation
    jobs = {
        "build": lambda: signals.score_all(now, config, generation, reread=True),
        "large patch": lambda: signals.score_some(now, config, generation, ids[:40], None, ids[:40]),
        "another build": lambda: signals.score_all(now, config, generation),
        "small patch": lambda: signals.score_some(now, config, generation, ids[:3], None, ids[:3]),
    }
    threads = [threading.Thread(target=run, args=item) for item in jobs.items()]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert set(tables) == set(jobs)
    assert overlaps == []  # never two scorings of many customers at once
    assert len(tables["build"]) == len(tables["another build"]) == len(ids)
    assert tables["large patch"].ids.tolist() == ids[:40] and tables["small patch"].ids.tolist() == ids[:3]
    # three large scorings of 0.2 s each took turns; the small patch went alongside, done before they all were
    assert max(finished.values()) - began >= 0.6
    assert finished["small patch"] < max(finished[name] for name in jobs if name != "small patch")
