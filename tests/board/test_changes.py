"""What the score board reads again for changed customers: marks of a customer merge, taken marks can be put back."""

from __future__ import annotations

import datetime as dt

from healthdash.board.changes import ChangeSet

DAY = dt.date(2026, 3, 10)


def test_marks_of_one_customer_merge_into_the_earliest_day_and_records_if_either_said_so() -> None:
    changes = ChangeSet()
    changes.mark([7, 3], DAY, records=False)
    changes.mark([7], DAY - dt.timedelta(days=4), records=True)
    changes.mark([3], DAY + dt.timedelta(days=1), records=False)
    assert len(changes) == 2 and changes.customers() == [3, 7]
    assert changes.since() == DAY - dt.timedelta(days=4)
    assert changes.records_for() == [7]
    changes.mark([3], None, records=False)
    assert changes.since() is None, "a change of any day reads all of the usage again"


def test_what_a_patch_took_can_be_put_back() -> None:
    changes = ChangeSet()
    changes.mark([5], DAY, records=True)
    taken, changes = changes, ChangeSet()  # as a patch takes the marks: the set moves in flight, a new one starts
    assert not changes and taken.customers() == [5]
    changes.mark([5], DAY + dt.timedelta(days=2), records=False)
    changes.merge(taken)
    assert changes.customers() == [5] and changes.since() == DAY and changes.records_for() == [5]
    changes.clear()
    assert not changes and changes.since() is None
