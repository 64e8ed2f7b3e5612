"""The media type an Accept header prefers among those an endpoint answers in, as RFC 9110 weighs them."""

from __future__ import annotations

import pytest

from healthdash.api.negotiation import negotiated
from healthdash.api.problem import Problem

OFFERED = ("application/json", "text/csv")


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/json"),
        ("  ", "application/json"),
        ("*/*", "application/json"),
        ("TEXT/CSV", "text/csv"),
        ("text/*;q=0.8, application/json;q=0.5", "text/csv"),
        ("text/csv;q=0, */*", "application/json"),  # the most specific range decides
        ("application/json; charset=utf-8, text/csv", "application/json"),  # a tie: the first offered
        ("text/csv;q=lots, application/json;q=0.5", "text/csv"),  # a weight that is no number counts as 1
        ("text/csv;q=nan, application/json;q=0.5", "text/csv"),
        ("text/csv;q=7, application/json;q=0.9", "text/csv"),  # weights above 1 count as 1
    ],
)
def test_the_preferred_media_type_is_chosen(accept: str | None, chosen: str) -> None:
    assert negotiated(accept, OFFERED) == chosen


@pytest.mark.parametrize("accept", ["text/html", "image/*", "application/json;q=0, text/csv;q=-1"])
def test_none_acceptable_is_406(accept: str) -> None:
    with pytest.raises(Problem) as refused:
        negotiated(accept, OFFERED)
    assert refused.value.status == 406
