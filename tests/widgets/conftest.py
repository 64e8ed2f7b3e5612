"""Fixtures of the widget tests: one API server for the whole package, and fresh clients of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from healthdash.client import ApiClient
from tests.conftest import TEST_TOKEN
from tests.databases import sample_data_copy
from tests.servers import RunningServer, start_server, wait_for_history


@pytest.fixture(scope="package")
def widgets_server(
    admin_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real server over a private copy of the sample data, shared by the widget tests (some of them write)."""
    with (
        sample_data_copy(admin_url, template_db, "hd_widgets") as url,
        start_server(url, tmp_path_factory.mktemp("widgets-server"), TEST_TOKEN) as running,
    ):
        wait_for_history(url)  # the pages' history charts show every day
        yield running


@pytest.fixture
def client(widgets_server: RunningServer) -> ApiClient:
    """A client of the widget tests' server, with an empty cache."""
    return ApiClient(widgets_server.url, widgets_server.token)
