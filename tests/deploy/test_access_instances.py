"""Two instances on one database agree about who may come in: failed sign-ins on one are throttled on the other,
and a revoked token, an ended session or a disabled account stops working on every instance within 5 s."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from healthdash.access import SESSION_COOKIE
from tests.api.client import call
from tests.conftest import TEST_TOKEN
from tests.forms import cookies_of, form, sign_in
from tests.people import PASSWORD, ensure_person, people_of, service_token
from tests.servers import RunningServer, start_server

pytestmark = pytest.mark.slow
REVOKED_WITHIN = 5.0  # seconds, on every instance


@pytest.fixture(scope="module")
def instances(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RunningServer]]:
    """Two servers on one database."""
    folders: list[Path] = [tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("two")]
    with (
        start_server(module_db_url, folders[0], TEST_TOKEN) as one,
        start_server(module_db_url, folders[1], TEST_TOKEN) as two,
    ):
        yield [one, two]


def reads(server: RunningServer, *, token: str | None = None, session: str | None = None) -> int:
    headers = {"Cookie": f"{SESSION_COOKIE}={session}"} if session else {}
    return call(server, "GET", "/api/me", headers=headers, token=token).status


def refused_everywhere_within(instances: list[RunningServer], still_reads: Callable[[RunningServer], bool]) -> float:
    """Poll every instance until none lets the credential in; return how long that took."""
    began = time.monotonic()
    waiting = list(instances)
    while waiting:
        waiting = [server for server in waiting if still_reads(server)]
        elapsed = time.monotonic() - began
        assert elapsed < REVOKED_WITHIN, f"still let in after {elapsed:.1f} s by {[s.url for s in waiting]}"
        time.sleep(0.1)
    return time.monotonic() - began


def test_failed_sign_ins_on_one_instance_are_throttled_on_the_other(
    instances: list[RunningServer], module_db_url: str
) -> None:
    one, two = instances
    email = ensure_person(module_db_url, "viewer", "spreads.guesses@example.com")
    for server in (one, two, one, two, one):
        assert sign_in(server, email, "a wrong guess").status == 401
    throttled = sign_in(two, email, PASSWORD)  # the right password, on the instance that saw only two failures
    assert throttled.status == 429
    assert "Too many failed sign-ins" in throttled.body.decode()
    assert int(throttled.headers["Retry-After"]) > 200
    assert SESSION_COOKIE not in cookies_of(throttled)
    assert sign_in(one, email, PASSWORD).status == 429


def test_a_revoked_token_is_refused_by_every_instance_within_5_s(
    instances: list[RunningServer], module_db_url: str
) -> None:
    token_id, secret = service_token(module_db_url, "viewer", "revoked on every instance")
    assert [reads(server, token=secret) for server in instances] == [200, 200]  # both keep the answer now
    with people_of(module_db_url) as people:
        people.revoke_token(token_id, "tests")  # what `python -m healthdash tokens revoke` does
    refused_everywhere_within(instances, lambda server: reads(server, token=secret) == 200)
    assert [reads(server, token=secret) for server in instances] == [401, 401]


def test_signing_out_everywhere_on_one_instance_ends_the_sessions_on_the_other_within_5_s(
    instances: list[RunningServer], module_db_url: str
) -> None:
    one, two = instances
    email = ensure_person(module_db_url, "csm", "leaves.everywhere@example.com")
    secret = cookies_of(sign_in(one, email, PASSWORD))[SESSION_COOKIE].value
    other = cookies_of(sign_in(two, email, PASSWORD))[SESSION_COOKIE].value
    assert [reads(server, session=s) for server in instances for s in (secret, other)] == [200] * 4
    xsrf, cookie = form(one)
    out = call(one, "POST", "/logout", raw=f"_xsrf={xsrf}&everywhere=yes".encode(), token=None,
               headers={"Content-Type": "application/x-www-form-urlencoded",
                        "Cookie": f"_xsrf={cookie}; {SESSION_COOKIE}={secret}"})  # fmt: skip
    assert out.status == 302
    refused_everywhere_within(instances, lambda server: reads(server, session=other) == 200)


def test_a_disabled_account_is_refused_by_every_instance_within_5_s(
    instances: list[RunningServer], module_db_url: str
) -> None:
    email = ensure_person(module_db_url, "csm", "disabled.everywhere@example.com")
    session = cookies_of(sign_in(instances[0], email, PASSWORD))[SESSION_COOKIE].value
    with people_of(module_db_url) as people:
        token = people.create_token("their script", "csm", email, "tests")[1]
    assert [reads(server, session=session) for server in instances] == [200, 200]
    assert [reads(server, token=token) for server in instances] == [200, 200]
    with people_of(module_db_url) as people:
        people.disable(email, "tests")
    refused_everywhere_within(
        instances, lambda server: reads(server, session=session) == 200 or reads(server, token=token) == 200
    )
