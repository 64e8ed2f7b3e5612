"""Concurrent requests' work done in groups: each request gets its own result or error, and groups grow with load."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from healthdash.commit_group import CommitGroup


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def test_concurrent_items_are_run_in_groups_and_each_caller_gets_its_own_result(pool: ThreadPoolExecutor) -> None:
    sizes: list[int] = []
    threads: set[str] = set()

    def run(items: Sequence[int]) -> list[int | BaseException]:
        sizes.append(len(items))
        threads.add(threading.current_thread().name)
        time.sleep(0.005)  # one commit for the whole group
        return [ValueError(i) if i % 13 == 0 else i * 2 for i in items]

    async def main() -> dict[int, object]:
        group: CommitGroup[int, int] = CommitGroup(run, pool, largest=50)
        results: dict[int, object] = {}

        async def caller(first: int) -> None:
            for i in range(first, first + 20):
                try:
                    results[i] = await group.submit(i)
                except ValueError as exc:
                    results[i] = exc

        await asyncio.gather(*(caller(k * 100) for k in range(64)))
        return results

    results = asyncio.run(main())
    assert len(results) == 64 * 20
    for i, result in results.items():
        assert isinstance(result, ValueError) if i % 13 == 0 else result == i * 2
    assert max(sizes) == 50, "64 writers waiting together ran in groups of the largest size, not one by one"
    assert len(sizes) < 64 * 20 / 10
    assert threading.main_thread().name not in threads, "the groups ran in the pool, not on the event loop"


def test_a_failing_group_fails_each_of_its_callers_and_the_next_group_runs(pool: ThreadPoolExecutor) -> None:
    calls: list[Sequence[str]] = []
    started, go_on = threading.Event(), threading.Event()

    def run(items: Sequence[str]) -> list[str | BaseException]:
        calls.append(items)
        if len(calls) == 1:
            started.set()
            go_on.wait(5)
            raise ConnectionError("the database went away")
        return [item.upper() for item in items]

    async def main() -> None:
        group: CommitGroup[str, str] = CommitGroup(run, pool)
        first = asyncio.ensure_future(group.submit("a"))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)  # the first group is under way
        later = asyncio.gather(group.submit("b"), group.submit("c"))  # these two wait for the next
        await asyncio.sleep(0.01)
        go_on.set()
        with pytest.raises(ConnectionError):
            await first
        assert await later == ["B", "C"]
        assert calls == [["a"], ["b", "c"]]

    asyncio.run(main())


def test_a_group_that_answers_for_fewer_items_fails_them_all(pool: ThreadPoolExecutor) -> None:
    started, go_on = threading.Event(), threading.Event()

    def run(items: Sequence[int]) -> list[int | BaseException]:
        started.set()
        go_on.wait(5)
        return [1]

    async def main() -> None:
        group: CommitGroup[int, int] = CommitGroup(run, pool)
        blocker = asyncio.ensure_future(group.submit(0))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        waiting = asyncio.gather(group.submit(1), group.submit(2), return_exceptions=True)
        await asyncio.sleep(0.01)
        go_on.set()
        assert await blocker == 1
        results = await waiting
        assert all(isinstance(r, RuntimeError) and "2 items gave 1 results" in str(r) for r in results)

    asyncio.run(main())


def test_each_groups_outcome_is_told_on_the_event_loop_before_its_callers_get_it(pool: ThreadPoolExecutor) -> None:
    told: list[tuple[list[str], object, list[bool], str]] = []
    futures: dict[str, asyncio.Future[str]] = {}

    def run(items: Sequence[str]) -> list[str | BaseException]:
        if "bad" in items:
            raise ConnectionError("the database went away")
        return [item.upper() for item in items]

    def delivered(items: Sequence[str], outcome: object) -> None:
        done = [futures[item].done() for item in items]
        told.append((list(items), outcome, done, threading.current_thread().name))
        raise RuntimeError("a listener that fails does not keep the callers waiting")

    async def main() -> None:
        group: CommitGroup[str, str] = CommitGroup(run, pool, delivered=delivered)
        futures.update((item, group.submit(item)) for item in ("a", "b"))
        assert await asyncio.gather(futures["a"], futures["b"]) == ["A", "B"]
        futures["bad"] = group.submit("bad")
        with pytest.raises(ConnectionError):
            await futures["bad"]

    asyncio.run(main())
    assert [item for items, *_ in told for item in items] == ["a", "b", "bad"]
    for items, outcome, done, thread in told:
        assert thread == threading.main_thread().name and not any(done), "told first, on the event loop"
        if items == ["bad"]:
            assert isinstance(outcome, ConnectionError)
        else:
            assert outcome == [item.upper() for item in items]
