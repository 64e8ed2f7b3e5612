"""A write's ticket: whichever comes first, the client giving up or the write reaching COMMIT, decides."""

from __future__ import annotations

import pytest

from healthdash.commit_ticket import Abandoned, CommitTicket, Stage, committed, start_commit


def test_a_write_whose_client_gave_up_rolls_back_with_every_write_of_its_group() -> None:
    waiting, gone = CommitTicket(), CommitTicket()
    assert gone.give_up() is Stage.GIVEN_UP
    with pytest.raises(Abandoned):
        start_commit([waiting, gone])
    assert waiting.stage is Stage.OPEN  # not committing: its client is still told the truth, that nothing was stored


def test_a_client_giving_up_during_commit_learns_that_the_outcome_is_unknown_and_after_it_that_it_is_stored() -> None:
    ticket = CommitTicket()
    start_commit([ticket])
    assert ticket.give_up() is Stage.COMMITTING
    committed([ticket])
    assert ticket.give_up() is Stage.COMMITTED
