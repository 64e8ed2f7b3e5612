"""Kept health answers: dropped when their customer changes, never kept when computed across a change."""

from __future__ import annotations

import datetime as dt

from healthdash.board.answers import Answers

DAY = dt.date(2026, 3, 2)


def key(customer: int, limit: int = 20) -> tuple[int, dt.date, int, int]:
    return (customer, DAY, limit, 0)


def test_an_answer_is_kept_until_its_customer_changes() -> None:
    answers = Answers()
    answers.put(key(1), b"one", answers.ticket())
    answers.put(key(1, limit=500), b"one, longer", answers.ticket())
    answers.put(key(2), b"two", answers.ticket())
    assert (answers.get(key(1)), answers.get(key(2))) == (b"one", b"two")
    answers.forget([1])
    assert answers.get(key(1)) is None and answers.get(key(1, limit=500)) is None
    assert answers.get(key(2)) == b"two"
    assert answers.nbytes == len(b"two")


def test_an_answer_computed_across_a_change_of_its_customer_is_not_kept() -> None:
    answers = Answers()
    ticket = answers.ticket()  # the computation begins
    answers.forget([1])  # a write to customer 1 is marked meanwhile
    answers.put(key(1), b"before the write", ticket)
    answers.put(key(2), b"other customer", ticket)
    assert answers.get(key(1)) is None
    assert answers.get(key(2)) == b"other customer"
    answers.put(key(1), b"after the write", answers.ticket())
    assert answers.get(key(1)) == b"after the write"


def test_clearing_drops_everything_and_refuses_what_was_computed_before() -> None:
    answers = Answers()
    ticket = answers.ticket()
    answers.put(key(1), b"one", ticket)
    answers.clear()
    answers.put(key(2), b"two", ticket)
    assert len(answers) == 0 and answers.nbytes == 0
    answers.put(key(2), b"two", answers.ticket())
    assert answers.get(key(2)) == b"two"


def test_answers_expire_and_the_least_recently_used_go_first_beyond_the_bytes() -> None:
    now = [0.0]
    answers = Answers(max_bytes=10, max_age=60.0, clock=lambda: now[0])
    answers.put(key(1), b"aaaa", answers.ticket())
    answers.put(key(2), b"bbbb", answers.ticket())
    assert answers.get(key(1)) == b"aaaa"  # 1 is now the most recently used
    answers.put(key(3), b"cccc", answers.ticket())
    assert answers.get(key(2)) is None and answers.get(key(1)) == b"aaaa" and answers.nbytes == 8
    answers.put(key(4), b"far too large", answers.ticket())
    assert answers.get(key(4)) is None
    now[0] = 61.0
    assert answers.get(key(1)) is None and answers.get(key(3)) is None
    assert answers.nbytes == 0
