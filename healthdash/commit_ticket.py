"""Whether a write may still commit, once its client may have been answered without it.

A database that hangs holds a write's thread, not its client: past the deadline the client is answered 503. The write
must then not be stored behind the client's back. The writing thread asks its tickets just before COMMIT; the request
gives its ticket up when its deadline passes. Whichever comes first decides: a ticket given up makes the write roll
back; a write already committing is past the point of no return, and a client that gives up then is told that its
outcome is unknown.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from enum import Enum

_LOCK = threading.Lock()  # one for all tickets: a group of writes claims its tickets at once


class Stage(Enum):
    OPEN = "open"  # the write runs, its client waits
    GIVEN_UP = "given up"  # the client was answered 503: the write must roll back
    COMMITTING = "committing"  # COMMIT was sent: the client learns the outcome, or that it is unknown
    COMMITTED = "committed"  # stored: the client is answered with it


class Abandoned(Exception):
    """The client of a write was answered before it could commit: the write was rolled back."""


class CommitTicket:
    """One client's say in whether its write commits."""

    def __init__(self) -> None:
        self.stage = Stage.OPEN

    def give_up(self) -> Stage:
        """Give the write up unless it is already committing; return the stage it is in now."""
        with _LOCK:
            if self.stage is Stage.OPEN:
                self.stage = Stage.GIVEN_UP
            return self.stage


def start_commit(tickets: Iterable[CommitTicket]) -> None:
    """Mark the tickets committing, just before COMMIT; raise Abandoned (to roll back) if any was given up."""
    tickets = list(tickets)
    with _LOCK:
        if any(t.stage is not Stage.OPEN for t in tickets):
            raise Abandoned
        for ticket in tickets:
            ticket.stage = Stage.COMMITTING


def committed(tickets: Iterable[CommitTicket]) -> None:
    """Mark the tickets committed, once COMMIT returned."""
    with _LOCK:
        for ticket in tickets:
            ticket.stage = Stage.COMMITTED
