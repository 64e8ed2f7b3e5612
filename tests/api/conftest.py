"""Fixtures of the HTTP tests: real servers over copies of the sample data with the roster customers added.

Modules that only read, or write only where no other module looks, share one server. A module that writes sets
`PRIVATE_DATABASE = True` and gets a server over its own copy, so that what it records never reaches another module's
answers; it may also set `SERVER_ENVIRONMENT` (a dict) for its server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import make_url

from healthdash.db.database import create_database
from tests.api.roster import Roster, seed
from tests.conftest import TEST_TOKEN, drop_database
from tests.servers import RunningServer, start_server


def _private(request: pytest.FixtureRequest) -> bool:
    return bool(getattr(request.module, "PRIVATE_DATABASE", False))


@pytest.fixture(scope="package")
def shared_database_url(admin_url: str, template_db: str) -> Iterator[str]:
    """A copy of the sample data with the roster, read by the modules that do not write."""
    name = f"hd_api_{uuid.uuid4().hex[:8]}"
    create_database(admin_url, name, template=template_db)
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    drop_database(admin_url, name)


@pytest.fixture(scope="package")
def shared_roster(shared_database_url: str) -> Roster:
    return seed(shared_database_url)


@pytest.fixture(scope="package")
def shared_server(
    shared_database_url: str, shared_roster: Roster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    with start_server(shared_database_url, tmp_path_factory.mktemp("shared-server"), TEST_TOKEN) as running:
        yield running


@pytest.fixture(scope="module")
def database_url(request: pytest.FixtureRequest) -> str:
    """The URL of the database the module's server uses."""
    name = "module_db_url" if _private(request) else "shared_database_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture(scope="module")
def roster(request: pytest.FixtureRequest, database_url: str) -> Roster:
    """The roster customers in the module's database."""
    if _private(request):
        return seed(database_url)
    shared: Roster = request.getfixturevalue("shared_roster")
    return shared


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, database_url: str, roster: Roster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real healthdash server (web app and API) over the module's database, started once the roster is in it."""
    if not _private(request):
        yield request.getfixturevalue("shared_server")
        return
    environment = getattr(request.module, "SERVER_ENVIRONMENT", {})
    with start_server(database_url, tmp_path_factory.mktemp("server"), TEST_TOKEN, environment) as running:
        yield running
