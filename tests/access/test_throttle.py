"""Failed sign-ins are counted in the audit log: per account (whatever the case, from anywhere, until a sign-in)
and per address, within the window, whoever recorded them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.access import People
from healthdash.access.throttle import SignInThrottle

THROTTLE = SignInThrottle(account_limit=3, address_limit=5, window=60.0)
PASSWORD = "the right password"


@pytest.fixture
def people(fresh_db_url: str) -> Iterator[People]:
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    people = People(engine)
    people.add_user("ana@x.org", "Ana", "viewer", PASSWORD, "tests")
    yield people
    engine.dispose()


def fail(people: People, email: str, address: str, times: int = 1) -> None:
    for _ in range(times):
        assert people.sign_in(email, "a wrong guess", address) is None


def age(people: People, seconds: float) -> None:
    """Move every audit entry `seconds` into the past, as if that time had gone by."""
    with people.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET at = at - make_interval(secs => :s)"), {"s": seconds})


def test_an_account_is_throttled_after_its_failures_from_anywhere_whatever_the_case(people: People) -> None:
    fail(people, "ana@x.org", "10.0.0.1", 2)
    fail(people, "ANA@x.org", "10.0.0.2")
    assert people.sign_in_wait("other@x.org", "10.0.0.3", THROTTLE) == 0
    wait = people.sign_in_wait("Ana@X.org", "10.0.0.9", THROTTLE)
    assert 50 < wait <= 60  # from the oldest of the three, a password check or two ago
    age(people, 30)
    assert 20 < people.sign_in_wait("ana@x.org", "10.0.0.9", THROTTLE) <= 30
    age(people, 31)
    assert people.sign_in_wait("ana@x.org", "10.0.0.9", THROTTLE) == 0


def test_an_address_is_throttled_after_its_failures_for_any_accounts(people: People) -> None:
    for n in range(4):
        fail(people, f"guess{n}@x.org", "10.0.0.1")
    assert people.sign_in_wait("someone@x.org", "10.0.0.1", THROTTLE) == 0
    fail(people, "ana@x.org", "10.0.0.1")
    assert people.sign_in_wait("someone@x.org", "10.0.0.1", THROTTLE) > 50
    assert people.sign_in_wait("someone@x.org", "10.0.0.2", THROTTLE) == 0


def test_a_sign_in_clears_its_account_s_failures_but_not_its_address_s(people: People) -> None:
    fail(people, "ana@x.org", "10.0.0.1", 2)
    assert people.sign_in("ana@x.org", PASSWORD, "10.0.0.1") is not None
    fail(people, "ana@x.org", "10.0.0.1", 2)
    assert people.sign_in_wait("ana@x.org", "10.0.0.7", THROTTLE) == 0  # two since the sign-in, not four
    fail(people, "ana@x.org", "10.0.0.1")
    assert people.sign_in_wait("ana@x.org", "10.0.0.7", THROTTLE) > 50
    assert people.sign_in_wait("bo@x.org", "10.0.0.1", THROTTLE) > 50  # five from that address in all


def test_a_very_long_email_is_counted_as_its_failures_were_recorded(people: People) -> None:
    long = "a" * 60 + "@" + "b" * 180 + ".org"  # longer than the audit log's 200 characters of actor
    fail(people, long, "10.0.0.1", 3)
    assert people.sign_in_wait(long, "10.0.0.2", THROTTLE) > 50
