"""What the handlers share: a view of a snapshot is built once, in the thread pool, and again after a failure."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from healthdash.api.context import ApiContext
from healthdash.board import ScoreBoard, Snapshot
from healthdash.clock import utc_now
from healthdash.score_table import COLUMNS, ScoreTable
from healthdash.service import HealthService


def test_a_view_is_built_once_off_the_event_loop_and_again_after_a_failure(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    api = ApiContext(service, ScoreBoard(service, executor), executor, ())
    snapshot = Snapshot(ScoreTable(np.array([], dtype=np.int64), {c: np.array([]) for c in COLUMNS}), utc_now(), 0.0)
    threads: list[threading.Thread] = []

    def build(value: int) -> int:
        threads.append(threading.current_thread())
        if len(threads) == 1:
            raise RuntimeError("the first build fails")
        return 2 * value

    async def scenario() -> list[int]:
        with pytest.raises(RuntimeError, match="the first build fails"):
            await api.view(snapshot, "key", build, 21)
        return await asyncio.gather(*(api.view(snapshot, "key", build, 21) for _ in range(5)))

    assert asyncio.run(scenario()) == [42] * 5
    assert len(threads) == 2  # the failed build, then one build for five readers
    assert threading.main_thread() not in threads


def test_the_recent_history_is_read_once_kept_while_read_again_and_none_without_a_database(
    service: HealthService, executor: ThreadPoolExecutor, unreachable_url: str
) -> None:
    api = ApiContext(service, ScoreBoard(service, executor), executor, ())

    async def scenario() -> list[object]:
        first = await api.digest()
        again = await api.digest()
        assert first is not None
        old = api._digest = dataclasses.replace(first, built=first.built - 3600)  # an hour old
        stale = await api.digest()  # answered at once with the old one, read again meanwhile
        assert api._reading_digest is not None
        await api._reading_digest
        return [first, again, old, stale, await api.digest()]

    first, again, old, stale, fresh = asyncio.run(scenario())
    assert again is first and stale is old
    assert fresh is not old and fresh.built > old.built  # type: ignore[attr-defined]

    port = unreachable_url.rsplit(":", 1)[1]
    away = HealthService(
        create_engine(f"postgresql+psycopg2://u@127.0.0.1:{port}/db", poolclass=NullPool), service.config
    )
    lost = ApiContext(away, ScoreBoard(away, executor), executor, ())
    assert asyncio.run(lost.digest()) is None  # the dashboard goes without movers rather than failing
