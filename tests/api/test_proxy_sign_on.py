"""Single sign-on behind a proxy: the user header counts only from the trusted proxies' addresses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.client import call, problem
from tests.conftest import TEST_TOKEN
from tests.servers import RunningServer, start_server

PRIVATE_DATABASE = True
SERVER_ENVIRONMENT = {"HEALTHDASH_AUTH": "proxy", "HEALTHDASH_TRUSTED_PROXIES": "10.20.30.40"}  # not the tests'
HEADER = "X-Forwarded-Email"


@pytest.fixture(scope="module")
def trusting(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server that trusts this machine as its proxy, with csm as the role of people seen first."""
    environment = {"HEALTHDASH_AUTH": "proxy", "HEALTHDASH_TRUSTED_PROXIES": "127.0.0.1/32",
                   "HEALTHDASH_DEFAULT_ROLE": "csm"}  # fmt: skip
    folder: Path = tmp_path_factory.mktemp("trusting")
    with start_server(database_url, folder, TEST_TOKEN, environment) as running:
        yield running


def test_a_forged_user_header_from_an_untrusted_address_is_refused(server: RunningServer) -> None:
    reply = call(server, "GET", "/api/dashboard", headers={HEADER: "admin@example.com"}, token=None)
    assert "trusted proxies" in problem(reply, 403)["detail"]
    page = call(server, "GET", "/voila/render/dashboard.ipynb", headers={HEADER: "admin@example.com"}, token=None)
    assert page.status == 403
    assert call(server, "GET", "/api/dashboard", token=None).status == 401  # no header, no token: nobody
    assert call(server, "GET", "/api/dashboard").status == 200  # tokens still work


def test_the_trusted_proxy_signs_people_in_with_the_default_role(trusting: RunningServer) -> None:
    me = call(trusting, "GET", "/api/me", headers={HEADER: "new.person@example.com"}, token=None)
    assert me.json() == {"name": "new.person", "email": "new.person@example.com", "role": "csm", "via": "proxy"}
    log = call(trusting, "GET", "/api/audit", params={"user": "new.person@example.com"}).json()
    assert [e["action"] for e in log["entries"]] == ["user.add"]
    # writes need a bearer token, whoever the proxy vouches for
    write = call(trusting, "POST", "/api/customers/1/events", json_body={"type": "login", "data": {}},
                 headers={HEADER: "new.person@example.com"}, token=None)  # fmt: skip
    problem(write, 401)
