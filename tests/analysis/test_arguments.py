"""Bad arguments are a ValueError that names the argument, raised before any SQL runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from healthdash.analysis import Session


@pytest.mark.parametrize("function", ["customers", "events", "activity", "tickets", "invoices"])
def test_unknown_customer_ids_are_named(analysis: Session, function: str) -> None:
    with pytest.raises(ValueError, match=r"customer_ids: no customer with id 999998, 999999$"):
        getattr(analysis, function)([1, 999999, 999998])


@pytest.mark.parametrize("bad", ["7", 0, -3, 2**63, 1.5, True, object()])
def test_a_value_that_is_no_customer_id(analysis: Session, bad: Any) -> None:
    with pytest.raises(ValueError, match="customer_ids: "):
        analysis.events([bad])


@pytest.mark.parametrize("function", ["events", "activity", "tickets", "invoices"])
def test_start_after_end(analysis: Session, function: str) -> None:
    with pytest.raises(ValueError, match=r"start \(2026-03-01 00:00\) is after end \(2026-02-01 23:59\)"):
        getattr(analysis, function)(start="2026-03-01", end=dt.date(2026, 2, 1))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a: a.events(start="last week"), "start: 'last week' is not an ISO date"),
        (lambda a: a.tickets(end=""), "end: is empty"),
        (lambda a: a.activity(end=20260101), "end: expected an ISO date or timestamp"),
        (lambda a: a.events(types=["login", "logout"]), "types: unknown event type 'logout'"),
        (lambda a: a.events(types="signup"), "types: unknown event type 'signup'"),
        (lambda a: a.customers(customer_ids=3.0), "customer_ids: expected an id or ids"),
    ],
)
def test_bad_values_name_their_argument(analysis: Session, call: Callable[[Session], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(analysis)


def test_a_moment_with_a_time_zone_is_kept(analysis: Session) -> None:
    moment = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with pytest.raises(ValueError, match=r"after end \(2026-01-01 07:00\)"):
        analysis.events(start="2026-01-02", end=moment)
