"""Doing the work of concurrent callers together: one caller at a time leads, taking everything queued so far.

Each caller hands in its item and waits for its own result. Whoever finds no work in progress leads: it runs the
queue as one group and hands every caller its result; items that arrived meanwhile form the next group, led by the
first of their callers. A group costs about as much as one item, so under load each item costs a fraction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Ticket(Generic[T]):
    item: T
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    finished: bool = False
    result: Any = None
    error: BaseException | None = None


class CommitGroup(Generic[T, R]):
    """Run items of concurrent callers in groups with `run(items) -> results` (one result or exception per item)."""

    def __init__(self, run: Callable[[Sequence[T]], Sequence[R | BaseException]], largest: int = 64) -> None:
        self._run = run
        self._largest = largest
        self._lock = threading.Lock()
        self._queue: list[_Ticket[T]] = []
        self._leading = False

    def submit(self, item: T) -> R:
        """Return the result of one item, run in a group with whatever else is waiting."""
        ticket: _Ticket[T] = _Ticket(item)
        with self._lock:
            self._queue.append(ticket)
            if not self._leading:
                self._leading = ticket.lead = True
        while True:
            with self._lock:
                finished, lead = ticket.finished, ticket.lead
                ticket.lead = False
            if finished:
                break
            if lead:
                self._lead()
                continue
            ticket.wake.wait()
            ticket.wake.clear()
        if ticket.error is not None:
            raise ticket.error
        result: R = ticket.result
        return result

    def _lead(self) -> None:
        with self._lock:
            group, self._queue = self._queue[: self._largest], self._queue[self._largest :]
        try:
            results = self._run([t.item for t in group])
            for ticket, result in zip(group, results, strict=True):
                if isinstance(result, BaseException):
                    ticket.error = result
                else:
                    ticket.result = result
        except BaseException as exc:
            for ticket in group:
                ticket.error = exc
        with self._lock:
            for ticket in group:
                ticket.finished = True
            woken = list(group)
            if self._queue:  # the first caller still waiting leads next
                self._queue[0].lead = True
                woken.append(self._queue[0])
            else:
                self._leading = False
        for ticket in woken:
            ticket.wake.set()
