"""Concurrent callers' work done in groups: each caller gets its own result or error, and groups form under load."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from healthdash.commit_group import CommitGroup


def test_concurrent_items_are_run_in_groups_and_each_caller_gets_its_own_result() -> None:
    sizes: list[int] = []

    def run(items: Sequence[int]) -> list[int | BaseException]:
        sizes.append(len(items))
        time.sleep(0.005)  # one commit for the whole group
        return [ValueError(i) if i % 13 == 0 else i * 2 for i in items]

    group: CommitGroup[int, int] = CommitGroup(run, largest=5)
    results: dict[int, object] = {}

    def caller(first: int) -> None:
        for i in range(first, first + 40):
            try:
                results[i] = group.submit(i)
            except ValueError as exc:
                results[i] = exc

    threads = [threading.Thread(target=caller, args=(k * 100,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 320
    for i, result in results.items():
        assert isinstance(result, ValueError) if i % 13 == 0 else result == i * 2
    assert max(sizes) == 5 and len(sizes) < 320, "items waiting together ran together"


def test_a_failing_group_fails_each_of_its_callers() -> None:
    def run(items: Sequence[str]) -> list[str | BaseException]:
        raise ConnectionError("the database went away")

    group: CommitGroup[str, str] = CommitGroup(run)
    with pytest.raises(ConnectionError):
        group.submit("a")
    assert group.submit.__doc__
