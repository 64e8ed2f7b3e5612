"""People for the tests: accounts of each role, their API tokens and signed-in sessions, made in the real database
the same way the command line makes them (healthdash.access.People)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from healthdash.access import SESSION_COOKIE, People, PeopleError

PASSWORD = "correct horse battery staple"
TESTER = "tester@example.com"  # the admin the shared fixtures sign in as


def email_of(role: str) -> str:
    return TESTER if role == "admin" else f"{role}@example.com"


@contextlib.contextmanager
def people_of(database_url: str) -> Iterator[People]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        yield People(engine)
    finally:
        engine.dispose()


def ensure_person(
    database_url: str, role: str, email: str | None = None, password: str = PASSWORD, name: str | None = None
) -> str:
    """Add an account of this role (once); return its email."""
    email = email or email_of(role)
    with people_of(database_url) as people, contextlib.suppress(PeopleError):
        people.add_user(email, name or role.title() + " Tester", role, password, "tests")
    return email


def person_token(database_url: str, role: str) -> str:
    """Return a new API token of a person of this role (added if needed)."""
    email = ensure_person(database_url, role)
    with people_of(database_url) as people:
        return people.create_token(f"{role} tests", role, email, "tests")[1]


def service_token(database_url: str, role: str, name: str) -> tuple[int, str]:
    """Return the id and secret of a new service token of this role."""
    with people_of(database_url) as people:
        return people.create_token(name, role, None, "tests")


def sign_in_browser(browser_context: Any, url: str, database_url: str, role: str = "admin") -> None:
    """Give a browser profile a signed-in session at `url` of a person of this role (added if needed)."""
    secret = session_secret(database_url, role)
    browser_context.add_cookies([{"name": SESSION_COOKIE, "value": secret, "url": url}])


def session_secret(database_url: str, role: str) -> str:
    """Return the cookie's secret of a new session of a person of this role (added if needed)."""
    email = ensure_person(database_url, role)
    with people_of(database_url) as people:
        signed = people.sign_in(email, PASSWORD, "127.0.0.1")
    assert signed is not None
    return signed.secret
